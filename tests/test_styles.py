"""The handwriting styles MNIST lacks (digitrec.styles), read by the shipped weights on fresh renderings."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from digitrec.nondigits import DIGIT_LIKE_LETTERS
from digitrec.preprocess import normalize
from digitrec.render import FINE, SCAN_BOX, render_on_canvas, retrace_line, retraceable, stretched_scan
from digitrec.styles import (
    HAND_LETTERS,
    MARKS,
    STYLE_TEST_SEED,
    TEMPLATES,
    TEST_CANVAS,
    THIN_PEN,
    mark_mnist,
    render_template,
    style_inputs,
    style_test_set,
)

FRESH_SEED = STYLE_TEST_SEED + 1  # neither training's seeds nor the style test set's


def _read(recognizer, images) -> tuple[np.ndarray, np.ndarray]:
    """The digit read from each image, and whether it passed the "not a digit" check."""
    probs, is_digit = recognizer.verdicts(np.stack([normalize(img) for img in images]))
    return probs.argmax(1), is_digit


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_every_pen_template_is_read_as_its_digit(recognizer, name):
    # A slashed zero is not an 8 (it has no waist), a one with a long flag not a 7, ...
    digit = TEMPLATES[name][0]
    rng = np.random.default_rng([FRESH_SEED, sorted(TEMPLATES).index(name)])
    digits, is_digit = _read(recognizer, [render_template(name, rng, TEST_CANVAS) for _ in range(10)])
    assert (digits == digit).sum() >= 9, (name, digits)
    assert is_digit.sum() >= 9, name


def test_digits_drawn_with_a_thin_pen_are_digits(recognizer):
    # A 12 px brush on a 500 px canvas: letters written by hand are drawn like this too, and a thin,
    # straight 1 is the commonest one there is.
    rng = np.random.default_rng(FRESH_SEED)
    names = sorted(TEMPLATES)
    images = [render_template(name, rng, TEST_CANVAS, pen=THIN_PEN) for name in names for _ in range(4)]
    digits, is_digit = _read(recognizer, images)
    assert (digits == np.repeat([TEMPLATES[name][0] for name in names], 4)).mean() >= 0.95
    assert is_digit.mean() >= 0.97


@pytest.mark.parametrize("mark", sorted(MARKS))
def test_marks_on_real_mnist_digits_keep_the_digit(recognizer, mnist_sample, mark):
    x, y = mnist_sample
    digit = MARKS[mark]
    rng = np.random.default_rng(FRESH_SEED)
    digits, is_digit = _read(recognizer, [mark_mnist(d, mark, rng) for d in x[y == digit]])
    assert (digits == digit).mean() >= 0.9, (mark, digits)
    assert is_digit.mean() >= 0.9, mark


def test_real_mnist_digits_redrawn_in_pen_are_read(recognizer, mnist_sample):
    x, y = mnist_sample
    rng = np.random.default_rng(FRESH_SEED)
    digits, is_digit = _read(recognizer, [render_on_canvas(d, rng, pen=True) for d in x])
    assert (digits == y).mean() >= 0.96
    assert is_digit.mean() >= 0.97


def test_real_mnist_digits_retraced_with_one_pen_width_are_read(recognizer, mnist_sample):
    x, y = mnist_sample
    keep = [i for i in range(len(x)) if retraceable(x[i])]
    rng = np.random.default_rng(FRESH_SEED)
    digits, is_digit = _read(recognizer, [render_on_canvas(x[i], rng, retrace=True) for i in keep])
    assert len(keep) >= 0.9 * len(x)
    assert (digits == y[keep]).mean() >= 0.96
    assert is_digit.mean() >= 0.97


def test_a_stretched_scan_fills_its_box_in_black_ink_on_white(mnist_sample):
    x, y = mnist_sample
    one = x[y == 1][0]
    grey = np.asarray(stretched_scan(one, binary=False))
    ink = grey < 255
    assert grey.shape == (SCAN_BOX, SCAN_BOX)
    assert ink[0].any() and ink[-1].any() and ink[:, 0].any() and ink[:, -1].any()  # as wide as it is tall
    zero = np.asarray(stretched_scan(x[y == 0][0], binary=False))
    assert zero[0, 0] == zero[-1, -1] == 255 and zero.min() == 0  # a ring's corners are paper: white
    assert set(np.unique(stretched_scan(one))) == {0, 255}  # thresholded: black and white only


def test_real_digits_that_keep_their_shape_when_stretched_are_read_from_the_scan(recognizer, mnist_sample):
    # Round and wide digits change little when stretched to a square; ones and thin nines are what
    # scanned forms get wrong (benchmarks.stretched_forms), so they are not what this checks.
    x, y = mnist_sample
    keep = np.isin(y, (0, 3, 7))
    digits, is_digit = _read(recognizer, [stretched_scan(d, binary=False) for d in x[keep]])
    assert (digits == y[keep]).mean() >= 0.95
    assert is_digit.mean() >= 0.9


def test_the_style_test_set_redraws_every_test_digit_both_ways(mnist_sample):
    # MNIST test's digits are not alike from one end to the other: a share of them would not stand for all.
    x, y = mnist_sample
    sets = style_test_set(x, y, per_style=2)
    assert np.array_equal(sets["mnist_pen_redrawn"][1], y)
    keep = [i for i in range(len(x)) if retraceable(x[i])]
    assert len(keep) >= 0.9 * len(x)
    assert np.array_equal(sets["mnist_pen_retraced"][1], y[keep])


def test_a_retraced_digit_has_the_pen_width_not_the_writers(mnist_sample):
    x, _ = mnist_sample
    fine = Image.fromarray(x[0]).resize((FINE, FINE), Image.Resampling.BICUBIC)
    fat = fine.filter(ImageFilter.MaxFilter(9))
    assert np.count_nonzero(np.asarray(fat) >= 128) > 1.5 * np.count_nonzero(np.asarray(fine) >= 128)
    ink = [np.count_nonzero(np.asarray(retrace_line(img, np.random.default_rng(0)))) for img in (fine, fat)]
    assert abs(ink[1] - ink[0]) < 0.2 * ink[0], ink


def _stroke(middle: int) -> Image.Image:
    """A fine vertical stroke whose middle third has grey level ``middle``: a pencil line drawn faintly there."""
    img = Image.new("L", (FINE, FINE), 0)
    draw = ImageDraw.Draw(img)
    draw.line([(56, 10), (56, 101)], fill=255, width=8)
    draw.line([(56, 40), (56, 70)], fill=middle, width=8)
    return img


@pytest.mark.parametrize("middle", [100, 40])
def test_a_faint_stretch_of_a_stroke_is_retraced_as_part_of_it(middle):
    # Cut at half brightness, the stroke would be two pieces and its re-drawing two lines with a gap.
    out = np.asarray(retrace_line(_stroke(middle), np.random.default_rng(0)))
    assert out[40:71, 50:63].any(axis=1).all()


def test_a_gap_in_a_stroke_stays_a_gap_when_retraced():
    out = np.asarray(retrace_line(_stroke(0), np.random.default_rng(0)))
    assert out[20:30, 50:63].any() and out[80:90, 50:63].any()
    assert not out[50:60].any()


def _nine(filled: bool) -> np.ndarray:
    img = Image.new("L", (28, 28), 0)
    draw = ImageDraw.Draw(img)
    draw.ellipse([8, 4, 20, 14], fill=255 if filled else 0, outline=255, width=2)
    draw.line([(19, 9), (17, 24)], fill=255, width=2)
    return np.asarray(img)


def test_a_nine_with_its_loop_filled_in_is_not_retraced():
    # Its centre line would run through the blot and leave a 7 or a 1 labelled 9.
    assert retraceable(_nine(filled=False))
    assert not retraceable(_nine(filled=True))


def test_letters_written_by_hand_leave_out_the_digit_like_ones():
    assert set(HAND_LETTERS).isdisjoint(DIGIT_LIKE_LETTERS)
    assert len(HAND_LETTERS) == 52 - len(set(DIGIT_LIKE_LETTERS))


def test_more_of_adds_renderings_of_the_named_templates_and_leaves_the_rest_as_they_were():
    plain = style_inputs(2, seed=7)
    more = style_inputs(2, seed=7, more_of={"flag_one": 3})
    assert {name: len(y) for name, (_, y) in more.items()} == {name: 2 + 3 * (name == "flag_one") for name in TEMPLATES}
    assert (more["flag_one"][1] == 1).all()
    # The templates before it are drawn from the same random stream, so they are the same drawings.
    for name in list(TEMPLATES)[: list(TEMPLATES).index("flag_one") + 1]:
        np.testing.assert_array_equal(more[name][0][:2], plain[name][0])


def test_more_of_a_template_that_does_not_exist_says_which_ones_do():
    with pytest.raises(ValueError, match="no template named flag_won: expected one of zero, slashed_zero"):
        style_inputs(1, seed=7, more_of={"flag_won": 3})
