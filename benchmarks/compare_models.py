"""The CNN against the seeds' baselines: parameters, size, accuracy and latency, in one run.

    python train.py --arch mlp --epochs 10 --out baselines/mlp
    python train.py --arch cnn2 --epochs 10 --out baselines/cnn2
    python -m benchmarks.compare_models weights baselines/cnn2 baselines/mlp

Accuracy: MNIST test and the canvas set, exactly as ``python -m digitrec.evaluate``
computes them. Latency: median of ``rec.predict`` on an 800x800 RGBA canvas (the
preprocessing is the same for every model; the forward pass differs).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from benchmarks.common import sample_digits, timed, write_results
from digitrec import Recognizer
from digitrec.evaluate import evaluate
from digitrec.render import render_on_canvas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", help="model folders written by train.py")
    parser.add_argument("--repeats", type=int, default=300)
    args = parser.parse_args()
    canvas = render_on_canvas(sample_digits()[0][0], np.random.default_rng(0), canvas=800, style="transparent")
    rows = []
    for folder in args.folders:
        rec = Recognizer.load(folder)
        metrics = evaluate(rec)
        size = sum(p.stat().st_size for p in Path(folder).glob("model.weights.h5"))
        rows.append(
            {
                "model": f"{rec.info.get('arch', '?')} ({folder})",
                "parameters": metrics["parameters"],
                "weights_mb": round(size / 2**20, 2),
                "mnist_test": round(metrics["mnist_test_accuracy"], 4),
                "canvas_set": round(metrics["canvas_accuracy"], 4),
                "epochs": rec.info.get("config", {}).get("epochs"),
                "train_minutes": rec.info.get("training", {}).get("train_minutes"),
                "predict_p50_ms": round(float(np.median(timed(lambda rec=rec: rec.predict(canvas), args.repeats))), 2),
            }
        )
    print("| model | parameters | weights | MNIST test | canvas set | epochs | training | rec.predict p50 |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['model']} | {r['parameters']:,} | {r['weights_mb']} MB | {r['mnist_test']:.2%} | "
            f"{r['canvas_set']:.2%} | {r['epochs']} | {r['train_minutes']} min | {r['predict_p50_ms']} ms |"
        )
    write_results("compare_models", rows)


if __name__ == "__main__":
    main()
