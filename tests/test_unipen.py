"""Real pen handwriting (UNIPEN): checked on load, split by writer, drawn as visitors draw, read by the model."""

from __future__ import annotations

import collections
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from digitrec import unipen
from digitrec.constants import CLASS_NAMES, SKETCH_CANVAS
from digitrec.errors import ChecksumError
from digitrec.preprocess import normalize
from digitrec.weights import WEIGHTS, read_metrics


def test_the_data_matches_its_pinned_digests():
    assert len(unipen.load("digits")) == 6709 and len(unipen.load("characters")) == 48278


def test_a_changed_file_is_refused(tmp_path, monkeypatch):
    for path in unipen.FOLDER.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    data = bytearray((tmp_path / "digits.jsonl.gz").read_bytes())
    data[-20] ^= 1
    (tmp_path / "digits.jsonl.gz").write_bytes(bytes(data))
    monkeypatch.setattr(unipen, "FOLDER", tmp_path)
    unipen.load.cache_clear()
    try:
        with pytest.raises(ChecksumError, match="expected 499d2b55"):
            unipen.load("digits")
    finally:
        unipen.load.cache_clear()


def test_no_writer_is_in_two_splits_and_every_split_has_many_institutions():
    seen = collections.defaultdict(set)
    for kind in ("digits", "characters"):
        for split in ("train", "val", "test"):
            for row in unipen.rows(kind, split):
                seen[row["writer"]].add(split)
    assert seen and all(len(splits) == 1 for splits in seen.values())
    sources = {split: {r["source"] for r in unipen.rows("digits", split)} for split in ("train", "val", "test")}
    assert len(sources["test"]) >= 8 and sources["test"] <= sources["train"]
    counts = {split: len(unipen.rows("digits", split)) for split in ("train", "val", "test")}
    assert counts["train"] > 4 * counts["test"] > 0 and counts["val"] > 0


def test_characters_some_hands_make_like_digits_are_not_negatives():
    labels = {row["label"] for row in unipen.rows("characters", "train")}
    assert labels and not labels & unipen.DIGIT_LIKE and {"W", "M", "H", "K", "#", "%", "@"} <= labels


def test_a_drawing_on_the_app_sketchpad_is_black_ink_on_its_canvas():
    row = unipen.rows("digits", "test")[0]
    img = unipen.draw(row["strokes"], np.random.default_rng(0), app=True)
    assert img.size == (SKETCH_CANVAS, SKETCH_CANVAS)
    grey = np.asarray(img.convert("L"))
    assert grey.min() == 0 and np.median(grey) == 255
    x = normalize(img)
    assert x.shape == (28, 28) and x.max() == 1.0


def test_every_kind_of_client_drawing_normalizes_to_the_same_digit_box():
    row = unipen.rows("digits", "test")[1]
    inputs, labels = unipen.inputs([row], copies=12, seed=3)
    assert len(inputs) == 12 and set(labels) == {CLASS_NAMES.index(row["label"])}
    for x in inputs:
        rows, cols = np.nonzero(x > 0.1)
        assert max(np.ptp(rows), np.ptp(cols)) in range(17, 22)  # MNIST's 20 px box, give or take a blurred edge


def _ink_columns(strokes, rows: slice) -> np.ndarray:
    """The columns inked in ``rows`` of an upright drawing of ``strokes`` on the app's canvas."""
    grey = np.asarray(unipen.draw(strokes, np.random.default_rng(0), app=True, pose=False).convert("L"))
    return np.flatnonzero((grey[rows] < 128).any(0))


def test_a_plain_one_gets_a_flag_down_to_the_left_of_its_top_and_a_seven_a_bar_across_its_stem():
    rng = np.random.default_rng(0)
    train = unipen.rows("digits", "train")
    one = next(r for r in train if r["label"] == "1" and unipen.marked(r["strokes"], "1", rng) is not None)
    seven = next(r for r in train if r["label"] == "7" and unipen.marked(r["strokes"], "7", rng) is not None)
    flagged, barred = unipen.marked(one["strokes"], "1", rng), unipen.marked(seven["strokes"], "7", rng)
    assert flagged[1:] == one["strokes"] and barred[:-1] == seven["strokes"]  # the writer's own strokes, kept
    top = slice(SKETCH_CANVAS // 8, SKETCH_CANVAS // 3)  # below the top of the drawing, above its middle
    assert _ink_columns(flagged, top).min() < _ink_columns(one["strokes"], top).min() - 20  # the flag reaches left
    middle = slice(SKETCH_CANVAS // 2 - 10, SKETCH_CANVAS // 2 + 10)
    assert np.ptp(_ink_columns(barred, middle)) > np.ptp(_ink_columns(seven["strokes"], middle)) + 20  # a bar
    # Neither mark goes on other digits, nor on a one or seven that may carry one already.
    assert unipen.marked(flagged, "1", rng) is None and unipen.marked(barred, "7", rng) is None
    assert all(unipen.marked(r["strokes"], r["label"], rng) is None for r in train if r["label"] not in "17")


def _benchmark(name: str) -> dict:
    return json.loads((Path(__file__).parent.parent / "benchmarks" / "results" / f"{name}.json").read_text())


def test_the_shipped_weights_read_fresh_drawings_of_test_writers_digits(recognizer):
    # Drawings the evaluation never made (another seed), of writers nothing trained or selected on.
    samples = unipen.rows("digits", "test")[::3]
    inputs, labels = unipen.inputs(samples, copies=1, seed=99)
    probs, is_digit = recognizer.verdicts(inputs)
    measured = (read_metrics(WEIGHTS).get("real_pen") or _benchmark("real_pen")["folders"]["weights"])["accuracy"]
    assert (probs.argmax(1) == labels).mean() >= measured - 0.02
    assert (~is_digit).mean() <= 0.05


def test_a_real_digit_drawn_through_the_app_path_matches_its_upright_unit_drawing():
    row = next(r for r in unipen.rows("digits", "test") if r["label"] == "4")
    unit = unipen.unit_strokes(row["strokes"])
    assert min(p.min() for p in unit) == 0 and max(p.max() for p in unit) == pytest.approx(1.0)
    upright = unipen.draw(row["strokes"], np.random.default_rng(0), app=True, pose=False)
    again = unipen.draw(row["strokes"], np.random.default_rng(1), app=True, pose=False)
    assert np.array_equal(np.asarray(upright), np.asarray(again))  # nothing random is left in it
    assert isinstance(upright, Image.Image)
