"""Confidences that mean what they say, and an honest "not a digit".

``python -m digitrec.calibration [FOLDER]`` fits both for the model in ``FOLDER``
(default ``weights/``), writes ``calibration.npz`` beside it, and reports the figures.

* Temperature scaling (Guo et al., 2017): one temperature, fitted on the validation
  split by negative log-likelihood, divides the log-probabilities. Accuracy is unchanged.
* Not a digit: a softmax always answers with some digit. A small detector reads what
  the network computed on the way to its answer: the pooled activations after each stage,
  their Mahalanobis distance (Lee et al., 2018) to the nearest digit class, and the
  probabilities. It is trained with outlier exposure (Hendrycks et al., 2019): training
  digits as MNIST stores them and re-drawn on canvases in pencil and in pen against rendered
  letters, shapes, scribbles, speckles and pairs of digits squeezed into one box. The
  network itself is not changed. Fashion-MNIST, used to measure it, is never trained on.
  The threshold flags :data:`FLAG_RATE` of the validation digits.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digitrec.constants import NUM_CLASSES, PIXEL_MAX

FILE = "calibration.npz"
FLAG_RATE = 0.01  # share of validation digits allowed to be called "not a digit"
ECE_BINS = 15
TRAIN_PLAIN, TRAIN_CANVAS = 20_000, 10_000  # training digits used for the class statistics
VAL_CANVAS = 3_000  # validation digits re-drawn on canvases for the threshold
FIT_STYLES, VAL_STYLES = 150, 40  # renderings per handwriting style for the detector and for the threshold
FIT_SEED = 7  # canvases drawn for fitting differ from the evaluation's canvas set
# Non-digits the detector learns from: renderings per letter and per shape, and digit pairs.
FIT_LETTERS, FIT_SHAPES, FIT_PAIRS = 60, 250, 3_000
HEAD_UNITS, HEAD_EPOCHS = 32, 8  # one small hidden layer; more units or epochs did not flag more


def feature_model(model):
    """The model with extra outputs: pooled activations after each pooling stage and before the
    classifier (the "taps"), then the probabilities."""
    import keras
    from keras import layers

    taps = [layer.output for layer in model.layers if isinstance(layer, layers.MaxPooling2D)]
    taps.append(model.get_layer("probabilities").input)
    pooled = [
        layers.GlobalAveragePooling2D(name=f"novelty_tap_{i}")(t) if len(t.shape) == 4 else t
        for i, t in enumerate(taps)
    ]
    return keras.Model(model.input, [*pooled, model.output], name=f"{model.name}_with_taps")


@dataclass(frozen=True)
class Calibration:
    """Temperature and "not a digit" detector of one model; see the module docstring."""

    temperature: float
    means: tuple[np.ndarray, ...]  # per tap: (10, d) class means
    precisions: tuple[np.ndarray, ...]  # per tap: (d, d) inverse of the shared covariance
    score_mean: np.ndarray  # per distance signal (taps, then top probability): mean on validation digits
    score_std: np.ndarray
    threshold: float  # novelty above this is "not a digit"
    head: tuple[np.ndarray, ...] = ()  # the detector: input mean, input std, then weight and bias per layer

    def calibrate(self, probs: np.ndarray) -> np.ndarray:
        """Temperature-scaled probabilities, rows summing to 1."""
        return scale_temperature(probs, self.temperature)

    def novelty(self, taps: list[np.ndarray], probs: np.ndarray) -> np.ndarray:
        """One score per image; higher means less like any training digit."""
        signals = (_signals(taps, probs, self.means, self.precisions) - self.score_mean) / self.score_std
        if not self.head:  # a calibration without a detector: the distances alone
            return signals.sum(1)
        x = (_head_input(signals, taps, probs) - self.head[0]) / self.head[1]
        layers = self.head[2:]
        for i in range(0, len(layers), 2):
            x = x @ layers[i] + layers[i + 1]
            if i + 2 < len(layers):
                x = np.maximum(x, 0.0)
        return x[:, 0]

    def is_digit(self, taps: list[np.ndarray], probs: np.ndarray) -> np.ndarray:
        return self.novelty(taps, probs) <= self.threshold

    def save(self, folder: str | Path) -> Path:
        path = Path(folder) / FILE
        arrays = {f"mean_{i}": m for i, m in enumerate(self.means)}
        arrays.update({f"precision_{i}": p for i, p in enumerate(self.precisions)})
        arrays.update({f"head_{i}": h for i, h in enumerate(self.head)})
        np.savez_compressed(path, temperature=self.temperature, score_mean=self.score_mean,
                            score_std=self.score_std, threshold=self.threshold, **arrays)
        return path

    @classmethod
    def load(cls, folder: str | Path) -> "Calibration | None":
        """The calibration saved beside a model, or ``None`` when the folder has none."""
        path = Path(folder) / FILE
        if not path.is_file():
            return None
        with np.load(path, allow_pickle=False) as d:
            def numbered(prefix: str) -> tuple[np.ndarray, ...]:
                return tuple(d[f"{prefix}_{i}"] for i in range(sum(1 for k in d.files if k.startswith(prefix + "_"))))

            return cls(float(d["temperature"]), numbered("mean"), numbered("precision"), d["score_mean"],
                       d["score_std"], float(d["threshold"]), numbered("head"))


def scale_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    logits = np.log(np.clip(probs, 1e-30, None)) / temperature
    logits -= logits.max(-1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(-1, keepdims=True)


def fit_temperature(probs: np.ndarray, labels: np.ndarray) -> float:
    """The temperature that minimizes the negative log-likelihood of ``labels``."""
    grid = np.exp(np.linspace(np.log(0.25), np.log(8.0), 400))
    nll = [-np.log(scale_temperature(probs, t)[np.arange(len(labels)), labels] + 1e-30).mean() for t in grid]
    return float(grid[int(np.argmin(nll))])


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> float:
    """Gap between confidence and accuracy, averaged over equal-width confidence bins weighted by their size."""
    conf, correct = probs.max(1), probs.argmax(1) == labels
    which = np.minimum((conf * bins).astype(int), bins - 1)
    gap = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            gap += inside.mean() * abs(correct[inside].mean() - conf[inside].mean())
    return float(gap)


def _nearest_distance(x: np.ndarray, means: np.ndarray, precision: np.ndarray) -> np.ndarray:
    d = x[:, None, :] - means[None]
    return np.maximum(np.einsum("nci,nci->nc", d @ precision, d).min(1), 1e-12)


def _signals(taps, probs, means, precisions) -> np.ndarray:
    """(n, taps + 1): log distance to the nearest class per tap, and log(1 - top probability)."""
    signals = [np.log(_nearest_distance(t, mu, prec)) for t, mu, prec in zip(taps, means, precisions)]
    signals.append(np.log(np.clip(1.0 - probs.max(1), 1e-7, None)))
    return np.stack(signals, 1)


def _head_input(signals: np.ndarray, taps: list[np.ndarray], probs: np.ndarray) -> np.ndarray:
    return np.concatenate([signals, *taps, np.log(np.clip(probs, 1e-7, 1.0))], 1).astype(np.float32)


def _train_head(digits: np.ndarray, others: np.ndarray, seed: int = FIT_SEED) -> tuple[np.ndarray, ...]:
    """A one-hidden-layer detector, logit > 0 for ``others``; returned as plain arrays."""
    import keras

    x = np.concatenate([digits, others])
    y = np.concatenate([np.zeros(len(digits)), np.ones(len(others))]).astype(np.float32)
    mean, std = x.mean(0), x.std(0) + 1e-6
    keras.utils.set_random_seed(seed)
    head = keras.Sequential([keras.Input((x.shape[1],)), keras.layers.Dense(HEAD_UNITS, activation="relu"),
                             keras.layers.Dense(1)])
    head.compile(keras.optimizers.Adam(1e-3), keras.losses.BinaryCrossentropy(from_logits=True))
    # Weighted so both kinds count equally, however many of each there are.
    head.fit((x - mean) / std, y, epochs=HEAD_EPOCHS, batch_size=256, verbose=0,
             class_weight={0: 1.0, 1: len(digits) / len(others)})
    return (mean, std, *(w.astype(np.float32) for w in head.get_weights()))


def _class_gaussian(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    means = np.stack([x[y == c].mean(0) for c in range(NUM_CLASSES)])
    centred = x - means[y]
    cov = centred.T @ centred / len(x)
    cov += 1e-4 * np.trace(cov) / len(cov) * np.eye(len(cov))  # a little shrinkage keeps it invertible
    return means, np.linalg.inv(cov)


def fit(run, train: tuple[np.ndarray, np.ndarray], val: tuple[np.ndarray, np.ndarray],
        val_novelty: np.ndarray, others: np.ndarray) -> Calibration:
    """Fit a :class:`Calibration`.

    Args:
        run: ``run(inputs) -> (taps, probs)`` for a float batch of normalized images.
        train: normalized training digits and labels, for the class statistics and the detector.
        val: normalized validation digits and labels, for the temperature.
        val_novelty: normalized validation digits (plain and drawn) that set the threshold.
        others: normalized non-digits the detector learns to flag.
    """
    taps, probs = run(train[0])
    stats = [_class_gaussian(t.astype(np.float64), train[1]) for t in taps]
    means, precisions = tuple(m for m, _ in stats), tuple(p for _, p in stats)
    _, val_probs = run(val[0])
    temperature = fit_temperature(val_probs, val[1])
    val_taps, val_probs = run(val_novelty)
    signals = _signals(val_taps, val_probs, means, precisions)
    score_mean, score_std = signals.mean(0), signals.std(0) + 1e-9

    def head_input(taps, probs):
        return _head_input((_signals(taps, probs, means, precisions) - score_mean) / score_std, taps, probs)

    head = _train_head(head_input(taps, probs), head_input(*run(others)))
    partial = Calibration(temperature, means, precisions, score_mean, score_std, np.inf, head)
    threshold = float(np.quantile(partial.novelty(val_taps, val_probs), 1 - FLAG_RATE))
    return Calibration(temperature, means, precisions, score_mean, score_std, threshold, head)


def fit_for_folder(folder: str | Path) -> Calibration:
    """Fit the calibration of the model in ``folder`` on MNIST's training split and save it there."""
    from digitrec.data import load_mnist
    from digitrec.evaluate import canvas_inputs
    from digitrec.inference import Recognizer
    from digitrec.render import render_number
    from digitrec.training import TrainConfig, split_train_val

    rec = Recognizer.load(folder, calibrated=False)
    saved = rec.info.get("config", {})
    cfg = TrainConfig(seed=saved.get("seed", TrainConfig.seed), val_size=saved.get("val_size", TrainConfig.val_size))
    (x, y), _ = load_mnist()
    (x_train, y_train), (x_val, y_val) = split_train_val(x, y, cfg)  # the split training used
    plain = x_train[:TRAIN_PLAIN].astype(np.float32) / PIXEL_MAX
    # Half the re-drawn digits in pencil (MNIST's own texture), half in a drawing app's solid pen.
    half = TRAIN_CANVAS // 2
    canvas_digits = x_train[TRAIN_PLAIN : TRAIN_PLAIN + TRAIN_CANVAS]
    drawn = np.concatenate([canvas_inputs(canvas_digits[:half], seed=FIT_SEED)[0],
                            canvas_inputs(canvas_digits[half:], seed=FIT_SEED + 2, pen=True)[0]])
    # Handwriting styles MNIST lacks are digits too: from the training split for the detector,
    # from the validation split for the threshold (digitrec.styles; the test set uses neither).
    styled, styled_y = _style_digits(x_train[TRAIN_PLAIN + TRAIN_CANVAS :], y_train[TRAIN_PLAIN + TRAIN_CANVAS :],
                                     FIT_STYLES, FIT_SEED + 4)
    drawn = np.concatenate([drawn, styled])
    drawn_y = np.concatenate([y_train[TRAIN_PLAIN : TRAIN_PLAIN + TRAIN_CANVAS], styled_y])
    val_plain = x_val.astype(np.float32) / PIXEL_MAX
    val_drawn = np.concatenate([canvas_inputs(x_val[: VAL_CANVAS // 2], seed=FIT_SEED + 1)[0],
                                canvas_inputs(x_val[VAL_CANVAS // 2 : VAL_CANVAS], seed=FIT_SEED + 3, pen=True)[0],
                                _style_digits(x_val[VAL_CANVAS:], y_val[VAL_CANVAS:], VAL_STYLES, FIT_SEED + 5)[0]])
    # Pairs of training digits squeezed into one box: not one digit (what a missed cut between
    # two touching digits looks like). Digits the statistics do not use.
    rng = np.random.default_rng(FIT_SEED)
    spare = x_train[TRAIN_PLAIN + TRAIN_CANVAS :]
    pairs = [render_number(spare[2 * i : 2 * i + 2], rng) for i in range(FIT_PAIRS)]
    others = non_digit_inputs(FIT_SEED, per_letter=FIT_LETTERS, per_shape=FIT_SHAPES, fashion=False)
    calibration = fit(
        rec.run,
        (np.concatenate([plain, drawn]), np.concatenate([y_train[:TRAIN_PLAIN], drawn_y])),
        (val_plain, y_val),
        np.concatenate([val_plain[:VAL_CANVAS], val_drawn]),
        np.concatenate([*others.values(), _normalized(pairs)]),
    )
    calibration.save(folder)
    return calibration


def _style_digits(x: np.ndarray, y: np.ndarray, per_style: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from digitrec.styles import style_inputs

    sets = style_inputs(per_style, seed, marked=(x, y), per_mark=3 * per_style, pen=(x, y), pen_count=10 * per_style)
    return np.concatenate([v[0] for v in sets.values()]), np.concatenate([v[1] for v in sets.values()])


def _normalized(images) -> np.ndarray:
    """Model inputs for the images that preprocessing accepts (blank ones are refused before
    the model, which is the right answer for them too)."""
    from digitrec.preprocess import PreprocessError, normalize

    out = []
    for img in images:
        try:
            out.append(normalize(img))
        except PreprocessError:
            pass
    return np.stack(out)


def non_digit_inputs(seed: int = 0, per_letter: int = 4, per_shape: int = 20, fashion: bool = True) -> dict[str, np.ndarray]:
    """Normalized model inputs that are not digits: Fashion-MNIST test images (when Debian's
    ``dataset-fashion-mnist`` is installed and ``fashion``), letters and shapes rendered on canvases."""
    from digitrec.data import load_fashion_mnist_test
    from digitrec.render import DIGIT_LIKE_LETTERS, SHAPES, render_letters, render_shape

    rng = np.random.default_rng(seed)
    letters = [img for letter, img in render_letters(rng, per_letter=per_letter) if letter not in DIGIT_LIKE_LETTERS]
    sets = {
        "letters": _normalized(letters),
        "shapes": _normalized(render_shape(kind, rng) for kind in SHAPES for _ in range(per_shape)),
    }
    clothes = load_fashion_mnist_test() if fashion else None
    if clothes is not None:
        sets = {"fashion_mnist": _normalized(clothes), **sets}
    return sets


def report(folder: str | Path) -> dict:
    """ECE before and after scaling on MNIST test, and the share flagged "not a digit" on each set."""
    from digitrec.data import load_mnist
    from digitrec.evaluate import canvas_inputs, style_set_inputs
    from digitrec.inference import Recognizer

    rec = Recognizer.load(folder)
    _, (x_test, y_test) = load_mnist()
    test = x_test.astype(np.float32) / PIXEL_MAX
    taps, raw = rec.run(test)
    calibrated = rec.calibration.calibrate(raw)
    figures = {
        "temperature": round(rec.calibration.temperature, 4),
        "ece_mnist_test_before": expected_calibration_error(raw, y_test),
        "ece_mnist_test": expected_calibration_error(calibrated, y_test),
        "flagged": {"mnist_test": float((~rec.calibration.is_digit(taps, raw)).mean())},
    }
    canvas, _ = canvas_inputs(x_test)
    pen, _ = canvas_inputs(x_test[:2000], pen=True)
    styled, styled_y = style_set_inputs(x_test, y_test)
    for name, inputs, labels in (("canvas_set", canvas, y_test), ("style_set", styled, styled_y)):
        figures[f"ece_{name}"] = expected_calibration_error(rec.calibration.calibrate(rec.run(inputs)[1]), labels)
    sets = {"canvas_set": canvas, "canvas_set_pen": pen, "style_set": styled, **non_digit_inputs()}
    for name, inputs in sets.items():
        figures["flagged"][name] = float((~rec.calibration.is_digit(*rec.run(inputs))).mean())
        figures.setdefault("set_sizes", {})[name] = int(len(inputs))
    return figures


def main(argv: list[str] | None = None) -> None:
    from digitrec import card
    from digitrec.evaluate import print_calibration
    from digitrec.inference import BUNDLED_WEIGHTS

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", default=str(BUNDLED_WEIGHTS), help="model folder (default: weights/)")
    args = parser.parse_args(argv)
    folder = Path(args.folder)
    calibration = fit_for_folder(folder)
    print(f"temperature {calibration.temperature:.3f}; novelty threshold {calibration.threshold:.3f}")
    figures = report(folder)
    print_calibration(figures)
    metrics_path = folder / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    metrics["calibration"] = figures
    metrics_path.write_text(json.dumps(metrics, indent=2))
    card.write_model_card(folder)
    print(f"wrote {FILE}, metrics.json and the model card in {folder}")


if __name__ == "__main__":
    main()
