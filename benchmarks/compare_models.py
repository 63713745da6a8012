"""The CNN against the seeds' baselines: parameters, size, accuracy and latency, in one run.

    python train.py --arch mlp --epochs 10 --out baselines/mlp
    python train.py --arch cnn2 --epochs 10 --out baselines/cnn2
    python benchmarks/compare_models.py weights baselines/cnn2 baselines/mlp

Accuracy: MNIST test and the canvas set, exactly as ``python -m digitrec.evaluate``
computes them. Latency: median of ``rec.predict`` on an 800x800 RGBA canvas (the
preprocessing is the same for every model; the forward pass differs).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as `python benchmarks/...`

from digitrec import Recognizer  # noqa: E402
from digitrec.evaluate import evaluate  # noqa: E402
from digitrec.render import render_on_canvas  # noqa: E402

SAMPLE = Path(__file__).resolve().parent.parent / "tests" / "mnist_sample.npz"


def median_ms(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return round(float(np.median(times)) * 1000, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", help="model folders written by train.py")
    parser.add_argument("--repeats", type=int, default=300)
    args = parser.parse_args()
    with np.load(SAMPLE) as d:
        canvas = render_on_canvas(d["x"][0], np.random.default_rng(0), canvas=800, style="transparent")
    rows = []
    for folder in args.folders:
        rec = Recognizer.load(folder)
        metrics = evaluate(rec)
        size = sum(p.stat().st_size for p in Path(folder).glob("model.weights.h5"))
        rows.append({
            "model": f"{rec.info.get('arch', '?')} ({folder})",
            "parameters": rec.model.count_params(),
            "weights_mb": round(size / 2**20, 2),
            "mnist_test": round(metrics["mnist_test_accuracy"], 4),
            "canvas_set": round(metrics["canvas_accuracy"], 4),
            "epochs": rec.info.get("config", {}).get("epochs"),
            "train_minutes": rec.info.get("training", {}).get("train_minutes"),
            "predict_p50_ms": median_ms(lambda: rec.predict(canvas), args.repeats),
        })
    print("| model | parameters | weights | MNIST test | canvas set | epochs | training | rec.predict p50 |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['parameters']:,} | {r['weights_mb']} MB | {r['mnist_test']:.2%} | "
              f"{r['canvas_set']:.2%} | {r['epochs']} | {r['train_minutes']} min | {r['predict_p50_ms']} ms |")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
