"""A small GIF89a encoder: global palette, LZW-compressed frames, looping animation."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

MAX_CODE_BITS = 12
MAX_CODES = 1 << MAX_CODE_BITS
SUB_BLOCK = 255

Color = tuple[int, int, int]


@dataclass(frozen=True)
class Frame:
    """One frame: palette indices, row-major, width * height bytes."""

    pixels: bytes
    delay_cs: int  # display time in hundredths of a second


def _palette_bits(size: int) -> int:
    """Bits needed to index a palette of `size` colors (GIF allows 1..8)."""
    bits = 1
    while (1 << bits) < size:
        bits += 1
    if bits > 8:
        raise ValueError(f"a GIF palette holds at most 256 colors, got {size}")
    return bits


class _BitWriter:
    """Packs variable-width codes least-significant bit first, as GIF requires."""

    def __init__(self) -> None:
        self.out = bytearray()
        self._acc = 0
        self._nbits = 0

    def write(self, code: int, width: int) -> None:
        self._acc |= code << self._nbits
        self._nbits += width
        while self._nbits >= 8:
            self.out.append(self._acc & 0xFF)
            self._acc >>= 8
            self._nbits -= 8

    def flush(self) -> bytes:
        if self._nbits:
            self.out.append(self._acc & 0xFF)
            self._acc = 0
            self._nbits = 0
        return bytes(self.out)


def lzw_encode(pixels: bytes, min_code_size: int) -> bytes:
    """Compress palette indices with GIF's variable-width LZW (no early change)."""
    clear = 1 << min_code_size
    end = clear + 1
    writer = _BitWriter()
    width = min_code_size + 1
    table: dict[tuple[int, int], int] = {}
    next_code = end + 1
    writer.write(clear, width)
    if not pixels:
        writer.write(end, width)
        return writer.flush()
    prefix = pixels[0]
    for pixel in pixels[1:]:
        key = (prefix, pixel)
        code = table.get(key)
        if code is not None:
            prefix = code
            continue
        writer.write(prefix, width)
        if next_code < MAX_CODES:
            # The decoder learns each entry one code later, so the code width grows only once
            # the entry numbered 2**width exists (GIF has no "early change", unlike TIFF).
            if next_code == (1 << width) and width < MAX_CODE_BITS:
                width += 1
            table[key] = next_code
            next_code += 1
        else:
            writer.write(clear, width)
            table.clear()
            next_code = end + 1
            width = min_code_size + 1
        prefix = pixel
    writer.write(prefix, width)
    writer.write(end, width)
    return writer.flush()


def _sub_blocks(data: bytes) -> bytes:
    chunks = [data[i : i + SUB_BLOCK] for i in range(0, len(data), SUB_BLOCK)]
    return b"".join(bytes([len(c)]) + c for c in chunks) + b"\x00"


def encode_gif(width: int, height: int, palette: Sequence[Color], frames: Sequence[Frame], loop: int = 0) -> bytes:
    """Return an animated GIF89a; `loop` 0 repeats forever."""
    if not frames:
        raise ValueError("a GIF needs at least one frame")
    if not (0 < width < 65536 and 0 < height < 65536):
        raise ValueError(f"size {width}x{height} is outside 1..65535")
    bits = _palette_bits(len(palette))
    table_size = 1 << bits
    out = bytearray(b"GIF89a")
    # logical screen: global color table present, color resolution 8 bits, table size 2**bits
    out += struct.pack("<HHBBB", width, height, 0x80 | (7 << 4) | (bits - 1), 0, 0)
    padded = list(palette) + [(0, 0, 0)] * (table_size - len(palette))
    for red, green, blue in padded:
        out += bytes((red, green, blue))
    # NETSCAPE2.0 application extension: loop count
    out += b"\x21\xff\x0bNETSCAPE2.0\x03\x01" + struct.pack("<H", loop) + b"\x00"
    min_code_size = max(2, bits)
    for number, frame in enumerate(frames):
        if len(frame.pixels) != width * height:
            raise ValueError(f"frame {number} has {len(frame.pixels)} pixels, expected {width * height}")
        if max(frame.pixels) >= len(palette):
            raise ValueError(f"frame {number} uses a color index outside the {len(palette)}-color palette")
        # graphic control: disposal 1 (leave in place), no transparency
        out += b"\x21\xf9\x04" + struct.pack("<BHB", 1 << 2, frame.delay_cs, 0) + b"\x00"
        out += b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0)
        out += bytes([min_code_size]) + _sub_blocks(lzw_encode(frame.pixels, min_code_size))
    out += b"\x3b"
    return bytes(out)
