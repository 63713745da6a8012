"""Handwriting styles MNIST's writers rarely used, rendered by the project itself.

MNIST was written by American census staff and students: its zeros have no slash, its
ones rarely a long flag, its sevens no bar. People elsewhere write those, and more.
This module draws them two ways, both from random parameters (nothing is keyed to any
one test image):

* **pen templates**: every digit in several hands (slashed zero, one with a long flag
  and with or without a foot, crossed seven, open and closed four, nine with a straight
  tail, two with a loop, flat-topped three, ...), as polylines with random proportions,
  slant, rotation, jitter and pen width, drawn with a uniform pen as a Sketchpad brush
  draws them;
* **marks on MNIST digits**: a real MNIST zero gets a slash, a one a long flag (and
  sometimes a foot), a seven a bar, drawn in MNIST's own soft pencil texture.

Training mixes both in (from MNIST's training split and its own seeds); the style test
set (:func:`style_test_set`) uses MNIST's test digits, other seeds and larger canvases.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw

from digitrec.constants import IMAGE_SIZE, PIXEL_MAX
from digitrec.preprocess import normalize
from digitrec.render import STYLES as COLOURS
from digitrec.render import paint, pen_mask, render_on_canvas, retraceable, stretched_scan

Stroke = list[tuple[float, float]]
# Canvas sides (px) for training renderings and for the test set: disjoint ranges, so the
# test set's pen widths in pixels and its resampling are ones training never saw.
TRAIN_CANVAS, TEST_CANVAS = (200, 400), (400, 600)
STYLE_TEST_SEED = 20_261  # the style test set; training uses its config's seed
MARK_SCALE = 4  # marks on MNIST digits are drawn at 4x and box-reduced: MNIST's soft edges
PEN, THIN_PEN = (0.05, 0.13), (0.02, 0.05)  # pen widths, as a share of the drawing's size
SCAN_SIDES = (12, 28)  # sides of the boxes training's stretched scans fill: around the 16 px forms store


def _arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float, n: int = 28) -> Stroke:
    """Points on an ellipse from angle ``start`` to ``end`` (degrees, counter-clockwise, y down)."""
    return [
        (cx + rx * math.cos(math.radians(a)), cy - ry * math.sin(math.radians(a))) for a in np.linspace(start, end, n)
    ]


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def _zero(rng) -> list[Stroke]:
    start = _u(rng, 60, 120)
    return [_arc(0.5, 0.5, _u(rng, 0.2, 0.32), 0.4, start, start + _u(rng, 360, 390))]


def _slash_through(rng, rx: float, ry: float) -> Stroke:
    """A line through the oval's centre at a random angle, running past it by a random length on each side."""
    angle = math.radians(_u(rng, 30, 80) * (1 if rng.random() < 0.8 else -1))
    dx, dy = math.cos(angle), -math.sin(angle)
    radius = 1 / math.sqrt((dx / rx) ** 2 + (dy / ry) ** 2)  # the oval's radius in that direction
    a, b = radius * _u(rng, 0.75, 1.5), radius * _u(rng, 0.75, 1.5)
    return [(0.5 - a * dx, 0.5 - a * dy), (0.5 + b * dx, 0.5 + b * dy)]


def _slashed_zero(rng) -> list[Stroke]:
    rx, start = _u(rng, 0.2, 0.32), _u(rng, 60, 120)
    return [_arc(0.5, 0.5, rx, 0.4, start, start + _u(rng, 360, 385)), _slash_through(rng, rx, 0.4)]


def _one(rng) -> list[Stroke]:
    return [[(0.5, 0.1), (0.5 + _u(rng, -0.04, 0.04), 0.9)]]


def _flag_one(rng) -> list[Stroke]:
    top = (0.55, 0.1)
    flag = (top[0] - _u(rng, 0.12, 0.35), top[1] + _u(rng, 0.12, 0.4))
    strokes = [[flag, top, (0.55 + _u(rng, -0.05, 0.03), 0.9)]]
    if rng.random() < 0.45:  # a foot
        half = _u(rng, 0.12, 0.25)
        strokes.append([(strokes[0][-1][0] - half, 0.9), (strokes[0][-1][0] + half, 0.9)])
    return strokes


