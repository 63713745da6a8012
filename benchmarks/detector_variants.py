"""How many real letters and symbols should the "not a digit" detector learn from?

    python -m benchmarks.detector_variants [FOLDER]

Fits the calibration of the network in FOLDER (default ``weights/``) as :func:`digitrec.fitting.fit_for`
does, once for each share of the training writers' letters and symbols in :data:`SHARES` (the rest of
its data the same), and measures how often each calls "not a digit": the validation writers' real
digits (drawn three times each) and their letters and symbols, and the evaluation's non-digits
(Fashion-MNIST, letters in a font, shapes, letters written by hand). The test writers are not read:
this picks a setting, and they are only ever measured. Writes ``benchmarks/results/detector_variants.json``.
"""

from __future__ import annotations

import argparse
import hashlib

import numpy as np

from benchmarks.common import write_results
from digitrec.evalsets import non_digit_inputs
from digitrec.fitting import fit, fit_sets, subsample
from digitrec.inference import Recognizer
from digitrec.unipen import inputs as pen_inputs
from digitrec.unipen import rows as pen_rows
from digitrec.weights import WEIGHTS

SHARES = (1.0, 0.5, 0.25)  # of the training writers' letters and symbols among the detector's non-digits
SEED = 99  # the validation writers' drawings: neither fitting's seeds nor the evaluation's


def remembered(run):
    """``run`` that reads each batch once: every share's fit sends the same digits through the network,
    and only the non-digits change."""
    seen = {}

    def run_once(inputs: np.ndarray):
        key = hashlib.sha256(np.ascontiguousarray(inputs).tobytes()).hexdigest()
        if key not in seen:
            seen[key] = run(inputs)
        return seen[key]

    return run_once


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", default=str(WEIGHTS), help="model folder (default: weights/)")
    args = parser.parse_args()
    rec = Recognizer.load(args.folder, calibration=False, backend="keras")
    train, val, val_novelty, others = fit_sets(rec, letters_share=1.0)
    measured = {
        "val_writers_digits": pen_inputs(pen_rows("digits", "val"), 3, SEED)[0],
        "val_writers_letters": pen_inputs(pen_rows("characters", "val"), 1, SEED + 1)[0],
        **non_digit_inputs(),
    }
    letters = others["real_letters"]
    run = remembered(rec.outputs)
    results = {"folder_config": rec.info.get("config", {}), "real_letters_fitted": len(letters), "variants": {}}
    for share in SHARES:
        kept = subsample(letters, share)  # as fit_sets keeps them, in the same place among the non-digits
        non_digits = np.concatenate(list({**others, "real_letters": kept}.values()))
        rec.calibration = fit(run, train, val, val_novelty, non_digits)
        flagged = {name: float((~rec.verdicts(inputs)[1]).mean()) for name, inputs in measured.items()}
        results["variants"][str(share)] = {"real_letters": len(kept), "flagged": flagged}
        print(f"share {share}: " + "  ".join(f"{k} {v:.2%}" for k, v in flagged.items()), flush=True)
    write_results("detector_variants", results)


if __name__ == "__main__":
    main()
