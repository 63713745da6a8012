"""Latency of one prediction, and batch throughput, against a naive ``model.predict()`` baseline.

    python -m benchmarks.predict_latency [--repeats 300]

Input: an 800x800 RGBA Sketchpad composite of a real MNIST test digit (the default
Gradio canvas size). Reports medians and p99 in milliseconds, measured in one run: the
baseline is Keras' ``model.predict()`` of the shipped weights; the predictor as served
runs ``model.tflite`` on LiteRT, and the same predictor in TensorFlow (the Keras backend)
stands beside it; then where the time of one prediction goes, and what reading each input
in its shifted views costs against reading it alone (``digitrec.graph.SHIFTS``).
"""

from __future__ import annotations

import argparse

import numpy as np

from benchmarks.common import sample_digits, summary, timed, write_results
from digitrec import Recognizer, normalize
from digitrec.calibration import softmax
from digitrec.render import render_on_canvas
from digitrec.weights import WEIGHTS, load_keras_folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=300)
    args = parser.parse_args()

    rec = Recognizer.load()  # as served: LiteRT
    assert rec.backend == "litert", "weights/ has no current model.tflite: python -m digitrec.evaluate --export-only"
    in_keras = Recognizer.load(backend="keras")
    alone = Recognizer.load(shifts=((0, 0),))  # the input in one view, without its shifts (in TensorFlow)
    model = load_keras_folder(WEIGHTS)
    digits, _ = sample_digits()
    canvas = render_on_canvas(digits[0], np.random.default_rng(0), canvas=800, style="transparent")
    x = normalize(canvas)[None]
    taps, logits, own = rec.outputs(x)

    results = {
        "naive model.predict (baseline)": summary(timed(lambda: model.predict(x[..., None], verbose=0), 50)),
        "rec.predict (total)": summary(timed(lambda: rec.predict(canvas), args.repeats)),
        "rec.predict in TensorFlow (Keras backend)": summary(timed(lambda: in_keras.predict(canvas), args.repeats)),
        "preprocess (normalize)": summary(timed(lambda: normalize(canvas), args.repeats)),
        "forward pass (LiteRT, five views)": summary(timed(lambda: rec.network.run(x[..., None]), args.repeats)),
        "forward pass (TensorFlow, five views)": summary(
            timed(lambda: in_keras.network.run(x[..., None]), args.repeats)
        ),
        "outputs (forward + ink features)": summary(timed(lambda: rec.outputs(x), args.repeats)),
        "not-a-digit check (numpy)": summary(timed(lambda: rec.calibration.is_digit(taps, softmax(own)), args.repeats)),
        "probabilities as a dict": summary(timed(lambda: rec._as_dict(logits[0]), args.repeats)),
        "forward pass, one view (TensorFlow)": summary(timed(lambda: alone.outputs(x), args.repeats)),
    }
    base = results["naive model.predict (baseline)"]["p50_ms"]
    for r in results.values():
        r["speedup_vs_baseline"] = round(base / r["p50_ms"], 1)

    canvases = [
        render_on_canvas(d, np.random.default_rng(i), canvas=800, style="transparent")
        for i, d in enumerate(digits[:128])
    ]
    batch_ms = np.median(timed(lambda: rec.predict_batch(canvases), 5))
    single_ms = np.median(timed(lambda: [rec.predict(c) for c in canvases], 5))
    results["predict_batch throughput (128 canvases)"] = {
        "images_per_s": round(128 / batch_ms * 1000, 1),
        "vs_predict_in_a_loop": round(single_ms / batch_ms, 2),
    }
    for name, r in results.items():
        print(f"{name:45s} " + "  ".join(f"{k}={v}" for k, v in r.items()))
    write_results("predict_latency", results)


if __name__ == "__main__":
    main()
