"""Reading whole numbers: segmentation of real MNIST digits written side by side."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageOps

from digitrec import EmptyImageError
from digitrec.render import STROKES, draw_strokes, render_number
from digitrec.segment import split_digits


def test_numbers_of_real_mnist_digits_are_read(recognizer, mnist_sample):
    x, y = mnist_sample
    rng = np.random.default_rng(11)
    correct = 0
    for _ in range(40):
        idx = rng.choice(len(x), size=4, replace=False)
        correct += recognizer.predict_number(render_number(x[idx], rng))["number"] == "".join(map(str, y[idx]))
    assert correct >= 37  # the full 1,000-number measurement is benchmarks/number_accuracy.py


def test_multi_stroke_digits_stay_whole():
    strokes = [STROKES["4_open"], STROKES["7_crossed"], STROKES["1_flag"]]
    parts = [draw_strokes(s, size=(200, 200), width=14) for s in strokes]
    number = Image.new("RGB", (600, 200), "white")
    for i, part in enumerate(parts):
        number.paste(part, (i * 200, 0))
    assert len(split_digits(number)) == 3


@pytest.mark.parametrize("width", [10, 14, 20, 24])
def test_a_digit_drawn_with_a_gap_stays_one_digit(recognizer, width):
    # A 4 whose upright does not touch the rest: two pieces of full height, side by side.
    broken_four = [[(0.55, 0.1), (0.2, 0.6), (0.55, 0.6)], [(0.68, 0.25), (0.68, 0.9)]]
    parts = [draw_strokes(s, size=(200, 200), width=width) for s in (STROKES["2"], broken_four, STROKES["7_plain"])]
    number = Image.new("RGB", (600, 200), "white")
    for i, part in enumerate(parts):
        number.paste(part, (i * 200, 0))
    assert recognizer.predict_number(number)["number"] == "247"


def test_blank_number_canvas_is_an_error():
    with pytest.raises(EmptyImageError):
        split_digits(Image.new("RGB", (800, 300), "white"))


@pytest.mark.parametrize("angle", [-28, 28])
def test_a_number_on_the_edge_of_a_turned_sheet_is_read_whole(recognizer, mnist_sample, angle):
    # The sheet is read turned square; the Numbers tab's ink map must be that sheet, not the sheet
    # pasted back into the photo's frame, whose edge cuts off what is written near the sheet's corner.
    x, y = mnist_sample
    written = np.concatenate(list(x[:4]), axis=1)  # four real digits side by side, 28 x 112
    sheet = Image.new("L", (700, 500), 215)
    ink = Image.fromarray(written).resize((400, 100), Image.Resampling.BICUBIC)
    sheet.paste(40, (300, 400), mask=ink)
    photo = ImageOps.expand(sheet.rotate(angle, Image.Resampling.BILINEAR, expand=True, fillcolor=70), 8, fill=70)
    assert recognizer.predict_number(photo)["number"] == "".join(map(str, y[:4]))
