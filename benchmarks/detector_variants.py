"""Which data should the "not a digit" detector learn from?

    python -m benchmarks.detector_variants [FOLDER]

Fits the calibration of the network in FOLDER (default ``weights/``) as :func:`digitrec.fitting.fit_for`
does, once for each variant in :data:`VARIANTS` (the rest of its data the same), and measures how often
each calls "not a digit": the validation writers' real digits (drawn three times each) and their letters
and symbols, and the evaluation's non-digits (Fashion-MNIST, letters in a font, shapes, letters written by
hand). The test writers are not read: this picks a setting, and they are only ever measured. Writes
``benchmarks/results/detector_variants.json``.
"""

from __future__ import annotations

import argparse
import hashlib

import numpy as np

from benchmarks.common import write_results
from digitrec.evalsets import non_digit_inputs
from digitrec.fitting import (
    FIT_OBJECTS,
    FIT_REAL_PEN,
    FIT_SEED,
    REAL_LETTERS_SHARE,
    fit,
    fit_sets,
    object_inputs,
    subsample,
)
from digitrec.inference import Recognizer
from digitrec.unipen import inputs as pen_inputs
from digitrec.unipen import rows as pen_rows
from digitrec.weights import WEIGHTS

# Each variant changes what digitrec.fitting feeds the detector:
#   letters_share: share of the training writers' letters and symbols among its non-digits;
#   more_real_pen: drawings of each training writer's digit added to its digits (fitting draws FIT_REAL_PEN);
#   more_objects: photographed objects of each kind added to its non-digits (fitting draws FIT_OBJECTS).
VARIANTS = {
    "as fitted": {},
    "more real pen": {"more_real_pen": 2},
    "more objects": {"more_objects": 1_500},
    "more real pen and objects": {"more_real_pen": 2, "more_objects": 1_500},
}
SEED = 99  # the validation writers' drawings and the added data: neither fitting's seeds nor the evaluation's


def remembered(run):
    """``run`` that reads each batch once: every variant's fit sends the same validation digits through the
    network, and only the data the variant changes is new."""
    seen = {}

    def run_once(inputs: np.ndarray):
        key = hashlib.sha256(np.ascontiguousarray(inputs).tobytes()).hexdigest()
        if key not in seen:
            seen[key] = run(inputs)
        return seen[key]

    return run_once


def variant_data(train, others, variant: dict):
    """The detector's digits (with labels) and non-digits for one variant of :data:`VARIANTS`."""
    digits, labels = train
    more_pen = variant.get("more_real_pen", 0)
    if more_pen:
        extra, extra_y = pen_inputs(pen_rows("digits", "train"), more_pen, SEED + 2)
        digits, labels = np.concatenate([digits, extra]), np.concatenate([labels, extra_y])
    letters = subsample(others["real_letters"], variant.get("letters_share", REAL_LETTERS_SHARE))
    kept = {**others, "real_letters": letters}
    more_objects = variant.get("more_objects", 0)
    if more_objects:
        kept["more_objects"] = object_inputs(more_objects, np.random.default_rng(SEED + 3))
    return (digits, labels), np.concatenate(list(kept.values()))


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
    run = remembered(rec.outputs)
    fitted = {"real_pen": FIT_REAL_PEN, "objects": FIT_OBJECTS, "letters_share": REAL_LETTERS_SHARE}
    results = {"folder_config": rec.info.get("config", {}), "fit_seed": FIT_SEED, "fitting": fitted, "variants": {}}
    for name, variant in VARIANTS.items():
        digits, non_digits = variant_data(train, others, variant)
        rec.calibration = fit(run, digits, val, val_novelty, non_digits)
        flagged = {kind: float((~rec.verdicts(inputs)[1]).mean()) for kind, inputs in measured.items()}
        results["variants"][name] = {
            **variant,
            "digits": len(digits[0]),
            "non_digits": len(non_digits),
            "flagged": flagged,
        }
        print(f"{name}: " + "  ".join(f"{k} {v:.2%}" for k, v in flagged.items()), flush=True)
    write_results("detector_variants", results)


if __name__ == "__main__":
    main()
