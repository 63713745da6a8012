"""Photos of digits on paper, lit ever more unevenly or lying on a table, read now and at another revision.

    python -m benchmarks.photo_lighting [REV] [--digits 400]

Photographs ``--digits`` MNIST test digits (from the 2,000th on: the photo set of
``python -m digitrec.evaluate`` uses the first 2,000) with :func:`digitrec.render.render_photo`
at light gradients of up to 60 (the photo set's), 120 and 160 greys across the page, and at
60 greys with the sheet lying on a darker table: square to the photo, turned by up to 15°
either way, photographed at a slant (its far edge up to 24% shorter), both, and both with the
sheet running off the photo's bottom edge. Each photo is read with the shipped weights through
the current ``normalize`` and through ``digitrec/preprocess.py`` as it was at ``REV`` (default
``76cad19``, before a border split by light, not by ink, was read as paper, and before a sheet on
a table was found).
A photo preprocessing refuses counts as wrong.
"""

from __future__ import annotations

import argparse

import numpy as np

from benchmarks.common import load_revision, write_results
from digitrec import Recognizer, preprocess
from digitrec.constants import IMAGE_SIZE
from digitrec.data import load_mnist
from digitrec.render import render_photo

CASES = {  # render_photo's gradient (greys), table, tilt (degrees), slant (of the width, at each end), off_edge
    "gradient_60": (60, False, 0, 0, False),
    "gradient_120": (120, False, 0, 0, False),
    "gradient_160": (160, False, 0, 0, False),
    "on_a_table": (60, True, 0, 0, False),
    "on_a_table_turned": (60, True, 15, 0, False),
    "on_a_table_at_a_slant": (60, True, 0, 0.12, False),
    "turned_and_at_a_slant": (60, True, 15, 0.12, False),
    "running_off_the_photo": (60, True, 15, 0.12, True),
}
FIRST = 2_000  # the evaluation's photo set reads the test digits before this one
SEED = 21


def accuracy(module, photos: list[bytes], labels: np.ndarray, rec: Recognizer) -> tuple[float, int]:
    """Share read right through ``module.normalize``, and how many it refused."""
    inputs, refused = [], 0
    for photo in photos:
        try:
            inputs.append(module.normalize(photo))
        except module.PreprocessError:
            inputs.append(np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.float32))
            refused += 1
    return float((rec.probabilities(np.stack(inputs)).argmax(1) == labels).mean()), refused


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rev", nargs="?", default="76cad19")
    parser.add_argument("--digits", type=int, default=400)
    args = parser.parse_args()
    before = load_revision(args.rev)
    rec = Recognizer.load()
    _, (x_test, y_test) = load_mnist()
    digits, labels = x_test[FIRST : FIRST + args.digits], y_test[FIRST : FIRST + args.digits]
    results = {}
    for case, (gradient, table, tilt, slant, off_edge) in CASES.items():
        rng = np.random.default_rng(SEED)
        photos = [render_photo(d, rng, gradient, table, tilt, slant, off_edge) for d in digits]
        row = {}
        for name, module in (("current", preprocess), (args.rev, before)):
            acc, refused = accuracy(module, photos, labels, rec)
            row[name] = {"accuracy": round(acc, 4), "refused": refused}
        results[case] = row
        print(
            f"{case:21s}: current {row['current']['accuracy']:.2%} "
            f"({row['current']['refused']} refused), {args.rev} {row[args.rev]['accuracy']:.2%} "
            f"({row[args.rev]['refused']} refused)"
        )
    write_results("photo_lighting", {"digits": args.digits, **results})


if __name__ == "__main__":
    main()
