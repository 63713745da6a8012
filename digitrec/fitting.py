"""Fitting a model's calibration: ``python -m digitrec.fitting [FOLDER]`` writes ``calibration.npz``.

* The temperature minimizes the negative log-likelihood of the validation split.
* The "not a digit" detector (:class:`digitrec.calibration.Calibration`) is trained with
  outlier exposure (Hendrycks et al., 2019): training digits as MNIST stores them,
  re-drawn on canvases in pencil and in pen, in the handwriting styles of
  :mod:`digitrec.styles` and photographed on paper, against rendered letters, shapes
  (photographed objects most of all), scribbles, speckles and pairs of digits squeezed into
  one box. The network itself is not changed. Fashion-MNIST, used to measure it, is never
  trained on. The detector is the average of :data:`HEAD_SEEDS` small networks. The threshold
  flags at most :data:`FLAG_RATE` of each kind of validation digit (as MNIST stores them, in
  pencil, in pen, styled, photographed): a threshold set on their mixture would let the kind
  the detector likes least go over it.

``python -m digitrec.evaluate`` runs this and then measures the result.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from digitrec.calibration import Calibration, fit_temperature, head_input, novelty_signals, softmax
from digitrec.constants import NOT_A_DIGIT, NUM_CLASSES
from digitrec.corrections import load_corrections, screen_corrections, split_corrections
from digitrec.data import load_mnist
from digitrec.evalsets import canvas_inputs, non_digit_inputs, normalized, photo_inputs, style_inputs_of
from digitrec.inference import Recognizer
from digitrec.mixing import split_train_val
from digitrec.nondigits import render_shape
from digitrec.preprocess import from_uint8
from digitrec.render import render_number
from digitrec.styles import TEMPLATES, THIN_PEN, render_template
from digitrec.training import TrainConfig
from digitrec.unipen import inputs as pen_inputs
from digitrec.unipen import rows as pen_rows
from digitrec.weights import WEIGHTS

# Share of each kind of validation digit allowed to be called "not a digit". Validation digits
# come from the training writers; MNIST's test writers are new ones and are flagged more: 0.7%
# here holds the test sets (and a visitor's digits) under 1% (benchmarks/README.md).
FLAG_RATE = 0.007
TRAIN_PLAIN, TRAIN_CANVAS = 20_000, 10_000  # training digits used for the class statistics
# Every validation digit is re-drawn in pencil, in pen and photographed for the threshold: the tail
# it cuts off is then 42 images of each kind, not 7-10, and moves less from fit to fit.
VAL_STYLED_FROM = 3_000  # handwriting styles are drawn on the validation digits from here on
FIT_STYLES, VAL_STYLES = 150, 40  # renderings per handwriting style for the detector and for the threshold
# Renderings per pen template drawn with a thin pen (a 12 px brush on a 500 px canvas): letters
# written by hand are drawn like them, and without them thin, straight ones were flagged.
FIT_THIN = 150
FIT_PHOTOS = 2_000  # digits photographed on paper, for the detector
# Real pen handwriting (digitrec.unipen): each training writer's digit drawn this many times for the
# detector, and the training writers' letters and symbols (those no hand makes like a digit), each drawn
# once, among the non-digits. The validation writers' digits do not set the threshold: as a kind of their
# own they raised it until almost no letter was flagged (benchmarks/README.md, "Real pen handwriting").
# Four drawings of each digit, not two, flagged a quarter fewer of the validation writers' digits
# (benchmarks.detector_variants).
FIT_REAL_PEN, FIT_REAL_LETTERS = 4, 1
# The share of those letters and symbols the detector learns from: all 18,570 were 54% of its non-digits,
# and Fashion-MNIST passed more often (benchmarks/README.md, "Real pen handwriting"); half of them are 37%
# (benchmarks.detector_variants measures the shares).
REAL_LETTERS_SHARE = 0.5
FIT_SEED = 7  # canvases drawn for fitting differ from the evaluation's canvas set
# Non-digits the detector learns from: renderings per letter in a font, per shape, per letter
# written by hand in pen (the most like a drawn digit, so more of them), and digit pairs.
FIT_LETTERS, FIT_SHAPES, FIT_HAND_LETTERS, FIT_PAIRS = 60, 250, 120, 3_000
# Photographed objects (filled, unevenly lit outlines) are the non-digits most like a fat digit:
# this many more of each kind of them (3,000 rather than 1,500 flagged more of Fashion-MNIST and of the
# validation writers' letters: benchmarks.detector_variants).
OBJECT_SHAPES, FIT_OBJECTS = ("textured_blob", "silhouette"), 3_000
# One small hidden layer. With letters written by hand among the non-digits, 64 units and 12
# epochs flagged more Fashion-MNIST than 32 and 8 (benchmarks/README.md).
HEAD_UNITS, HEAD_EPOCHS = 64, 12
# Detectors trained from these seeds are averaged: one alone flagged from 96.3% to 98.4% of
# Fashion-MNIST depending on its seed (benchmarks/README.md, "Ink features for the detector").
HEAD_SEEDS = (FIT_SEED, FIT_SEED + 1, FIT_SEED + 2, FIT_SEED + 3, FIT_SEED + 4)


def _train_head(digits: np.ndarray, others: np.ndarray, seed: int = FIT_SEED) -> tuple[np.ndarray, ...]:
    """A one-hidden-layer detector, logit > 0 for ``others``; returned as plain arrays."""
    import keras  # heavy: only fitting trains the detector

    x = np.concatenate([digits, others])
    y = np.concatenate([np.zeros(len(digits)), np.ones(len(others))]).astype(np.float32)
    mean, std = x.mean(0), x.std(0) + 1e-6
    keras.utils.set_random_seed(seed)
    head = keras.Sequential(
        [keras.Input((x.shape[1],)), keras.layers.Dense(HEAD_UNITS, activation="relu"), keras.layers.Dense(1)]
    )
    head.compile(keras.optimizers.Adam(1e-3), keras.losses.BinaryCrossentropy(from_logits=True))
    # Weighted so both kinds count equally, however many of each there are.
    head.fit(
        (x - mean) / std,
        y,
        epochs=HEAD_EPOCHS,
        batch_size=256,
        verbose=0,
        class_weight={0: 1.0, 1: len(digits) / len(others)},
    )
    return (mean, std, *(w.astype(np.float32) for w in head.get_weights()))


def _average_heads(heads: list[tuple[np.ndarray, ...]]) -> tuple[np.ndarray, ...]:
    """One head whose logit is the mean of ``heads``' logits: their hidden layers side by side.
    Heads from :func:`_train_head` on the same data share the input mean and std."""
    mean, std = heads[0][0], heads[0][1]
    hidden_w = np.concatenate([h[2] for h in heads], 1)
    hidden_b = np.concatenate([h[3] for h in heads])
    out_w = np.concatenate([h[4] for h in heads], 0) / len(heads)
    out_b = np.mean([h[5] for h in heads], 0)
    return mean, std, hidden_w, hidden_b, out_w.astype(np.float32), out_b.astype(np.float32)


def _class_gaussian(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    means = np.stack([x[y == c].mean(0) for c in range(NUM_CLASSES)])
    centred = x - means[y]
    cov = centred.T @ centred / len(x)
    cov += 1e-4 * np.trace(cov) / len(cov) * np.eye(len(cov))  # a little shrinkage keeps it invertible
    return means, np.linalg.inv(cov)


def fit(
    run,
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    val_novelty: dict[str, np.ndarray],
    others: np.ndarray,
) -> Calibration:
    """Fit a :class:`Calibration`.

    Args:
        run: ``run(inputs) -> Outputs(taps, logits, own)`` for a float batch of normalized images, as
            :meth:`digitrec.inference.Recognizer.outputs`: the temperature is fitted on the served logits,
            the detector on the taps and own logits it reads.
        train: normalized training digits and labels, for the class statistics and the detector.
        val: normalized validation digits and labels, for the temperature.
        val_novelty: normalized validation digits of each kind (plain, drawn, styled); the
            threshold flags at most :data:`FLAG_RATE` of every kind.
        others: normalized non-digits the detector learns to flag.
    """
    taps, _, own = run(train[0])
    probs = softmax(own)
    stats = [_class_gaussian(t.astype(np.float64), train[1]) for t in taps]
    means, precisions = tuple(m for m, _ in stats), tuple(p for _, p in stats)
    temperature = fit_temperature(run(val[0]).logits, val[1])
    kinds = np.repeat(np.arange(len(val_novelty)), [len(v) for v in val_novelty.values()])
    val_taps, _, val_own = run(np.concatenate(list(val_novelty.values())))
    val_probs = softmax(val_own)
    signals = novelty_signals(val_taps, val_probs, means, precisions)
    score_mean, score_std = signals.mean(0), signals.std(0) + 1e-9

    def detector_input(taps, probs):
        return head_input((novelty_signals(taps, probs, means, precisions) - score_mean) / score_std, taps, probs)

    other_taps, _, other_own = run(others)
    digit_inputs, other_inputs = detector_input(taps, probs), detector_input(other_taps, softmax(other_own))
    head = _average_heads([_train_head(digit_inputs, other_inputs, seed) for seed in HEAD_SEEDS])
    partial = Calibration(temperature, means, precisions, score_mean, score_std, np.inf, head)
    novelty = partial.novelty(val_taps, val_probs)
    threshold = max(float(np.quantile(novelty[kinds == k], 1 - FLAG_RATE)) for k in range(len(val_novelty)))
    return Calibration(temperature, means, precisions, score_mean, score_std, threshold, head)


def fit_for(rec: Recognizer) -> Calibration:
    """Fit the calibration of ``rec``'s model on MNIST's training split (the split its training used)."""
    train, val, val_novelty, others = fit_sets(rec)
    return fit(rec.outputs, train, val, val_novelty, np.concatenate(list(others.values())))


def object_inputs(per_kind: int, rng: np.random.Generator) -> np.ndarray:
    """``per_kind`` photographed objects of each of :data:`OBJECT_SHAPES`, normalized."""
    return normalized(render_shape(kind, rng) for kind in OBJECT_SHAPES for _ in range(per_kind))


def subsample(x: np.ndarray, share: float, seed: int = FIT_SEED) -> np.ndarray:
    """``share`` of ``x``, drawn at random by ``seed``, in their order (all of ``x`` for 1)."""
    order = np.random.default_rng(seed).permutation(len(x))
    return x[np.sort(order[: round(share * len(x))])]


def fit_sets(
    rec: Recognizer, letters_share: float = REAL_LETTERS_SHARE
) -> tuple[tuple, tuple, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """What :func:`fit` takes for ``rec``'s model: its training digits and labels, validation digits and
    labels, validation digits by kind, and the non-digits by kind (``letters_share`` of the training
    writers' letters and symbols)."""
    saved = rec.info.get("config", {})
    cfg = TrainConfig(seed=saved.get("seed", TrainConfig.seed), val_size=saved.get("val_size", TrainConfig.val_size))
    (x, y), _ = load_mnist()
    (x_train, y_train), (x_val, y_val) = split_train_val(x, y, cfg)
    plain = from_uint8(x_train[:TRAIN_PLAIN])
    # Half the re-drawn digits in pencil (MNIST's own texture), half in a drawing app's solid pen.
    half = TRAIN_CANVAS // 2
    canvas_digits = x_train[TRAIN_PLAIN : TRAIN_PLAIN + TRAIN_CANVAS]
    spare_x, spare_y = x_train[TRAIN_PLAIN + TRAIN_CANVAS :], y_train[TRAIN_PLAIN + TRAIN_CANVAS :]
    # Handwriting styles MNIST lacks are digits too: from the training split for the detector,
    # from the validation split for the threshold (the style test set uses neither).
    styled, styled_y = style_inputs_of(spare_x, spare_y, FIT_STYLES, FIT_SEED + 4)
    thin_rng = np.random.default_rng(FIT_SEED + 8)
    thin = normalized(render_template(name, thin_rng, pen=THIN_PEN) for name in TEMPLATES for _ in range(FIT_THIN))
    thin_y = np.repeat([digit for digit, _ in TEMPLATES.values()], FIT_THIN).astype(np.uint8)
    real, real_y = pen_inputs(pen_rows("digits", "train"), FIT_REAL_PEN, FIT_SEED + 9)
    drawn = np.concatenate(
        [
            real,
            canvas_inputs(canvas_digits[:half], seed=FIT_SEED)[0],
            canvas_inputs(canvas_digits[half:], seed=FIT_SEED + 2, pen=True)[0],
            styled,
            photo_inputs(spare_x[-FIT_PHOTOS:], seed=FIT_SEED + 6),
            thin,
        ]
    )
    drawn_y = np.concatenate(
        [real_y, y_train[TRAIN_PLAIN : TRAIN_PLAIN + TRAIN_CANVAS], styled_y, spare_y[-FIT_PHOTOS:], thin_y]
    )
    val_plain = from_uint8(x_val)
    val_novelty = {
        "plain": val_plain,
        "pencil": canvas_inputs(x_val, seed=FIT_SEED + 1)[0],
        "pen": canvas_inputs(x_val, seed=FIT_SEED + 3, pen=True)[0],
        "styles": style_inputs_of(x_val[VAL_STYLED_FROM:], y_val[VAL_STYLED_FROM:], VAL_STYLES, FIT_SEED + 5)[0],
        "photos": photo_inputs(x_val, seed=FIT_SEED + 7),
    }
    # Pairs of training digits squeezed into one box: not one digit (what a missed cut between
    # two touching digits looks like). Digits the statistics do not use.
    rng = np.random.default_rng(FIT_SEED)
    pairs = [render_number(spare_x[2 * i : 2 * i + 2], rng) for i in range(FIT_PAIRS)]
    others = non_digit_inputs(
        FIT_SEED, per_letter=FIT_LETTERS, per_shape=FIT_SHAPES, fashion=False, per_hand_letter=FIT_HAND_LETTERS
    )
    letters = pen_inputs(pen_rows("characters", "train"), FIT_REAL_LETTERS, FIT_SEED + 11)[0]
    others["real_letters"] = subsample(letters, letters_share)
    others["objects"] = object_inputs(FIT_OBJECTS, rng)
    if saved.get("extra_data"):  # visitors' "not a digit" corrections (those training did not hold out)
        rows = load_corrections(saved["extra_data"])[0]
        probs = rec.probabilities(np.stack([r["x"] for r in rows]))
        per_origin, top = saved.get("extra_per_origin", TrainConfig.extra_per_origin), saved.get("extra_top", 3)
        fitted, _ = split_corrections(screen_corrections(rows, probs, per_origin, top)[0], saved.get("holdout", 0.2))
        rejected = [r["x"] for r in fitted if r["label"] == NOT_A_DIGIT]
        if rejected:
            others["corrections"] = np.stack(rejected)
    others["pairs"] = normalized(pairs)
    train = (np.concatenate([plain, drawn]), np.concatenate([y_train[:TRAIN_PLAIN], drawn_y]))
    return train, (val_plain, y_val), val_novelty, others


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", default=str(WEIGHTS), help="model folder (default: weights/)")
    args = parser.parse_args(argv)
    calibration = fit_for(Recognizer.load(args.folder, calibration=False))
    path = calibration.save(Path(args.folder))
    print(f"temperature {calibration.temperature:.3f}; novelty threshold {calibration.threshold:.3f}; wrote {path}")


if __name__ == "__main__":
    main()
