"""Re-render 28x28 digits the way a drawing canvas delivers them.

The canvas set used by evaluation, tests and benchmarks: MNIST digits upscaled onto a
large canvas at a random size and position, with thicker or thinner strokes, in the
colour schemes people draw with (dark on light, light on dark, ink on transparency).
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

from digitrec.constants import PIXEL_MAX

STYLES = ("black_on_white", "white_on_black", "transparent", "blue_on_cream")


def render_on_canvas(
    digit: np.ndarray,
    rng: np.random.Generator,
    canvas: int | None = None,
    style: str | None = None,
) -> Image.Image:
    """Place a white-on-black uint8 digit on a canvas of ``canvas`` px (random 300-1000 if omitted).

    Size (30-80% of the canvas), position, stroke width (thinner to much thicker) and
    ``style`` (one of :data:`STYLES`, random if omitted) are drawn from ``rng``.
    """
    canvas = canvas or int(rng.integers(300, 1001))
    style = style or STYLES[int(rng.integers(len(STYLES)))]
    side = int(canvas * rng.uniform(0.3, 0.8))
    ink = Image.fromarray(np.asarray(digit, dtype=np.uint8)).resize((side, side), Image.Resampling.BICUBIC)
    # Stroke width: an MNIST stroke is ~2.5/28 of the side; a min/max filter thins or thickens it.
    radius = int(round(rng.uniform(-0.6, 1.5) * side / 28))
    if radius > 0:
        ink = ink.filter(ImageFilter.MaxFilter(2 * radius + 1))
    elif radius < 0:
        ink = ink.filter(ImageFilter.MinFilter(2 * -radius + 1))
    x, y = (int(v) for v in rng.integers(0, canvas - side + 1, size=2))
    alpha = Image.new("L", (canvas, canvas), 0)
    alpha.paste(ink, (x, y))
    return paint(alpha, style)


def paint(alpha: Image.Image, style: str) -> Image.Image:
    """Colour an ink-coverage mask ('L', 255 = ink) in one of :data:`STYLES`."""
    size = alpha.size
    if style == "black_on_white":
        return Image.composite(Image.new("RGB", size, "black"), Image.new("RGB", size, "white"), alpha)
    if style == "white_on_black":
        return Image.composite(Image.new("L", size, PIXEL_MAX), Image.new("L", size, 0), alpha)
    if style == "transparent":
        out = Image.new("RGBA", size, (0, 0, 0, 0))
        out.putalpha(alpha)
        return out
    if style == "blue_on_cream":
        return Image.composite(Image.new("RGB", size, (30, 60, 200)), Image.new("RGB", size, (250, 245, 225)), alpha)
    raise ValueError(f"unknown style {style!r}: expected one of {', '.join(STYLES)}")


def canvas_set(digits: np.ndarray, seed: int = 0):
    """Yield one canvas rendering per digit, reproducibly for a given seed."""
    rng = np.random.default_rng(seed)
    for digit in digits:
        yield render_on_canvas(digit, rng)
