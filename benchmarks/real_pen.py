"""Real pen handwriting of the test writers (UNIPEN), read by one or more model folders side by side.

    python -m benchmarks.real_pen FOLDER [FOLDER ...]

The same drawings ``python -m digitrec.evaluate`` measures (``digitrec.evaluate.real_pen_figures``):
accuracy overall and per institution, the share called "not a digit", the test writers' letters and
symbols flagged, and the misreadings that occur most, for each folder (for example the shipped
weights beside an earlier revision's, checked out into a folder).
"""

from __future__ import annotations

import argparse
from collections import Counter

from benchmarks.common import write_results
from digitrec.evaluate import real_letters_flagged, real_pen_figures
from digitrec.inference import Recognizer


def measure(folder: str) -> dict:
    rec = Recognizer.load(folder)
    figures, (probs, is_digit, labels) = real_pen_figures(rec)
    predicted = probs.argmax(1)
    errors = Counter(f"{t} read as {p}" for t, p in zip(labels, predicted, strict=True) if t != p)
    return {
        **figures,
        "flagged": float((~is_digit).mean()),
        "letters_flagged": float((~real_letters_flagged(rec)).mean()),
        "most_common_errors": dict(errors.most_common(8)),
        "confident_errors": int(((predicted != labels) & (probs.max(1) >= 0.99)).sum()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", help="model folders")
    args = parser.parse_args()
    results = {}
    for folder in args.folders:
        results[folder] = r = measure(folder)
        low = min(r["by_source"].items(), key=lambda kv: kv[1])
        print(
            f"{folder}: {r['accuracy']:.2%} of {r['drawings']:,} drawings ({r['writers']} writers), lowest "
            f"{low[0]} {low[1]:.2%}; flagged {r['flagged']:.2%}; letters flagged {r['letters_flagged']:.2%}; "
            f"errors {r['most_common_errors']}"
        )
    write_results("real_pen", {"folders": results})


if __name__ == "__main__":
    main()
