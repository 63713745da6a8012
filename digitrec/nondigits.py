"""What is not a digit, rendered: letters in the installed fonts and drawn shapes, on the canvases
and in the colours of :mod:`digitrec.render`. The "not a digit" check is fitted and measured on them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from digitrec.constants import PIXEL_MAX
from digitrec.render import STYLES, paint

# Letters that look like a digit in some hand (O/0, I/1, S/5, Z/2, B/8, G/6, b/6, g/9, q/9, ...):
# a recognizer should read these as digits, so the "not a digit" figures leave them out.
DIGIT_LIKE_LETTERS = "BDGIJOQSZbgilloqsz"

LETTERS = "".join(chr(c) for c in range(ord("A"), ord("Z") + 1)) + "".join(
    chr(c) for c in range(ord("a"), ord("z") + 1)
)


def render_letters(
    rng: np.random.Generator, per_letter: int = 4, canvas: int = 400, font: str | Path | None = None
) -> list[tuple[str, Image.Image]]:
    """Each of :data:`LETTERS` written ``per_letter`` times at random size, weight, slant and position,
    in Pillow's bundled font or the TrueType ``font`` file."""
    out = []
    for letter in LETTERS:
        for _ in range(per_letter):
            size = int(canvas * rng.uniform(0.35, 0.7))
            font_at_size = ImageFont.truetype(str(font), size) if font else ImageFont.load_default(size=size)
            glyph = Image.new("L", (canvas, canvas), 0)
            ImageDraw.Draw(glyph).text(
                (canvas / 2, canvas / 2),
                letter,
                fill=PIXEL_MAX,
                font=font_at_size,
                anchor="mm",
                stroke_width=int(size * rng.uniform(0.0, 0.06)),
                stroke_fill=PIXEL_MAX,
            )
            glyph = glyph.rotate(float(rng.uniform(-15, 15)), resample=Image.Resampling.BILINEAR)
            out.append((letter, paint(glyph, STYLES[int(rng.integers(len(STYLES)))])))
    return out


SHAPES = (
    "filled_circle",
    "square",
    "filled_square",
    "triangle",
    "star",
    "heart",
    "cross",
    "spiral",
    "zigzag",
    "scribble",
    "grid",
    "smiley",
    "speckles",
    "textured_blob",
    "silhouette",
)


