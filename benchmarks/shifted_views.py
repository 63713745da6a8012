"""Errors of the shipped network read in several sets of views, each averaged: which views to ship.

    python -m benchmarks.shifted_views [--sets validation test]

The views are chosen on the validation split (the 6,000 digits training held out, re-drawn in the
handwriting styles with a seed of their own) and only then measured on the test sets. Each candidate
is computed here from the network's one-view logits of shifted copies, a reference independent of
``digitrec.inference``'s graph; the last row is the predictor as shipped (``SHIFTS``), which must
match its candidate. Half-pixel views are the mean of an image and its one-pixel shift.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks.common import write_results
from digitrec import Recognizer
from digitrec.data import load_mnist
from digitrec.mixing import split_train_val
from digitrec.preprocess import from_uint8
from digitrec.styles import TEST_CANVAS, style_inputs, style_test_set
from digitrec.training import TrainConfig

VALIDATION_SEED = 31_337  # its own: neither training's seed nor the style test set's
AXES = ((1, 0), (-1, 0), (0, 1), (0, -1))
DIAGONALS = ((1, 1), (-1, -1), (-1, 1), (1, -1))
# The sets each figure is given for; every other style is summed into "other styles".
SHOWN = ("mnist", "mnist_pen_retraced", "mnist_pen_redrawn", "flag_one", "mnist_flag_one", "mnist_crossed_seven")


def shift(x: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """``x`` (n, 28, 28) moved ``dy`` pixels down and ``dx`` right, background coming in."""
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    size = x.shape[1]
    return padded[:, 1 - dy : 1 - dy + size, 1 - dx : 1 - dx + size]


def half(x: np.ndarray, dy: int, dx: int) -> np.ndarray:
    return (x + shift(x, dy, dx)) / 2


# Each candidate's views beside the input itself, as (how, down, right); a view two candidates share is run once.
CANDIDATES = {
    "one view": [],
    "one pixel, 4 ways": [("shift", *s) for s in AXES],
    "half a pixel, 4 ways": [("half", *s) for s in AXES],
    "one pixel, 4 diagonals": [("shift", *s) for s in DIAGONALS],
    "one pixel, 8 ways": [("shift", *s) for s in AXES + DIAGONALS],
}
MOVES = {"shift": shift, "half": half}


def sets(which: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{name: (inputs, labels)}``: MNIST digits as stored, then the handwriting styles drawn from them."""
    (x, y), (x_test, y_test) = load_mnist()
    if which == "test":
        styled = style_test_set(x_test, y_test)
        return {"mnist": (from_uint8(x_test), y_test), **styled}
    _, (x_val, y_val) = split_train_val(x, y, TrainConfig())
    styled = style_inputs(
        300,
        VALIDATION_SEED,
        TEST_CANVAS,
        marked=(x_val, y_val),
        per_mark=300,
        pen=(x_val, y_val),
        pen_count=3000,
        retraced=len(x_val),
        retrace_from=0,
    )
    return {"mnist": (from_uint8(x_val), y_val), **styled}


def errors(logits: np.ndarray, y: np.ndarray) -> int:
    return int((logits.argmax(1) != y).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", nargs="+", default=["validation", "test"], choices=["validation", "test"])
    args = parser.parse_args()

    alone = Recognizer.load(calibration=False, shifts=((0, 0),))
    shipped = Recognizer.load(calibration=False)
    results = {}
    for which in args.sets:
        start = time.time()
        data = sets(which)
        table = {name: {} for name in CANDIDATES}
        for set_name, (x, y) in data.items():
            logits = {("shift", 0, 0): alone.outputs(x).logits}
            for view in {v for views in CANDIDATES.values() for v in views}:
                how, dy, dx = view
                logits[view] = alone.outputs(MOVES[how](x, dy, dx)).logits
            for name, views in CANDIDATES.items():
                mean = np.mean([logits[v] for v in [("shift", 0, 0), *views]], 0)
                table[name][set_name] = errors(mean, y)
        table[f"shipped {shipped.shifts}"] = {n: errors(shipped.outputs(x).logits, y) for n, (x, y) in data.items()}
        sizes = {n: len(y) for n, (_, y) in data.items()}
        print(f"\n{which} set: errors ({time.time() - start:.0f} s)")
        print(f"{'views':42s}" + "".join(f"{n[:18]:>20s}" for n in SHOWN) + f"{'other styles':>14s}")
        for name, row in table.items():
            other = sum(v for n, v in row.items() if n not in SHOWN)
            print(f"{name:42s}" + "".join(f"{row[n]:>14d} of {sizes[n]:<4d}" for n in SHOWN) + f"{other:>14d}")
        results[which] = {"errors": table, "sizes": sizes}
    write_results("shifted_views", results)


if __name__ == "__main__":
    main()
