"""Digits on scanned forms that store each one stretched to fill a 16x16 box, read by the shipped weights.

    python -m benchmarks.stretched_forms [FOLDER]

Some scanned digit sets store every digit cropped to its ink and stretched to fill a small square,
whatever its proportions, often thresholded to black and white: a one becomes a bar as wide as it is
tall. Input: the 10,000 MNIST test digits and the real pen test writers' drawings (the ones
``python -m digitrec.evaluate`` reads), each stretched so (``digitrec.render.stretched_scan``) and read
through ``normalize`` as an uploaded scan. Reports accuracy, the share called "not a digit", accuracy
per digit and the commonest misreadings, for black-and-white and grey boxes.
"""

from __future__ import annotations

import argparse
from collections import Counter

import numpy as np

from benchmarks.common import write_results
from digitrec.data import load_mnist
from digitrec.evaluate import real_pen_inputs
from digitrec.inference import Recognizer
from digitrec.preprocess import normalize
from digitrec.render import SCAN_BOX, stretched_scan
from digitrec.weights import WEIGHTS


def measure(rec: Recognizer, digits: np.ndarray, labels: np.ndarray, binary: bool) -> dict:
    inputs = np.stack([normalize(stretched_scan(d, SCAN_BOX, binary)) for d in digits])
    probs, is_digit = rec.verdicts(inputs)
    predicted = probs.argmax(1)
    wrong = predicted != labels
    errors = Counter(f"{t} read as {p}" for t, p in zip(labels[wrong], predicted[wrong], strict=True))
    return {
        "accuracy": float(1 - wrong.mean()),
        "flagged": float((~is_digit).mean()),
        "by_digit": {str(d): float(1 - wrong[labels == d].mean()) for d in range(10)},
        "most_common_errors": dict(errors.most_common(8)),
        "inputs": len(labels),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", default=str(WEIGHTS), help="model folder (default: weights/)")
    args = parser.parse_args()
    rec = Recognizer.load(args.folder)
    _, (x_test, y_test) = load_mnist()
    pen_x, pen_y = real_pen_inputs()
    sources = {"mnist_test": (x_test, y_test), "real_pen": (pen_x, pen_y)}
    results = {"box": SCAN_BOX, "sets": {}}
    for name, (digits, labels) in sources.items():
        for binary in (True, False):
            key = f"{name}_{'binary' if binary else 'grey'}"
            results["sets"][key] = r = measure(rec, digits, labels.astype(np.int64), binary)
            low = min(r["by_digit"].items(), key=lambda kv: kv[1])
            print(
                f"{key:>18}: {r['accuracy']:.2%} of {r['inputs']:,}, flagged {r['flagged']:.2%}, "
                f"lowest digit {low[0]} {low[1]:.2%}; errors {r['most_common_errors']}"
            )
    write_results("stretched_forms", results)


if __name__ == "__main__":
    main()