def render_shape(kind: str, rng: np.random.Generator, canvas: int = 400) -> Image.Image:
    """One of :data:`SHAPES`, drawn at a random size and position with a random pen width."""
    mask = Image.new("L", (canvas, canvas), 0)
    draw = ImageDraw.Draw(mask)
    side = canvas * rng.uniform(0.35, 0.8)
    x0, y0 = (rng.uniform(0, canvas - side) for _ in range(2))
    width = int(rng.integers(8, 30))
    box = [x0, y0, x0 + side, y0 + side]

    def at(u, v):  # 0-1 coordinates inside the shape's box
        return x0 + u * side, y0 + v * side

    if kind == "filled_circle":
        draw.ellipse(box, fill=PIXEL_MAX)
    elif kind == "square":
        draw.rectangle(box, outline=PIXEL_MAX, width=width)
    elif kind == "filled_square":
        draw.rectangle(box, fill=PIXEL_MAX)
    elif kind == "triangle":
        draw.polygon([at(0.5, 0), at(1, 1), at(0, 1)], outline=PIXEL_MAX, width=width)
    elif kind == "star":
        t = np.pi / 2 + np.arange(10) * np.pi / 5
        r = np.where(np.arange(10) % 2 == 0, 0.5, 0.2)
        draw.polygon(
            [at(0.5 + ri * np.cos(ti), 0.5 - ri * np.sin(ti)) for ri, ti in zip(r, t, strict=True)], fill=PIXEL_MAX
        )
    elif kind == "heart":
        t = np.linspace(0, 2 * np.pi, 60)
        hx, hy = 16 * np.sin(t) ** 3, 13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t)
        draw.polygon([at(0.5 + x / 34, 0.45 - y / 34) for x, y in zip(hx, hy, strict=True)], fill=PIXEL_MAX)
    elif kind == "cross":
        draw.line([at(0, 0), at(1, 1)], fill=PIXEL_MAX, width=width)
        draw.line([at(1, 0), at(0, 1)], fill=PIXEL_MAX, width=width)
    elif kind == "spiral":
        t = np.linspace(0, 6 * np.pi, 200)
        draw.line(
            [at(0.5 + t_ / (12 * np.pi) * np.cos(t_), 0.5 + t_ / (12 * np.pi) * np.sin(t_)) for t_ in t],
            fill=PIXEL_MAX,
            width=width,
            joint="curve",
        )
    elif kind == "zigzag":
        n = int(rng.integers(4, 8))
        draw.line([at(i / n, 0.2 + 0.6 * (i % 2)) for i in range(n + 1)], fill=PIXEL_MAX, width=width)
    elif kind == "scribble":
        pts = np.cumsum(rng.normal(0, 0.18, size=(int(rng.integers(15, 40)), 2)), 0)
        pts = (pts - pts.min(0)) / np.maximum(np.ptp(pts, 0), 1e-6)
        draw.line([at(u, v) for u, v in pts], fill=PIXEL_MAX, width=width, joint="curve")
    elif kind == "grid":
        for i in range(4):
            draw.line([at(i / 3, 0), at(i / 3, 1)], fill=PIXEL_MAX, width=width)
            draw.line([at(0, i / 3), at(1, i / 3)], fill=PIXEL_MAX, width=width)
    elif kind == "smiley":
        draw.ellipse(box, outline=PIXEL_MAX, width=width)
        for u in (0.33, 0.67):
            draw.ellipse([*at(u - 0.06, 0.3), *at(u + 0.06, 0.42)], fill=PIXEL_MAX)
        draw.arc([*at(0.25, 0.35), *at(0.75, 0.75)], 20, 160, fill=PIXEL_MAX, width=width)
    elif kind == "speckles":  # blank-ish noise: dust, or a few taps on the canvas
        for u, v in rng.uniform(0, 1, size=(int(rng.integers(5, 30)), 2)):
            r = rng.uniform(0.005, 0.03)
            draw.ellipse([*at(u - r, v - r), *at(u + r, v + r)], fill=PIXEL_MAX)
    elif kind == "textured_blob":  # a photographed object: a filled outline, shaded unevenly inside
        corners = rng.uniform(0, 1, size=(int(rng.integers(5, 10)), 2))
        order = np.argsort(np.arctan2(*(corners - corners.mean(0)).T))  # around the centre: no crossings
        draw.polygon([at(u, v) for u, v in corners[order]], fill=PIXEL_MAX)
        mask = _shade_unevenly(mask, rng)
    elif kind == "silhouette":  # a photographed object seen whole: a ragged outline, often tall or wide
        angles = np.sort(rng.uniform(0, 2 * np.pi, int(rng.integers(8, 16))))
        radii = rng.uniform(0.2, 0.5, len(angles))
        # Never narrower than half its height: a tall, thin filled bar is what a fat brush's 1 looks like.
        stretch = (rng.uniform(0.5, 1.0), 1.0)[:: 1 if rng.random() < 0.5 else -1]
        outline = zip(radii * np.cos(angles) * stretch[0], radii * np.sin(angles) * stretch[1], strict=True)
        draw.polygon([at(0.5 + u, 0.5 + v) for u, v in outline], fill=PIXEL_MAX)
        mask = _shade_unevenly(mask, rng)
    else:
        raise ValueError(f"unknown shape {kind!r}: expected one of {', '.join(SHAPES)}")
    return paint(mask, STYLES[int(rng.integers(len(STYLES)))])


def _shade_unevenly(mask: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Darken ``mask``'s ink by a smooth random field, as light falls on a photographed object."""
    coarse = Image.fromarray(np.uint8(rng.uniform(90, PIXEL_MAX, size=(4, 4))))
    shade = coarse.resize(mask.size, Image.Resampling.BICUBIC)
    return Image.fromarray(np.uint8(np.asarray(mask, np.float32) * np.asarray(shade, np.float32) / PIXEL_MAX))
