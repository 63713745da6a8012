"""The Python API contract, on the bundled weights and real MNIST digits."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from digitrec import EmptyImageError, Recognizer, WeightsNotFoundError
from digitrec.constants import CLASS_NAMES
from digitrec.graph import SHIFTS
from digitrec.render import STROKES, STYLES, draw_strokes, render_on_canvas
from digitrec.weights import WEIGHTS


def best(probs: dict[str, float]) -> str:
    return max(probs, key=probs.get)


def test_bundled_weights_are_the_keras_hub_layout():
    names = {p.name for p in WEIGHTS.iterdir()}
    assert {"config.json", "metadata.json", "model.weights.h5", "README.md", "metrics.json"} <= names
    assert not any(name.endswith((".pkl", ".pickle", ".keras")) for name in names)
    info = json.loads((WEIGHTS / "training.json").read_text())
    assert info["class_names"] == list(CLASS_NAMES) and info["input_shape"] == [28, 28, 1]
    assert info["parameters"] <= 500_000


def test_bundled_model_classifies_real_mnist_digits(recognizer, mnist_sample):
    x, y = mnist_sample
    probs = recognizer.predict_batch(list(x))
    accuracy = np.mean([best(p) == str(label) for p, label in zip(probs, y, strict=True)])
    assert accuracy >= 0.99


def test_predict_returns_all_ten_probabilities(recognizer, mnist_sample):
    x, y = mnist_sample
    probs = recognizer.predict(x[0])
    assert list(probs) == list(CLASS_NAMES)
    assert all(isinstance(v, float) and 0 <= v <= 1 for v in probs.values())
    assert sum(probs.values()) == pytest.approx(1.0, abs=1e-9)
    assert best(probs) == str(y[0])


def test_predict_batch_matches_predict(recognizer, mnist_sample):
    x, _ = mnist_sample
    batch = recognizer.predict_batch(list(x[:70]))  # more than one internal batch
    assert len(batch) == 70
    for i in (0, 33, 69):
        single = recognizer.predict(x[i])
        assert all(batch[i][k] == pytest.approx(single[k], abs=1e-5) for k in CLASS_NAMES)
    assert recognizer.predict_batch([]) == []


def _moved(x: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """``x`` moved ``dy`` pixels down and ``dx`` right with np.roll, the wrapped-around row or column blanked."""
    out = np.roll(x, (dy, dx), axis=(1, 2))
    if dy:
        out[:, 0 if dy > 0 else -1, :] = 0
    if dx:
        out[:, :, 0 if dx > 0 else -1] = 0
    return out


def test_each_input_is_read_as_the_mean_of_its_shifted_views(recognizer, mnist_sample):
    from digitrec.preprocess import from_uint8

    x = from_uint8(mnist_sample[0][:40])
    alone = Recognizer.load(calibration=False, shifts=((0, 0),))
    views = [alone.outputs(_moved(x, dy, dx)) for dy, dx in SHIFTS]
    taps, logits, own = recognizer.outputs(x)
    assert len(SHIFTS) > 1 and SHIFTS[0] == (0, 0)
    np.testing.assert_allclose(logits, np.mean([v[1] for v in views], 0), rtol=1e-4, atol=1e-4)
    # The "not a digit" check reads the input as it is, not the mean of its views.
    np.testing.assert_allclose(own, views[0][1], rtol=1e-4, atol=1e-4)
    for tap, alone_tap in zip(taps, views[0][0], strict=True):
        np.testing.assert_allclose(tap, alone_tap, rtol=1e-4, atol=1e-4)
    # The views change the answer, not only the arithmetic: one view alone gives other logits.
    assert np.abs(views[0][1] - logits).max() > 0.1


def test_views_that_move_more_than_a_pixel_or_skip_the_input_are_refused():
    for shifts in (((0, 0), (2, 0)), ((1, 0), (0, 0)), ()):
        with pytest.raises(ValueError, match=r"pairs of -1, 0 or 1 pixels, the first \(0, 0\)"):
            Recognizer.load(calibration=False, shifts=shifts)


def test_canvas_drawings_of_mnist_digits_are_recognized(recognizer, mnist_sample):
    x, y = mnist_sample
    rng = np.random.default_rng(7)
    canvases = [render_on_canvas(d, rng, style=STYLES[i % len(STYLES)]) for i, d in enumerate(x[::2])]
    probs = recognizer.predict_batch(canvases)
    accuracy = np.mean([best(p) == str(label) for p, label in zip(probs, y[::2], strict=True)])
    assert accuracy >= 0.97


@pytest.mark.parametrize("name", sorted(STROKES))
def test_hand_drawn_strokes_are_read_as_digits_in_any_colours_and_pen_width(recognizer, name):
    # Clean strokes as the Sketchpad draws them, including other countries' styles (a 1 with
    # a flag, a crossed 7, a slashed 0): read right, and not called "not a digit".
    expected = name.split("_")[0]
    for (ink, paper, mode), width in zip(
        [("black", "white", "RGB"), ("white", "black", "L"), ((0, 0, 255, 255), (0, 0, 0, 0), "RGBA")] * 2,
        [12, 20, 28, 40, 16, 34],
        strict=True,
    ):
        result = recognizer.recognize(
            draw_strokes(STROKES[name], size=(500, 500), width=width, ink=ink, paper=paper, mode=mode)
        )
        assert result.digit == expected and result.is_digit, (name, mode, width)


def test_recognize_exposes_what_the_model_saw(recognizer, mnist_sample):
    result = recognizer.recognize(mnist_sample[0][1])
    assert result.input.shape == (28, 28)
    assert result.digit == str(mnist_sample[1][1])


def test_empty_canvas_is_an_error_not_a_prediction(recognizer):
    with pytest.raises(EmptyImageError):
        recognizer.predict(Image.new("RGB", (800, 800), "white"))


def test_missing_weights_say_how_to_get_them(tmp_path):
    with pytest.raises(WeightsNotFoundError, match=r"python train\.py"):
        Recognizer.load(tmp_path)


def test_corrupt_weights_are_refused_clearly(tmp_path):
    folder = tmp_path / "broken"
    shutil.copytree(WEIGHTS, folder)
    (folder / "model.weights.h5").write_bytes(b"garbage")
    with pytest.raises(WeightsNotFoundError, match="could not be loaded"):
        Recognizer.load(folder, backend="keras")


@pytest.mark.slow
def test_an_older_model_in_the_app_runs_tensorflow_on_one_thread_per_op(tmp_path):
    # A fresh process, as `python app.py` starts, serving a folder without model.tflite: TensorFlow reads
    # its thread settings from the environment when it first starts, and four threads it would spin go.
    older = tmp_path / "older"
    shutil.copytree(WEIGHTS, older)
    (older / "model.tflite").unlink()
    code = f"""
import os, numpy as np
from digitrec.serving import load_for_app
rec = load_for_app({str(older)!r})
probs = rec.predict(np.load("tests/mnist_sample.npz")["x"][0])
print(os.environ["TF_NUM_INTRAOP_THREADS"], os.environ["TF_NUM_INTEROP_THREADS"])
print(rec.backend, max(probs, key=probs.get))
"""
    root = WEIGHTS.parent
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root).stdout
    label = int(np.load(root / "tests" / "mnist_sample.npz")["y"][0])
    assert out.split() == ["1", "1", "keras", str(label)]
