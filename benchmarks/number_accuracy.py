"""Whole-number accuracy: 4-digit numbers composed from real MNIST test digits.

    python -m benchmarks.number_accuracy [--numbers 1000] [--digits 4] [--seed 0] [--touching]

Digits are placed on a canvas with random sizes, vertical jitter and gaps from a
slight overlap to half a digit (``digitrec.render.render_number``), in the four colour
schemes, and read with ``Recognizer.predict_number``. ``--touching`` makes every digit
touch or slightly overlap its neighbours, the hardest case for segmentation.
"""

from __future__ import annotations

import argparse

import numpy as np

from benchmarks.common import write_results
from digitrec import Recognizer
from digitrec.data import load_mnist
from digitrec.render import render_number


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--numbers", type=int, default=1000)
    parser.add_argument("--digits", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--touching", action="store_true", help="gaps from a slight overlap to none")
    args = parser.parse_args()
    _, (x, y) = load_mnist()
    rec = Recognizer.load()
    rng = np.random.default_rng(args.seed)
    right = right_length = 0
    for _ in range(args.numbers):
        idx = rng.integers(0, len(x), args.digits)
        gaps = (-0.05, 0.0) if args.touching else (-0.05, 0.5)
        read = rec.predict_number(render_number(x[idx], rng, gaps=gaps))["number"]
        right += read == "".join(map(str, y[idx]))
        right_length += len(read) == args.digits
    result = {
        "numbers": args.numbers,
        "digits": args.digits,
        "touching": args.touching,
        "number_accuracy": right / args.numbers,
        "segment_count_correct": right_length / args.numbers,
    }
    print(
        f"{args.digits}-digit numbers read correctly: {right / args.numbers:.1%} "
        f"(right number of digits: {right_length / args.numbers:.1%})"
    )
    write_results(f"number_accuracy_seed{args.seed}{'_touching' if args.touching else ''}", result)


if __name__ == "__main__":
    main()
