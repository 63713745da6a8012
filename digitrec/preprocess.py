"""One path from any drawing or image to the model's 28x28 input, the way MNIST was made.

MNIST's recipe (LeCun et al.): crop to the ink, fit the longer side into a 20x20 box
keeping the aspect ratio with anti-aliasing (area averaging, no thresholding), then
place the result in a 28x28 field so that its centre of mass sits at the centre.
:func:`normalize` does exactly that, after turning the input into an "ink" map
(1 = ink, 0 = paper) whatever its size, mode or polarity.

Everything that needs a model input calls :func:`normalize`: the app, the API, the
evaluation's canvas set, the benchmarks and the tests. Its first two steps have modules of
their own: :mod:`digitrec.decode` (any input as an image, within the limits) and
:mod:`digitrec.ink` (the ink map: paper, light, sheets).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from PIL import Image

from digitrec.constants import DIGIT_BOX, IMAGE_SIZE, PIXEL_MAX
from digitrec.decode import to_pil
from digitrec.errors import EmptyImageError
from digitrec.ink import digit_found, ink_region

# The centre of mass of MNIST digits sits at (14.0, 14.0) in pixel-index coordinates
# (measured on the 10k test set: 13.99, 14.01).
CENTRE = IMAGE_SIZE / 2


def normalize(image: Any) -> np.ndarray:
    """Turn a drawing or image into the model's input, exactly as MNIST was normalized.

    Args:
        image: a Gradio Sketchpad value (dict with ``composite`` / ``layers`` /
            ``background``), a PIL image, a numpy array (HxW, HxWx1, HxWx3 or HxWx4;
            uint8, bool or float in [0, 1]), image file bytes, or a path to an image file.
            Any size up to :data:`MAX_PIXELS`, any ink colour on any background, with or
            without transparency; polarity is detected.

    Returns:
        ``(28, 28)`` float32 array in [0, 1], white ink on black, brightest pixel 1,
        digit's longer side 20 px, centre of mass at the centre.

    Raises:
        EmptyImageError: no ink worth calling a digit.
        ImageTooLargeError: more than :data:`MAX_PIXELS` pixels.
        InvalidImageError: anything that is not a readable image.

    Example:
        >>> x = normalize(Image.open("seven.png"))
        >>> x.shape
        (28, 28)
    """
    ink, _, size = ink_region(to_pil(image))
    return _mnist_box(ink, size[0] * size[1])


def from_uint8(x: np.ndarray) -> np.ndarray:
    """MNIST-style uint8 images (0-255) as the model's float input (0-1): the one place that scales them."""
    return np.asarray(x, np.float32) / PIXEL_MAX


def _mnist_box(ink: Image.Image, area: int) -> np.ndarray:
    if not digit_found(ink, area):
        raise EmptyImageError(
            "no digit found: the image is blank or holds only a few stray marks. Draw or upload a digit."
        )
    left, top, right, bottom = ink.getbbox()
    digit = ink.crop((left, top, right, bottom))
    w, h = digit.size
    scale = DIGIT_BOX / max(w, h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    # Area averaging when shrinking (MNIST's anti-aliasing); bilinear when a tiny scan must grow.
    resample = Image.Resampling.BOX if scale <= 1 else Image.Resampling.BILINEAR
    box = np.asarray(digit.convert("F").resize(size, resample), dtype=np.float32)
    box = box / box.max()

    ys, xs = np.indices(box.shape, dtype=np.float32)
    mass = box.sum()
    cy, cx = (ys * box).sum() / mass, (xs * box).sum() / mass
    # Integer placement keeps pixels unblurred and puts the centre of mass within half a pixel.
    top, left = math.floor(CENTRE - cy + 0.5), math.floor(CENTRE - cx + 0.5)
    out = np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.float32)
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + box.shape[0], IMAGE_SIZE), min(left + box.shape[1], IMAGE_SIZE)
    out[y0:y1, x0:x1] = box[y0 - top : y1 - top, x0 - left : x1 - left]
    return out
