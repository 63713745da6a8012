"""The rendered sets that evaluation and calibration fitting measure on, as normalized model inputs.

Every set goes through :func:`digitrec.preprocess.normalize`, the path a drawing takes in
the app. Each is reproducible from its seed; fitting and evaluation use different seeds
and different MNIST splits.
"""

from __future__ import annotations

import contextlib

import numpy as np
from PIL import Image

from digitrec.constants import IMAGE_SIZE, PIXEL_MAX
from digitrec.data import load_fashion_mnist_test
from digitrec.errors import PreprocessError
from digitrec.nondigits import DIGIT_LIKE_LETTERS, SHAPES, render_letters, render_shape
from digitrec.preprocess import normalize
from digitrec.render import STYLES, render_on_canvas, render_photo
from digitrec.styles import HAND_LETTERS, as_batch, render_hand_letter, style_inputs

CANVAS_SEED = 2024  # the canvas set is the same every time it is built
PHOTO_SEED = 2025


def canvas_inputs(digits: np.ndarray, seed: int = CANVAS_SEED, pen: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The canvas set: each MNIST digit re-drawn on a canvas (:func:`digitrec.render.render_on_canvas`),
    cycling through the colour schemes; the inputs and each one's scheme index."""
    rng = np.random.default_rng(seed)
    inputs = [normalize(render_on_canvas(d, rng, style=STYLES[i % len(STYLES)], pen=pen)) for i, d in enumerate(digits)]
    return np.stack(inputs), np.arange(len(digits)) % len(STYLES)


def photo_inputs(digits: np.ndarray, seed: int = PHOTO_SEED) -> np.ndarray:
    """The photo set: each MNIST digit written on paper and photographed (:func:`digitrec.render.render_photo`)."""
    rng = np.random.default_rng(seed)
    return np.stack([normalize(render_photo(d, rng)) for d in digits])


def tight_crop_inputs(digits: np.ndarray, scale: int = 1, dark_on_light: bool = False) -> tuple[np.ndarray, int]:
    """Each digit cropped to its ink (ink on all four edges), enlarged ``scale`` times; the inputs and
    how many preprocessing refused (those get a blank input, which the model then gets wrong)."""
    inputs, refused = [], 0
    for digit in digits:
        img = Image.fromarray(PIXEL_MAX - digit if dark_on_light else digit).crop(Image.fromarray(digit).getbbox())
        if scale != 1:
            img = img.resize((img.width * scale, img.height * scale), Image.Resampling.BICUBIC)
        try:
            inputs.append(normalize(img))
        except PreprocessError:
            inputs.append(np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.float32))
            refused += 1
    return np.stack(inputs), refused


def style_inputs_of(x: np.ndarray, y: np.ndarray, per_style: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Every handwriting style, pen re-drawings included, from these MNIST digits, as one batch and its labels."""
    sets = style_inputs(per_style, seed, marked=(x, y), per_mark=3 * per_style, pen=(x, y), pen_count=10 * per_style)
    return as_batch(sets)


def normalized(images) -> np.ndarray:
    """Model inputs for the images that preprocessing accepts (blank ones are refused before
    the model, which is the right answer for them too)."""
    out = []
    for img in images:
        with contextlib.suppress(PreprocessError):
            out.append(normalize(img))
    return np.stack(out)


def non_digit_inputs(
    seed: int = 0, per_letter: int = 4, per_shape: int = 20, fashion: bool = True, per_hand_letter: int = 4
) -> dict[str, np.ndarray]:
    """Normalized model inputs that are not digits: Fashion-MNIST test images (when Debian's
    ``dataset-fashion-mnist`` is installed and ``fashion``), letters in a font, shapes, and letters
    written by hand in pen, rendered on canvases."""
    rng = np.random.default_rng(seed)
    letters = [img for letter, img in render_letters(rng, per_letter=per_letter) if letter not in DIGIT_LIKE_LETTERS]
    sets = {
        "letters": normalized(letters),
        "shapes": normalized(render_shape(kind, rng) for kind in SHAPES for _ in range(per_shape)),
    }
    if per_hand_letter:
        sets["hand_letters"] = normalized(
            render_hand_letter(letter, rng) for letter in HAND_LETTERS for _ in range(per_hand_letter)
        )
    clothes = load_fashion_mnist_test() if fashion else None
    if clothes is not None:
        sets = {"fashion_mnist": normalized(clothes), **sets}
    return sets