def _two(rng) -> list[Stroke]:
    top = _arc(0.5, 0.32, _u(rng, 0.18, 0.25), 0.2, _u(rng, 150, 175), _u(rng, -20, 10), 16)
    return [[*top, (0.25, 0.88), (_u(rng, 0.7, 0.82), 0.88)]]


def _looped_two(rng) -> list[Stroke]:
    top = _arc(0.5, 0.32, _u(rng, 0.18, 0.25), 0.2, _u(rng, 150, 175), _u(rng, -20, 10), 16)
    r = _u(rng, 0.05, 0.1)
    loop = _arc(0.3, 0.88 - r, r, r, -60, 250, 14)
    return [[*top, (0.28, 0.88 - 2 * r), *loop, (_u(rng, 0.7, 0.82), 0.9)]]


def _three(rng) -> list[Stroke]:
    return [
        _arc(0.5, 0.3, _u(rng, 0.17, 0.23), 0.19, _u(rng, 140, 170), -90, 16)
        + _arc(0.5, 0.68, _u(rng, 0.2, 0.26), 0.21, 90, _u(rng, -160, -130), 18)
    ]


def _flat_three(rng) -> list[Stroke]:
    return [[(0.28, 0.12), (0.72, 0.12), (0.45, 0.42), *_arc(0.5, 0.66, _u(rng, 0.2, 0.26), 0.23, 110, -150, 18)]]


def _open_four(rng) -> list[Stroke]:
    bar = _u(rng, 0.55, 0.68)
    return [
        [(0.3, 0.1), (0.25 + _u(rng, -0.05, 0.05), bar), (0.82, bar)],
        [(0.65, 0.1 + _u(rng, 0, 0.12)), (0.65, 0.92)],
    ]


def _closed_four(rng) -> list[Stroke]:
    bar, top = _u(rng, 0.55, 0.68), (0.62, 0.1)
    return [[top, (0.18, bar), (0.84, bar)], [top, (0.62, 0.92)]]


def _five(rng) -> list[Stroke]:
    return [
        [
            (0.72, 0.12),
            (0.32, 0.12),
            (0.3, 0.45),
            *_arc(0.5, 0.66, _u(rng, 0.2, 0.26), 0.22, 130, _u(rng, -160, -130), 18),
        ]
    ]


def _six(rng) -> list[Stroke]:
    return [[(0.7, 0.1), (0.47, 0.2), (0.32, 0.42), *_arc(0.5, 0.69, 0.2, 0.2, 190, -170, 24)]]


def _seven(rng) -> list[Stroke]:
    stroke = [(0.22, 0.12), (0.78, 0.12), (0.42 + _u(rng, -0.08, 0.06), 0.9)]
    if rng.random() < 0.35:  # a small serif at the top left
        stroke.insert(0, (0.22, 0.12 + _u(rng, 0.06, 0.14)))
    return [stroke]


def _crossed_seven(rng) -> list[Stroke]:
    stroke = _seven(rng)[0]
    (x0, y0), (x1, y1) = stroke[-2], stroke[-1]
    y = _u(rng, 0.42, 0.58)
    x = x0 + (x1 - x0) * (y - y0) / (y1 - y0)
    left, right = _u(rng, 0.1, 0.22), _u(rng, 0.1, 0.22)
    return [stroke, [(x - left, y), (x + right, y + _u(rng, -0.03, 0.03))]]


def _eight(rng) -> list[Stroke]:
    if rng.random() < 0.5:  # one continuous figure eight, crossing at its waist
        top = _u(rng, 0.75, 0.95)
        t = np.linspace(0, 2 * math.pi, 48)
        x = 0.5 + 0.24 * np.sin(2 * t) * np.where(np.sin(t) > 0, top, 1.0)
        return [list(zip(x, 0.5 - 0.4 * np.sin(t), strict=True))]
    r_top = _u(rng, 0.14, 0.19)  # two stacked loops that touch at the waist
    return [
        _arc(0.5, 0.1 + r_top, r_top * 1.1, r_top, 0, 380),
        _arc(0.5, 0.1 + 2 * r_top + (0.8 - 2 * r_top) / 2, 0.22, (0.8 - 2 * r_top) / 2, 0, 380),
    ]


def _nine(rng) -> list[Stroke]:
    return [_arc(0.45, 0.3, 0.2, 0.19, 0, 380), [(0.65, 0.3), (0.62, 0.75), (0.5, 0.9), (0.35, 0.85)]]


