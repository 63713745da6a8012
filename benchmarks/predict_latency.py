"""Latency of one prediction, and batch throughput, against a naive ``model.predict()`` baseline.

    python -m benchmarks.predict_latency [--repeats 300]

Input: an 800x800 RGBA Sketchpad composite of a real MNIST test digit (the default
Gradio canvas size). Reports medians and p99 in milliseconds, measured in one run, and what
reading each input in its shifted views costs against reading it alone (``digitrec.inference.SHIFTS``).
"""

from __future__ import annotations

import argparse

import numpy as np

from benchmarks.common import sample_digits, summary, timed, write_results
from digitrec import Recognizer, normalize
from digitrec.render import render_on_canvas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=300)
    args = parser.parse_args()

    rec = Recognizer.load()
    alone = Recognizer.load(shifts=((0, 0),))  # the input in one view, without its shifts
    digits, _ = sample_digits()
    canvas = render_on_canvas(digits[0], np.random.default_rng(0), canvas=800, style="transparent")
    x = normalize(canvas)[None]

    results = {
        "naive model.predict (baseline)": summary(timed(lambda: rec.model.predict(x[..., None], verbose=0), 50)),
        "preprocess (normalize)": summary(timed(lambda: normalize(canvas), args.repeats)),
        "forward pass (compiled)": summary(timed(lambda: rec.outputs(x), args.repeats)),
        "forward + not-a-digit check": summary(timed(lambda: rec.verdicts(x), args.repeats)),
        "rec.predict (total)": summary(timed(lambda: rec.predict(canvas), args.repeats)),
        "forward pass, one view": summary(timed(lambda: alone.outputs(x), args.repeats)),
        "rec.predict, one view": summary(timed(lambda: alone.predict(canvas), args.repeats)),
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
