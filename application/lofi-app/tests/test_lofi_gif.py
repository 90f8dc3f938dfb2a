"""The encoder and the scene, checked by an independent GIF89a decoder written from the spec."""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass, field

import pytest

from lofi import scene
from lofi.gif import Frame, encode_gif, lzw_encode

# sha256 of the rendered animation; a change to the art or the encoder must update it on purpose
EXPECTED_SHA256 = "9e04d4f58cc96c09bdb30aa92a83adc3777a3c3ad74c018b72f585f418597323"


@dataclass
class Decoded:
    width: int
    height: int
    palette: list[tuple[int, int, int]]
    loop: int | None = None
    frames: list[bytes] = field(default_factory=list)
    delays: list[int] = field(default_factory=list)


def _read_sub_blocks(data: bytes, pos: int) -> tuple[bytes, int]:
    out = bytearray()
    while True:
        size = data[pos]
        pos += 1
        if size == 0:
            return bytes(out), pos
        out += data[pos : pos + size]
        pos += size


def lzw_decode(data: bytes, min_code_size: int, expected: int) -> bytes:
    """Straight from the GIF89a spec, appendix F; independent of lofi.gif's encoder."""
    clear, end = 1 << min_code_size, (1 << min_code_size) + 1
    size = min_code_size + 1
    table: list[bytes] = []

    def reset() -> None:
        table[:] = [bytes([i]) for i in range(clear)] + [b"", b""]

    reset()
    out = bytearray()
    bitpos, previous = 0, None
    total_bits = len(data) * 8
    while bitpos + size <= total_bits:
        code = int.from_bytes(data[bitpos // 8 : bitpos // 8 + 3].ljust(3, b"\0"), "little") >> (bitpos % 8)
        code &= (1 << size) - 1
        bitpos += size
        if code == clear:
            reset()
            size, previous = min_code_size + 1, None
            continue
        if code == end:
            break
        if previous is None:
            entry = table[code]
        elif code < len(table):
            entry = table[code]
            if len(table) < 4096:
                table.append(previous + entry[:1])
        elif code == len(table):
            entry = previous + previous[:1]
            table.append(entry)
        else:
            raise AssertionError(f"code {code} beyond table of {len(table)}")
        out += entry
        previous = entry
        if len(table) == (1 << size) and size < 12:
            size += 1
    assert len(out) == expected, f"decoded {len(out)} pixels, expected {expected}"
    return bytes(out)


def decode_gif(data: bytes) -> Decoded:
    assert data[:6] == b"GIF89a"
    width, height, packed, _bg, _aspect = struct.unpack("<HHBBB", data[6:13])
    assert packed & 0x80, "no global color table"
    table_size = 1 << ((packed & 0x07) + 1)
    pos = 13
    palette = [tuple(data[pos + 3 * i : pos + 3 * i + 3]) for i in range(table_size)]
    pos += 3 * table_size
    decoded = Decoded(width, height, palette)  # type: ignore[arg-type]
    delay = 0
    while True:
        marker = data[pos]
        pos += 1
        if marker == 0x3B:
            assert pos == len(data), "bytes after the trailer"
            return decoded
        if marker == 0x21:
            label = data[pos]
            body, pos = _read_sub_blocks(data, pos + 1)
            if label == 0xF9:
                delay = struct.unpack("<H", body[1:3])[0]
            elif label == 0xFF and body.startswith(b"NETSCAPE2.0"):
                decoded.loop = struct.unpack("<H", body[12:14])[0]
            continue
        assert marker == 0x2C, f"unexpected block 0x{marker:02x}"
        left, top, fw, fh, fpacked = struct.unpack("<HHHHB", data[pos : pos + 9])
        assert (left, top, fw, fh) == (0, 0, width, height)
        assert fpacked == 0, "local color table or interlace not expected"
        min_code_size = data[pos + 9]
        compressed, pos = _read_sub_blocks(data, pos + 10)
        decoded.frames.append(lzw_decode(compressed, min_code_size, width * height))
        decoded.delays.append(delay)


@pytest.fixture(scope="module")
def gif() -> bytes:
    return scene.render_gif()


def test_animation_has_the_declared_shape(gif: bytes) -> None:
    decoded = decode_gif(gif)
    assert (decoded.width, decoded.height) == (128, 96)
    assert len(decoded.frames) == scene.FRAMES == 16
    assert decoded.delays == [scene.DELAY_CS] * 16
    assert decoded.loop == 0  # forever
    assert decoded.palette == list(scene.PALETTE)
    assert len(set(decoded.palette)) == 16


def test_decoded_pixels_are_the_rendered_frames(gif: bytes) -> None:
    decoded = decode_gif(gif)
    assert decoded.frames == [frame.pixels for frame in scene.render_frames()]


def test_animation_moves_and_uses_the_whole_palette(gif: bytes) -> None:
    frames = decode_gif(gif).frames
    assert len(set(frames)) == len(frames), "every frame differs from the others"
    used = set().union(*(set(f) for f in frames))
    assert used == set(range(16))


def test_loop_is_seamless() -> None:
    """Each moving part returns to its start: drawing frame FRAMES gives frame 0 again."""
    drops = scene._drops()
    first, wrapped = scene.Canvas(scene.WIDTH, scene.HEIGHT), scene.Canvas(scene.WIDTH, scene.HEIGHT)
    for canvas, number in ((first, 0), (wrapped, scene.FRAMES)):
        scene._room(canvas)
        scene._sky(canvas)
        scene._city(canvas, number)
        scene._rain(canvas, number, drops)
        scene._lamp(canvas, number)
        scene._mug(canvas, number)
    assert first.pixels == wrapped.pixels


def test_rendering_is_deterministic_and_pinned(gif: bytes) -> None:
    assert scene.render_gif() == gif
    assert scene.digest(gif) == EXPECTED_SHA256


@pytest.mark.parametrize(
    ("colors", "width", "height", "kind"),
    [
        (256, 300, 300, "noise"),  # fills the 4096-entry table several times: exercises the clear code
        (2, 97, 31, "noise"),
        (4, 400, 300, "runs"),  # long runs: long codes, few of them
        (3, 1, 1, "noise"),
        (16, 64, 64, "xor"),
    ],
)
def test_encoder_round_trips(colors: int, width: int, height: int, kind: str) -> None:
    rng = random.Random(colors * width)
    if kind == "noise":
        pixels = bytes(rng.randrange(colors) for _ in range(width * height))
    elif kind == "runs":
        pixels = bytes((i // 37) % colors for i in range(width * height))
    else:
        pixels = bytes((x ^ y) % colors for y in range(height) for x in range(width))
    palette = [(i, 255 - i, (i * 7) % 256) for i in range(colors)]
    decoded = decode_gif(encode_gif(width, height, palette, [Frame(pixels, 4), Frame(pixels[::-1], 7)]))
    assert decoded.frames == [pixels, pixels[::-1]]
    assert decoded.delays == [4, 7]
    assert decoded.palette[:colors] == palette


def test_lzw_compresses_uniform_input() -> None:
    data = lzw_encode(bytes(10_000), 2)
    assert len(data) < 400
    assert lzw_decode(data, 2, 10_000) == bytes(10_000)


@pytest.mark.parametrize(
    ("palette", "frames", "message"),
    [
        ([(0, 0, 0)] * 257, [Frame(bytes(4), 1)], "at most 256 colors"),
        ([(0, 0, 0)] * 2, [Frame(bytes(3), 1)], "frame 0 has 3 pixels, expected 4"),
        ([(0, 0, 0)] * 2, [Frame(bytes([0, 1, 2, 0]), 1)], "outside the 2-color palette"),
        ([(0, 0, 0)] * 2, [], "at least one frame"),
    ],
)
def test_encoder_rejects_bad_input(palette, frames, message) -> None:
    with pytest.raises(ValueError, match=message):
        encode_gif(2, 2, palette, frames)