def _straight_nine(rng) -> list[Stroke]:
    return [_arc(0.45, 0.3, 0.2, 0.19, 0, 380), [(0.65, 0.28), (0.65 + _u(rng, -0.1, 0.02), 0.92)]]


# style name -> (digit, stroke maker). Every digit has at least one, so a pen drawing is
# never a hint about which digit it is.
TEMPLATES: dict[str, tuple[int, Callable]] = {
    "zero": (0, _zero),
    "slashed_zero": (0, _slashed_zero),
    "one": (1, _one),
    "flag_one": (1, _flag_one),
    "two": (2, _two),
    "looped_two": (2, _looped_two),
    "three": (3, _three),
    "flat_top_three": (3, _flat_three),
    "open_four": (4, _open_four),
    "closed_four": (4, _closed_four),
    "five": (5, _five),
    "six": (6, _six),
    "seven": (7, _seven),
    "crossed_seven": (7, _crossed_seven),
    "eight": (8, _eight),
    "nine": (9, _nine),
    "straight_nine": (9, _straight_nine),
}


# Letters as people print them by hand, one stroke list each: non-digits the "not a digit"
# detector learns from (digitrec.fitting), drawn with the same pen and randomness as the
# digits. Letters that look like a digit in some hand (render.DIGIT_LIKE_LETTERS) are left out.
_BOWL = _arc(0.45, 0.67, 0.25, 0.28, 80, 440)  # the round part of a, d, p, ...
HAND_LETTERS: dict[str, list[Stroke]] = {
    "A": [[(0.15, 0.95), (0.5, 0.05), (0.85, 0.95)], [(0.3, 0.62), (0.7, 0.62)]],
    "C": [_arc(0.55, 0.5, 0.35, 0.45, 50, 310)],
    "E": [[(0.75, 0.05), (0.25, 0.05), (0.25, 0.95), (0.75, 0.95)], [(0.25, 0.5), (0.65, 0.5)]],
    "F": [[(0.75, 0.05), (0.25, 0.05), (0.25, 0.95)], [(0.25, 0.5), (0.65, 0.5)]],
    "H": [[(0.2, 0.05), (0.2, 0.95)], [(0.8, 0.05), (0.8, 0.95)], [(0.2, 0.5), (0.8, 0.5)]],
    "K": [[(0.25, 0.05), (0.25, 0.95)], [(0.75, 0.05), (0.25, 0.58)], [(0.4, 0.45), (0.8, 0.95)]],
    "L": [[(0.25, 0.05), (0.25, 0.95), (0.75, 0.95)]],
    "M": [[(0.1, 0.95), (0.2, 0.05), (0.5, 0.6), (0.8, 0.05), (0.9, 0.95)]],
    "N": [[(0.2, 0.95), (0.2, 0.05), (0.8, 0.95), (0.8, 0.05)]],
    "P": [[(0.25, 0.95), (0.25, 0.05), *_arc(0.45, 0.28, 0.3, 0.23, 90, -90, 16), (0.25, 0.51)]],
    "R": [
        [(0.25, 0.95), (0.25, 0.05), *_arc(0.45, 0.28, 0.3, 0.23, 90, -90, 16), (0.25, 0.51)],
        [(0.4, 0.51), (0.8, 0.95)],
    ],
    "T": [[(0.1, 0.05), (0.9, 0.05)], [(0.5, 0.05), (0.5, 0.95)]],
    "U": [[(0.2, 0.05), *_arc(0.5, 0.62, 0.3, 0.33, 180, 360, 20), (0.8, 0.05)]],
    "V": [[(0.15, 0.05), (0.5, 0.95), (0.85, 0.05)]],
    "W": [[(0.05, 0.05), (0.27, 0.95), (0.5, 0.35), (0.73, 0.95), (0.95, 0.05)]],
    "X": [[(0.15, 0.05), (0.85, 0.95)], [(0.85, 0.05), (0.15, 0.95)]],
    "Y": [[(0.15, 0.05), (0.5, 0.5)], [(0.85, 0.05), (0.5, 0.5), (0.5, 0.95)]],
    "a": [_BOWL, [(0.7, 0.4), (0.7, 0.95)]],
    "c": [_arc(0.5, 0.67, 0.27, 0.28, 50, 310)],
    "d": [_BOWL, [(0.7, 0.05), (0.7, 0.95)]],
    "e": [[(0.22, 0.67), (0.72, 0.67), *_arc(0.47, 0.67, 0.25, 0.28, 10, 320)]],
    "f": [[(0.75, 0.12), (0.6, 0.05), (0.45, 0.12), (0.42, 0.3), (0.42, 0.95)], [(0.22, 0.42), (0.65, 0.42)]],
    "h": [[(0.25, 0.05), (0.25, 0.95)], [(0.25, 0.6), (0.4, 0.42), (0.6, 0.42), (0.72, 0.55), (0.72, 0.95)]],
    "j": [[(0.6, 0.35), (0.6, 0.85), (0.5, 0.97), (0.3, 0.92)], [(0.6, 0.14), (0.6, 0.16)]],
    "k": [[(0.25, 0.05), (0.25, 0.95)], [(0.7, 0.4), (0.25, 0.72)], [(0.38, 0.63), (0.75, 0.95)]],
    "m": [
        [(0.1, 0.95), (0.1, 0.4)],
        [(0.1, 0.55), (0.2, 0.42), (0.35, 0.42), (0.45, 0.55), (0.45, 0.95)],
        [(0.45, 0.55), (0.55, 0.42), (0.75, 0.42), (0.85, 0.55), (0.85, 0.95)],
    ],
    "n": [[(0.2, 0.95), (0.2, 0.4)], [(0.2, 0.55), (0.35, 0.42), (0.6, 0.42), (0.75, 0.55), (0.75, 0.95)]],
    "p": [[(0.25, 0.35), (0.25, 1.0)], _arc(0.47, 0.55, 0.22, 0.2, 0, 360)],
    "r": [[(0.3, 0.95), (0.3, 0.4)], [(0.3, 0.6), (0.45, 0.43), (0.7, 0.42)]],
    "t": [[(0.45, 0.1), (0.45, 0.85), (0.55, 0.95), (0.7, 0.9)], [(0.25, 0.35), (0.7, 0.35)]],
    "u": [[(0.2, 0.4), (0.2, 0.8), (0.3, 0.95), (0.55, 0.95), (0.7, 0.8)], [(0.72, 0.4), (0.72, 0.95)]],
    "v": [[(0.2, 0.4), (0.5, 0.95), (0.8, 0.4)]],
    "w": [[(0.05, 0.4), (0.27, 0.95), (0.5, 0.5), (0.73, 0.95), (0.95, 0.4)]],
    "x": [[(0.2, 0.4), (0.8, 0.95)], [(0.8, 0.4), (0.2, 0.95)]],
    "y": [[(0.2, 0.4), (0.5, 0.75)], [(0.8, 0.4), (0.35, 1.0)]],
}


