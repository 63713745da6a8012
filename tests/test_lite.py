"""The model as served: model.tflite on LiteRT, against the same weights in Keras."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from digitrec import Recognizer, WeightsNotFoundError
from digitrec.explain import Explainer
from digitrec.nondigits import render_letters
from digitrec.preprocess import from_uint8
from digitrec.render import render_number, render_on_canvas
from digitrec.weights import WEIGHTS, read_metrics

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def in_keras():
    return Recognizer.load(backend="keras")


def test_the_bundled_model_is_served_on_litert(recognizer):
    assert recognizer.backend == "litert" and recognizer.model is None


def test_litert_answers_as_keras_to_1e_5(recognizer, in_keras, mnist_sample):
    # Digits, canvases, letters (the "not a digit" verdicts too) and numbers.
    rng = np.random.default_rng(5)
    x, _ = mnist_sample
    images = [*x[:60], *(render_on_canvas(d, rng) for d in x[60:100])]
    images += [img for _, img in render_letters(rng, per_letter=1)][:30]
    for image in images:
        lite, keras = recognizer.recognize(image), in_keras.recognize(image)
        assert lite.is_digit == keras.is_digit
        np.testing.assert_allclose(list(lite.probabilities.values()), list(keras.probabilities.values()), atol=1e-5)
    number = render_number(x[:4], rng)
    assert recognizer.predict_number(number)["number"] == in_keras.predict_number(number)["number"]


def test_the_shipped_export_was_checked_on_every_evaluation_set():
    record = read_metrics(WEIGHTS)["litert"]
    assert record["same_answers"] and record["max_logit_difference"] < 1e-3
    assert {"mnist_test", "canvas_set", "real_pen", "real_letters"} <= set(record["sets"])
    # It is the export of the shipped weights.
    from digitrec.graph import weights_sha256

    assert record["weights_sha256"] == weights_sha256(WEIGHTS)


def test_the_inside_tab_reads_litert_as_keras_reads_its_gradient(recognizer, in_keras, mnist_sample):
    # A blend of two digits: unsure, so the top probability has a gradient worth comparing.
    blend = (from_uint8(mnist_sample[0][:1]) + from_uint8(mnist_sample[0][20:21])) / 2
    image = np.uint8(blend[0] * 255)
    lite, keras = Explainer(recognizer).explain(image), Explainer(in_keras).explain(image)
    assert lite.digit == keras.digit
    for (name_l, _), (name_k, _) in zip(lite.blocks, keras.blocks, strict=True):
        assert name_l == name_k
    maps_l, grad_l = recognizer.network.inside(recognizer.recognize(image).input[None, ..., None])
    maps_k, grad_k = in_keras.network.inside(in_keras.recognize(image).input[None, ..., None])
    for a, b in zip(maps_l, maps_k, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-4)
    # TensorFlow's own gradient (the Keras path) against the export's rewritten one.
    np.testing.assert_allclose(grad_l, grad_k, atol=1e-3 * np.abs(grad_k).max())
    assert np.abs(grad_k).max() > 0


def test_concurrent_threads_each_get_their_own_answer(recognizer, mnist_sample):
    x = mnist_sample[0]
    expected = [recognizer.predict(d) for d in x[:64]]
    results: dict[int, dict] = {}

    def work(k: int) -> None:
        for i in range(k, 64, 8):
            results[i] = recognizer.predict(x[i])

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(64):
        np.testing.assert_allclose(list(results[i].values()), list(expected[i].values()), atol=1e-6)


def test_a_folder_without_model_tflite_falls_back_to_keras_with_a_note(tmp_path, capfd, recognizer, mnist_sample):
    older = tmp_path / "older"
    shutil.copytree(WEIGHTS, older)
    (older / "model.tflite").unlink()
    rec = Recognizer.load(older)
    err = capfd.readouterr().err
    assert rec.backend == "keras"
    assert err.count("\n") == 1 and "has no model.tflite" in err and "--export-only" in err
    np.testing.assert_allclose(
        list(rec.predict(mnist_sample[0][3]).values()), list(recognizer.predict(mnist_sample[0][3]).values()), atol=1e-5
    )


def test_an_export_of_other_weights_is_not_served(tmp_path, capfd):
    folder = tmp_path / "retrained"
    shutil.copytree(WEIGHTS, folder)
    metrics = json.loads((folder / "metrics.json").read_text())
    metrics.setdefault("litert", {})["weights_sha256"] = "0" * 64  # as if the weights changed after the export
    (folder / "metrics.json").write_text(json.dumps(metrics))
    assert Recognizer.load(folder).backend == "keras"
    assert "exported from other weights" in capfd.readouterr().err
    with pytest.raises(WeightsNotFoundError, match=r"no model\.tflite in"):
        (folder / "model.tflite").unlink()
        Recognizer.load(folder, backend="litert")


def test_a_corrupt_export_is_refused_with_the_command_that_writes_it(tmp_path):
    folder = tmp_path / "broken"
    shutil.copytree(WEIGHTS, folder)
    (folder / "model.tflite").write_bytes(b"not a flatbuffer" * 100)
    with pytest.raises(WeightsNotFoundError, match=r"is not a digitrec LiteRT model.*--export-only"):
        Recognizer.load(folder)


@pytest.mark.slow
def test_export_writes_a_model_that_answers_as_keras(tmp_path, in_keras, mnist_sample):
    from digitrec.graph import export

    folder = tmp_path / "w"
    shutil.copytree(WEIGHTS, folder)
    (folder / "model.tflite").unlink()
    record = export(in_keras.model, folder, check=from_uint8(mnist_sample[0]))
    assert record["same_answers"] and record["max_logit_difference"] < 1e-4 and record["checked"] == 200
    assert Recognizer.load(folder, backend="litert").predict(mnist_sample[0][0]) == pytest.approx(
        in_keras.predict(mnist_sample[0][0]), abs=1e-5
    )


@pytest.mark.slow
def test_an_export_with_other_views_answers_as_keras_reading_those_views(tmp_path, in_keras, mnist_sample):
    from digitrec.graph import export

    one_view = Recognizer.load(shifts=((0, 0),), backend="keras")
    folder = tmp_path / "w"
    shutil.copytree(WEIGHTS, folder)
    record = export(in_keras.model, folder, check=from_uint8(mnist_sample[0][:50]), shifts=((0, 0),))
    assert record["same_answers"] and record["max_logit_difference"] < 1e-4
    x = from_uint8(mnist_sample[0][:20])
    logits = Recognizer.load(folder).outputs(x).logits
    np.testing.assert_allclose(logits, one_view.outputs(x).logits, atol=1e-4)
    assert np.abs(logits - in_keras.outputs(x).logits).max() > 1e-2  # it is not the five views' answer


@pytest.mark.slow
def test_serving_never_imports_tensorflow():
    # The app's modules, a model loaded and a prediction made: TensorFlow is neither imported nor mapped.
    code = (
        "import sys, app, digitrec.serving, digitrec.cli\n"
        "from digitrec import Recognizer\n"
        "from digitrec.explain import Explainer\n"
        "import numpy as np\n"
        "rec = Recognizer.load()\n"
        "img = np.zeros((60, 60), np.uint8); img[10:50, 28:32] = 255\n"
        "print(rec.predict(img)['1'] > 0.5, Explainer(rec).explain(img).digit)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))\n"
        "print(any('/tensorflow/' in line for line in open('/proc/self/maps')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:3] == ["True 1", "[]", "False"], out.stdout


def test_without_tensorflow_a_model_it_cannot_serve_names_what_to_install(tmp_path, monkeypatch, capfd):
    # The app's install (requirements.txt) has LiteRT and no TensorFlow: an import of keras fails.
    monkeypatch.setitem(sys.modules, "keras", None)
    older = tmp_path / "older"
    shutil.copytree(WEIGHTS, older)
    (older / "model.tflite").unlink()
    with pytest.raises(WeightsNotFoundError, match=r"need TensorFlow: .*requirements-train\.txt.*--export-only"):
        Recognizer.load(older)
    assert "running it in TensorFlow" not in capfd.readouterr().err  # no note of what did not happen
    with pytest.raises(WeightsNotFoundError, match="the Keras backend needs TensorFlow"):
        Recognizer.load(backend="keras")
    with pytest.raises(WeightsNotFoundError, match=r"no weights in .* run `python train\.py`"):
        Recognizer.load(tmp_path)
    assert Recognizer.load().backend == "litert"  # the shipped export needs none of it
