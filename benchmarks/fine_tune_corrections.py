"""Fine-tuning on visitors' corrections, measured with synthetic ones.

    python -m benchmarks.fine_tune_corrections [--corrections 300] [--model weights] [TRAIN.PY OPTIONS]

Mirrored MNIST training digits of the classes a mirror changes (not 0, 1 or 8), a hand
MNIST never shows, are saved through :class:`digitrec.corrections.FeedbackStore` as
corrections naming the digit. Then ``train.py --init-from MODEL --extra-data FOLDER``
runs with any further options (``--epochs 1 --learning-rate 0.01`` ...), and the
held-out corrections and MNIST test are compared before and after, as training reports
them. The tuned model goes to a temporary folder; ``weights/`` is not touched.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.common import write_results
from digitrec import Recognizer
from digitrec.corrections import FeedbackStore
from digitrec.data import load_mnist
from digitrec.training import TrainConfig, train
from digitrec.weights import WEIGHTS, read_info

SEED = 11


def synthetic_corrections(folder: Path, rec: Recognizer, count: int) -> None:
    """``count`` mirrored training digits saved as corrections, as the app's buttons save them."""
    (x, y), _ = load_mnist()
    rng = np.random.default_rng(SEED)
    chosen = [i for i in rng.permutation(len(x)) if y[i] not in (0, 1, 8)][:count]
    store = FeedbackStore(folder)
    for n, i in enumerate(chosen):
        mirrored = Image.fromarray(np.fliplr(x[i]))
        store.save(mirrored, rec.recognize(mirrored), label=str(y[i]), model="synthetic", session=str(n))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corrections", type=int, default=300)
    parser.add_argument("--model", default=str(WEIGHTS))
    args, train_options = parser.parse_known_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder, out = Path(tmp) / "feedback", Path(tmp) / "tuned"
        synthetic_corrections(folder, Recognizer.load(args.model), args.corrections)
        base = ["--init-from", args.model, "--extra-data", str(folder), "--out", str(out)]
        cfg = TrainConfig.from_args(base + train_options)
        train(cfg)
        info = read_info(out)
    report = info["training"]["corrections"]
    result = {
        "options": train_options,
        "corrections": args.corrections,
        "held_out": report["held_out"],
        "blend": report["blend"],
        "before": report["before"],
        "after": report["after"],
        "mnist_test_change_points": round(100 * (report["after"]["mnist_test"] - report["before"]["mnist_test"]), 2),
        "train_minutes": info["training"]["train_minutes"],
    }
    print(result)
    write_results("fine_tune_corrections", result)


if __name__ == "__main__":
    main()