def _distort(strokes: list[Stroke], rng) -> list[Stroke]:
    """Random slant, rotation, aspect and wobble, as hands differ."""
    shear, angle = _u(rng, -0.3, 0.2), math.radians(_u(rng, -10, 10))
    sx = _u(rng, 0.75, 1.2)
    cos, sin = math.cos(angle), math.sin(angle)
    out = []
    for stroke in strokes:
        pts = np.asarray(stroke, np.float64) - 0.5
        pts += rng.normal(0, 0.012, pts.shape)
        x, y = pts[:, 0] * sx - shear * pts[:, 1], pts[:, 1]
        out.append(list(zip(0.5 + cos * x - sin * y, 0.5 + sin * x + cos * y, strict=True)))
    return out


def render_template(
    name: str, rng: np.random.Generator, canvas: tuple[int, int] = TRAIN_CANVAS, pen: tuple[float, float] = PEN
) -> Image.Image:
    """One drawing of the template ``name`` on a canvas of random size and colours, with a uniform
    pen whose width is drawn from ``pen`` (a share of the drawing's size)."""
    return _pen_drawing(TEMPLATES[name][1], rng, canvas, pen)


def render_hand_letter(letter: str, rng: np.random.Generator, canvas: tuple[int, int] = TRAIN_CANVAS) -> Image.Image:
    """One of :data:`HAND_LETTERS` written by hand, as :func:`render_template` draws a digit."""
    return _pen_drawing(lambda _: HAND_LETTERS[letter], rng, canvas)


