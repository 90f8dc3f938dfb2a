"""The lofi scene, drawn pixel by pixel: rain on a night window, a desk lamp, a steaming mug.

Everything is computed from code and a fixed seed, so the same version always renders the same
bytes (the tests pin its hash). The animation loops seamlessly: every moving part has a period
that divides FRAMES.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from lofi.gif import Color, Frame, encode_gif

WIDTH = 128
HEIGHT = 96
FRAMES = 16
DELAY_CS = 9

PALETTE: tuple[Color, ...] = (
    (11, 14, 26),  # 0 deep night
    (20, 26, 51),  # 1 night blue
    (31, 42, 77),  # 2 sky
    (45, 58, 102),  # 3 sky, lighter
    (91, 110, 168),  # 4 rain
    (159, 179, 224),  # 5 rain highlight
    (59, 42, 34),  # 6 wood, dark
    (92, 64, 51),  # 7 wood
    (138, 90, 60),  # 8 wood, light
    (242, 193, 78),  # 9 lamp
    (255, 232, 163),  # 10 lamp, bright
    (194, 112, 61),  # 11 warm glow
    (42, 32, 48),  # 12 shadow
    (232, 232, 240),  # 13 mug
    (122, 127, 153),  # 14 steam
    (255, 209, 102),  # 15 city lights
)

NIGHT, NIGHT_BLUE, SKY, SKY_LIGHT, RAIN, RAIN_HI = range(6)
WOOD_DARK, WOOD, WOOD_LIGHT, LAMP, LAMP_BRIGHT, GLOW, SHADOW, MUG, STEAM, CITY = range(6, 16)

# window opening (inside the frame) and desk line
WIN_LEFT, WIN_TOP, WIN_RIGHT, WIN_BOTTOM = 10, 8, 117, 62
DESK_TOP = 70
# rain falls through a 64-pixel cycle (longer than the window is tall), so that every drop speed
# below returns it to its start after FRAMES frames
FALL = 64


class _Random:
    """A tiny LCG (Numerical Recipes constants): deterministic on every Python and platform."""

    def __init__(self, seed: int) -> None:
        self.state = seed & 0xFFFFFFFF

    def next(self, bound: int) -> int:
        self.state = (1664525 * self.state + 1013904223) & 0xFFFFFFFF
        return (self.state >> 8) % bound


@dataclass
class Canvas:
    """A palette-indexed image with the few drawing operations the scene needs."""

    width: int
    height: int
    pixels: bytearray = field(init=False)

    def __post_init__(self) -> None:
        self.pixels = bytearray(self.width * self.height)

    def set(self, x: int, y: int, color: int) -> None:
        if 0 <= x < self.width and 0 <= y < self.height:
            self.pixels[y * self.width + x] = color

    def get(self, x: int, y: int) -> int:
        return self.pixels[y * self.width + x]

    def rect(self, left: int, top: int, right: int, bottom: int, color: int) -> None:
        """Fill the rectangle with corners (left, top) and (right, bottom), inclusive."""
        for y in range(max(top, 0), min(bottom, self.height - 1) + 1):
            start = y * self.width
            for x in range(max(left, 0), min(right, self.width - 1) + 1):
                self.pixels[start + x] = color


@dataclass(frozen=True)
class Drop:
    x: int
    y: int
    length: int
    speed: int  # pixels per frame; speed * FRAMES is a multiple of the fall height


def _drops() -> list[Drop]:
    rng = _Random(seed=0x10F1)
    speeds = [s for s in range(2, 9) if (s * FRAMES) % FALL == 0]
    return [
        Drop(
            x=WIN_LEFT + rng.next(WIN_RIGHT - WIN_LEFT + 1),
            y=rng.next(FALL),
            length=2 + rng.next(4),
            speed=speeds[rng.next(len(speeds))],
        )
        for _ in range(38)
    ]


def _sky(canvas: Canvas) -> None:
    bands = ((WIN_TOP, NIGHT), (WIN_TOP + 14, NIGHT_BLUE), (WIN_TOP + 28, SKY), (WIN_TOP + 42, SKY_LIGHT))
    for index, (top, color) in enumerate(bands):
        bottom = bands[index + 1][0] - 1 if index + 1 < len(bands) else WIN_BOTTOM
        canvas.rect(WIN_LEFT, top, WIN_RIGHT, bottom, color)
        # ordered dither where two bands meet
        if index:
            previous = bands[index - 1][1]
            for x in range(WIN_LEFT, WIN_RIGHT + 1, 2):
                canvas.set(x + (top % 2), top, previous)


def _city(canvas: Canvas, frame: int) -> None:
    rng = _Random(seed=0xC17)
    x = WIN_LEFT
    while x <= WIN_RIGHT:
        width = 6 + rng.next(10)
        top = WIN_BOTTOM - 8 - rng.next(22)
        canvas.rect(x, top, min(x + width - 1, WIN_RIGHT), WIN_BOTTOM, NIGHT)
        for wy in range(top + 2, WIN_BOTTOM - 1, 3):
            for wx in range(x + 1, min(x + width - 1, WIN_RIGHT), 3):
                roll = rng.next(10)
                # a few windows blink on a 4- or 8-frame period
                lit = roll < 3 or (roll == 3 and (frame // 4) % 2 == 0) or (roll == 4 and (frame // 8) % 2 == 1)
                if lit:
                    canvas.set(wx, wy, CITY)
        x += width + 1


def _rain(canvas: Canvas, frame: int, drops: list[Drop]) -> None:
    for drop in drops:
        head = (drop.y + drop.speed * frame) % FALL
        for step in range(drop.length):
            position = (head - step) % FALL
            y = WIN_TOP - 4 + position
            x = drop.x - position // 8  # a little wind
            if WIN_LEFT <= x <= WIN_RIGHT and WIN_TOP <= y <= WIN_BOTTOM:
                canvas.set(x, y, RAIN_HI if step == 0 else RAIN)


def _window_frame(canvas: Canvas) -> None:
    canvas.rect(WIN_LEFT - 4, WIN_TOP - 4, WIN_RIGHT + 4, WIN_TOP - 1, WOOD)
    canvas.rect(WIN_LEFT - 4, WIN_BOTTOM + 1, WIN_RIGHT + 4, WIN_BOTTOM + 4, WOOD)
    canvas.rect(WIN_LEFT - 4, WIN_TOP, WIN_LEFT - 1, WIN_BOTTOM, WOOD)
    canvas.rect(WIN_RIGHT + 1, WIN_TOP, WIN_RIGHT + 4, WIN_BOTTOM, WOOD)
    middle_x = (WIN_LEFT + WIN_RIGHT) // 2
    middle_y = (WIN_TOP + WIN_BOTTOM) // 2
    canvas.rect(middle_x - 1, WIN_TOP, middle_x + 1, WIN_BOTTOM, WOOD)
    canvas.rect(WIN_LEFT, middle_y - 1, WIN_RIGHT, middle_y, WOOD)
    # sill highlight
    canvas.rect(WIN_LEFT - 4, WIN_BOTTOM + 1, WIN_RIGHT + 4, WIN_BOTTOM + 1, WOOD_LIGHT)


def _room(canvas: Canvas) -> None:
    canvas.rect(0, 0, WIDTH - 1, HEIGHT - 1, SHADOW)
    canvas.rect(0, DESK_TOP, WIDTH - 1, HEIGHT - 1, WOOD_DARK)
    canvas.rect(0, DESK_TOP, WIDTH - 1, DESK_TOP, WOOD_LIGHT)
    for y in range(DESK_TOP + 4, HEIGHT, 6):  # wood grain
        for x in range((y * 7) % 11, WIDTH, 17):
            canvas.rect(x, y, x + 5, y, WOOD)


def _lamp(canvas: Canvas, frame: int) -> None:
    base_x, shade_top = 96, 40
    # warm light pool on the wall and desk; it breathes on an 8-frame period
    radius = 22 + (1 if frame % 8 < 4 else 0)
    for y in range(shade_top, HEIGHT):
        for x in range(base_x - radius - 10, base_x + radius + 10):
            if not (0 <= x < WIDTH):
                continue
            distance = ((x - base_x) ** 2) / 1.6 + (y - (DESK_TOP + 2)) ** 2
            if (
                distance < radius * radius
                and canvas.get(x, y) in (SHADOW, WOOD_DARK)
                and (x + y) % 2 == 0
                and y % 2 == 0
            ):
                canvas.set(x, y, GLOW if y >= DESK_TOP else WOOD_DARK)
    # arm and base
    canvas.rect(base_x - 6, DESK_TOP - 2, base_x + 6, DESK_TOP - 1, WOOD)
    for step in range(14):
        canvas.set(base_x + 3 - step // 3, DESK_TOP - 3 - step, WOOD_LIGHT)
    # shade: a trapezoid
    for row in range(9):
        half = 3 + row
        canvas.rect(base_x - half, shade_top + row, base_x + half, shade_top + row, LAMP if row < 8 else LAMP_BRIGHT)
    canvas.rect(base_x - 2, shade_top - 1, base_x + 2, shade_top - 1, LAMP)
    canvas.rect(base_x - 3, shade_top + 9, base_x + 3, shade_top + 10, LAMP_BRIGHT)


def _mug(canvas: Canvas, frame: int) -> None:
    left, top = 40, DESK_TOP - 9
    canvas.rect(left, top, left + 7, DESK_TOP - 1, MUG)
    canvas.rect(left + 1, top, left + 6, top, STEAM)
    canvas.rect(left + 8, top + 2, left + 9, top + 2, MUG)
    canvas.rect(left + 9, top + 3, left + 9, top + 5, MUG)
    canvas.rect(left + 8, top + 6, left + 9, top + 6, MUG)
    # steam: two wisps swaying on a 16-frame period
    sway = (0, 1, 1, 2, 2, 1, 1, 0, 0, -1, -1, -2, -2, -1, -1, 0)
    for wisp, offset in ((0, 2), (1, 5)):
        for rise in range(1, 9):
            phase = (frame + rise * 2 + wisp * 5) % FRAMES
            if (rise * 3 + frame + wisp) % 4:  # gaps on a 4-frame period
                canvas.set(left + offset + sway[phase], top - rise, STEAM)


def render_frames() -> list[Frame]:
    """Every frame of the loop, as palette indices."""
    drops = _drops()
    frames = []
    for number in range(FRAMES):
        canvas = Canvas(WIDTH, HEIGHT)
        _room(canvas)
        _sky(canvas)
        _city(canvas, number)
        _rain(canvas, number, drops)
        _window_frame(canvas)
        _lamp(canvas, number)
        _mug(canvas, number)
        frames.append(Frame(pixels=bytes(canvas.pixels), delay_cs=DELAY_CS))
    return frames


def render_gif() -> bytes:
    """The whole animation as GIF89a bytes."""
    return encode_gif(WIDTH, HEIGHT, PALETTE, render_frames())


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
