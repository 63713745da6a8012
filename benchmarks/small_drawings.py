"""Small drawings on the app's Sketchpad, by brush size: real pen digits of the test writers (UNIPEN) drawn
at a fraction of the 400 px canvas, with the default 20 px brush and the thinner ones a visitor can pick
with the Sketchpad's "Brush Size" button, read by the shipped weights.

    python -m benchmarks.small_drawings [--brushes 20 12 8 5]

A small digit drawn with a thick brush closes its loops: a small 3 reads as an 8. Each row is every test
writer's digit drawn once at that size, on the app's canvas (black on white), upright or turned a little
as people draw.
"""

from __future__ import annotations

import argparse

import numpy as np

from benchmarks.common import write_results
from digitrec.constants import CLASS_NAMES
from digitrec.errors import PreprocessError
from digitrec.inference import Recognizer
from digitrec.preprocess import normalize
from digitrec.unipen import draw, rows

SIZES = {"small (15-25% of the canvas)": (0.15, 0.25), "medium (35-50%)": (0.35, 0.5), "large (60-85%)": (0.6, 0.85)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--brushes", type=int, nargs="+", default=[20, 12, 8, 5], help="brush sizes in px")
    args = parser.parse_args()
    rec, samples = Recognizer.load(), rows("digits", "test")
    labels = np.array([CLASS_NAMES.index(r["label"]) for r in samples])
    results = {}
    for size, height in SIZES.items():
        for brush in args.brushes:
            rng = np.random.default_rng(7)
            inputs, keep = [], []
            for i, row in enumerate(samples):
                try:
                    inputs.append(normalize(draw(row["strokes"], rng, app=True, height=height, brush=brush)))
                    keep.append(i)
                except PreprocessError:
                    continue
            probs, is_digit = rec.verdicts(np.stack(inputs))
            right = probs.argmax(1) == labels[keep]
            results[f"{size}, brush {brush} px"] = {
                "accuracy": float(right.sum() / len(samples)),  # a refused drawing counts as wrong
                "flagged": float((~is_digit).mean()),
                "refused": len(samples) - len(keep),
            }
            r = results[f"{size}, brush {brush} px"]
            print(f"{size:30s} brush {brush:2d} px: {r['accuracy']:.2%} read right, {r['flagged']:.2%} flagged")
    write_results("small_drawings", {"digits": len(samples), "results": results})


if __name__ == "__main__":
    main()