def _pen_drawing(
    make: Callable, rng: np.random.Generator, canvas: tuple[int, int], pen: tuple[float, float] = PEN
) -> Image.Image:
    side = int(rng.integers(*canvas))
    strokes = _distort(make(rng), rng)
    scale = side * _u(rng, 0.45, 0.8)
    offset = (side - scale) * rng.uniform(0.1, 0.9, 2)
    width = max(2, int(scale * _u(rng, *pen)))
    pixels = [[(offset[0] + x * scale, offset[1] + y * scale) for x, y in stroke] for stroke in strokes]
    mask = pen_mask((side, side), pixels, width)
    return paint(mask, COLOURS[int(rng.integers(len(COLOURS)))])


# Marks drawn onto real MNIST digits: which digit each applies to.
MARKS = {"mnist_slashed_zero": 0, "mnist_flag_one": 1, "mnist_crossed_seven": 7}


def mark_mnist(digit: np.ndarray, mark: str, rng: np.random.Generator) -> Image.Image:
    """A white-on-black uint8 MNIST digit with a slash, flag or bar added in its own pencil texture."""
    side = IMAGE_SIZE * MARK_SCALE
    img = Image.fromarray(np.asarray(digit, np.uint8)).resize((side, side), Image.Resampling.BICUBIC)
    left, top, right, bottom = img.getbbox()
    w, h = right - left, bottom - top
    cx, cy = (left + right) / 2, (top + bottom) / 2
    # The canvas grows so that marks may run past the digit's own box.
    pad = side // 2
    canvas = Image.new("L", (side + 2 * pad, side + 2 * pad), 0)
    canvas.paste(img, (pad, pad))
    draw = ImageDraw.Draw(canvas)
    width = int(MARK_SCALE * _u(rng, 1.6, 3.0))
    if mark == "mnist_slashed_zero":
        rx, ry = max(w, 8) / 2, max(h, 8) / 2
        angle = math.radians(_u(rng, 30, 80) * (1 if rng.random() < 0.8 else -1))
        dx, dy = math.cos(angle), -math.sin(angle)
        radius = 1 / math.sqrt((dx / rx) ** 2 + (dy / ry) ** 2)
        a, b = radius * _u(rng, 0.75, 1.5), radius * _u(rng, 0.75, 1.5)
        line = [(cx - a * dx, cy - a * dy), (cx + b * dx, cy + b * dy)]
    elif mark == "mnist_flag_one":
        # From the top of the stroke, down and to the left by a random long reach.
        xs = np.flatnonzero(np.asarray(img)[top + 2] > 128)
        tx = float(xs.mean()) if len(xs) else cx
        line = [(tx - h * _u(rng, 0.15, 0.45), top + h * _u(rng, 0.12, 0.4)), (tx, top + 2)]
        if rng.random() < 0.45:  # a foot
            ys = np.flatnonzero(np.asarray(img)[bottom - 3] > 128)
            bx = float(ys.mean()) if len(ys) else cx
            half = h * _u(rng, 0.12, 0.25)
            draw.line(
                [(pad + bx - half, pad + bottom - 3), (pad + bx + half, pad + bottom - 3)], fill=PIXEL_MAX, width=width
            )
    elif mark == "mnist_crossed_seven":
        y = top + h * _u(rng, 0.45, 0.6)
        xs = np.flatnonzero(np.asarray(img)[int(y)] > 128)
        sx = float(xs.mean()) if len(xs) else cx
        line = [(sx - w * _u(rng, 0.2, 0.4), y), (sx + w * _u(rng, 0.2, 0.4), y + h * _u(rng, -0.04, 0.04))]
    else:
        raise ValueError(f"unknown mark {mark!r}: expected one of {', '.join(MARKS)}")
    draw.line([(pad + x, pad + y) for x, y in line], fill=PIXEL_MAX, width=width)
    return canvas.reduce(MARK_SCALE)


def _normalized(images) -> np.ndarray:
    inputs = [normalize(img) for img in images]
    return np.stack(inputs).astype(np.float32) if inputs else np.empty((0, IMAGE_SIZE, IMAGE_SIZE), np.float32)


