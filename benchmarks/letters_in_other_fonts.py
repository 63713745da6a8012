"""How many letters the "not a digit" check flags when they are written in fonts it never saw.

    python -m benchmarks.letters_in_other_fonts [--per-letter 3]

The detector is trained on letters in Pillow's bundled font. This renders the letters
that look like no digit (``digitrec.render.DIGIT_LIKE_LETTERS`` are left out) in every
TrueType font installed under /usr/share/fonts (on Debian: fonts-dejavu-core,
fonts-liberation) and reports the share flagged per font, with the letters that passed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from benchmarks.common import write_results
from digitrec import Recognizer
from digitrec.nondigits import DIGIT_LIKE_LETTERS, render_letters
from digitrec.preprocess import normalize

FONTS = Path("/usr/share/fonts")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-letter", type=int, default=3)
    args = parser.parse_args()
    fonts = sorted(FONTS.rglob("*.ttf"))
    if not fonts:
        sys.exit(f"no TrueType fonts under {FONTS}: apt-get install fonts-dejavu-core fonts-liberation")
    rec = Recognizer.load()
    results = {}
    for font in fonts:
        letters = [
            (name, img)
            for name, img in render_letters(np.random.default_rng(0), args.per_letter, font=font)
            if name not in DIGIT_LIKE_LETTERS
        ]
        flagged = ~rec.verdicts(np.stack([normalize(img) for _, img in letters]))[1]
        missed = sorted({name for (name, _), f in zip(letters, flagged, strict=True) if not f})
        results[font.stem] = {"flagged": round(float(flagged.mean()), 4), "letters": len(letters), "passed": missed}
        print(f"{font.stem:36s} {flagged.mean():7.1%} of {len(letters)}   passed as digits: {' '.join(missed)}")
    shares = [r["flagged"] for r in results.values()]
    print(f"median over {len(shares)} fonts: {np.median(shares):.1%} (lowest {min(shares):.1%})")
    write_results(
        "letters_in_other_fonts",
        {"median_flagged": float(np.median(shares)), "lowest_flagged": min(shares), "fonts": results},
    )


if __name__ == "__main__":
    main()