def style_inputs(
    per_style: int,
    seed: int,
    canvas: tuple[int, int] = TRAIN_CANVAS,
    marked: tuple[np.ndarray, np.ndarray] | None = None,
    per_mark: int = 0,
    pen: tuple[np.ndarray, np.ndarray] | None = None,
    pen_count: int = 0,
    retraced: int = 0,
    retrace_from: int | None = None,
    more_of: dict[str, int] | None = None,
    stretched: int = 0,
) -> dict[str, tuple]:
    """Normalized model inputs per style: ``{style: (inputs (n, 28, 28) float32, labels (n,))}``.

    Args:
        per_style: renderings of each pen template.
        seed: one seed for everything drawn here.
        canvas: range of canvas sides for the pen templates.
        marked: MNIST ``(digits, labels)`` to take zeros, ones and sevens from for the marks.
        per_mark: digits given each mark (at most as many as ``marked`` holds of that digit).
        pen: MNIST ``(digits, labels)`` to re-draw with a uniform pen; ``pen_count`` of them.
        retraced: digits of ``pen`` re-drawn along their centre line with a pen of one width
            (:func:`digitrec.render.retrace_line`); those whose centre line misses their ink are skipped.
        retrace_from: the first digit of ``pen`` to retrace; the one after the pen re-drawings if omitted.
        more_of: extra renderings of some templates, ``{name: count}``, on top of ``per_style``.
        stretched: digits of ``pen`` (from its first) as scanned forms store them, stretched to fill a box
            of :data:`SCAN_SIDES` px, half of them in black and white (:func:`digitrec.render.stretched_scan`).
    """
    more_of = more_of or {}
    unknown = sorted(set(more_of) - set(TEMPLATES))
    if unknown:
        raise ValueError(f"no template named {', '.join(unknown)}: expected one of {', '.join(TEMPLATES)}")
    rng = np.random.default_rng(seed)
    out = {}
    for name, (digit, _) in TEMPLATES.items():
        n = per_style + more_of.get(name, 0)
        out[name] = (_normalized(render_template(name, rng, canvas) for _ in range(n)), np.full(n, digit, np.uint8))
    if marked is not None and per_mark:
        x, y = marked
        for mark, digit in MARKS.items():
            chosen = x[y == digit][:per_mark]
            out[mark] = (_normalized(mark_mnist(d, mark, rng) for d in chosen), np.full(len(chosen), digit, np.uint8))
    if pen is not None and pen_count:
        x, y = pen[0][:pen_count], pen[1][:pen_count]
        out["mnist_pen_redrawn"] = (_normalized(render_on_canvas(d, rng, pen=True) for d in x), y.astype(np.uint8))
    if pen is not None and retraced:
        start = pen_count if retrace_from is None else retrace_from
        x, y = pen[0][start:], pen[1][start:]
        chosen = list(itertools.islice((i for i in range(len(x)) if retraceable(x[i])), retraced))
        out["mnist_pen_retraced"] = (
            _normalized(render_on_canvas(x[i], rng, retrace=True) for i in chosen),
            y[chosen].astype(np.uint8),
        )
    if pen is not None and stretched:
        x, y = pen[0][:stretched], pen[1][:stretched]
        scans = (stretched_scan(d, int(rng.integers(*SCAN_SIDES, endpoint=True)), rng.random() < 0.5) for d in x)
        out["mnist_stretched_scan"] = (_normalized(scans), y.astype(np.uint8))
    return out


def as_batch(sets: dict[str, tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """The sets :func:`style_inputs` returns as one batch of inputs and one of labels, in style order."""
    return np.concatenate([x for x, _ in sets.values()]), np.concatenate([y for _, y in sets.values()])


def style_test_set(x_test: np.ndarray, y_test: np.ndarray, per_style: int = 300) -> dict[str, tuple]:
    """The style test set: its own seed, larger canvases, and MNIST's test digits for marks and re-drawings.

    Both kinds of pen re-drawing take every test digit (every one with a centre line, for the second), as
    MNIST test counts them all: its digits differ from one end to the other, so a slice of them would not
    stand for the whole (measured in ``benchmarks/README.md``, "How the pen re-drawings are measured").
    """
    return style_inputs(
        per_style,
        STYLE_TEST_SEED,
        TEST_CANVAS,
        marked=(x_test, y_test),
        per_mark=per_style,
        pen=(x_test, y_test),
        pen_count=len(x_test),
        retraced=len(x_test),
        retrace_from=0,
    )
