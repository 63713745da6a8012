"""Confidences that mean what they say, and an honest "not a digit": applied at run time.

A model folder's ``calibration.npz`` holds both, fitted by :mod:`digitrec.fitting`:

* a temperature (Guo et al., 2017) that divides the network's logits before the softmax,
  fitted on the validation split; accuracy is unchanged;
* a "not a digit" detector: a softmax always answers with some digit, so a small network
  reads what the model computed on the way to its answer (the pooled activations after
  each stage, their Mahalanobis distance to the nearest digit class (Lee et al., 2018),
  and the probabilities) and how the input's ink fills its box (:func:`ink_features`), and
  scores how unlike any training digit the input is. It is trained in Keras
  (:mod:`digitrec.fitting`) and applied here as two matrix products in numpy, a few
  microseconds instead of a Keras call per request.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digitrec.constants import IMAGE_SIZE

FILE = "calibration.npz"
ECE_BINS = 15
# Intensities of a normalized input (0 background, 1 full ink) above which a pixel counts as
# inked, as solid, and as full ink, for :func:`ink_features`.
INKED, SOLID, FULL = 0.1, 0.5, 0.9
INK_FEATURES = 8  # numbers ink_features gives per image


def feature_model(model):
    """The model's pooled activations after each pooling stage and before the classifier (the
    "taps"); the last one is what the classifier layer reads."""
    import keras  # heavy: only code that builds a model pays for it
    from keras import layers

    taps = [layer.output for layer in model.layers if isinstance(layer, layers.MaxPooling2D)]
    taps.append(model.get_layer("probabilities").input)
    pooled = [
        layers.GlobalAveragePooling2D(name=f"novelty_tap_{i}")(t) if len(t.shape) == 4 else t
        for i, t in enumerate(taps)
    ]
    return keras.Model(model.input, pooled, name=f"{model.name}_taps")


def ink_features(inputs: np.ndarray) -> np.ndarray:
    """(n, :data:`INK_FEATURES`): how the ink of each normalized ``(n, 28, 28)`` image fills its box.

    Clothing, photographed objects and filled shapes fill their box with solid ink; a digit is
    strokes. The pooled activations average this away, and without it the detector let 5% of
    Fashion-MNIST through (benchmarks/README.md, "Ink features for the detector").
    """
    x = np.asarray(inputs, np.float32).reshape(-1, IMAGE_SIZE, IMAGE_SIZE)
    inked = x > INKED
    height = np.maximum(inked.any(2).sum(1), 1)
    width = np.maximum(inked.any(1).sum(1), 1)
    box = (height * width).astype(np.float32)
    ink, count = x.sum((1, 2)), np.maximum(inked.sum((1, 2)), 1)
    features = [
        ink / box,  # mean intensity in the box
        (x > SOLID).sum((1, 2)) / box,  # share of the box that is solid ink
        inked.sum((1, 2)) / box,  # share of the box that is inked at all
        (x * inked).sum((1, 2)) / count,  # how dark the inked pixels are (pencil, pen, fill)
        (x > FULL).sum((1, 2)) / count,  # share of the inked pixels at full ink
        np.log1p(ink),
        height / IMAGE_SIZE,
        width / IMAGE_SIZE,
    ]
    return np.stack(features, 1).astype(np.float32)


@dataclass(frozen=True)
class Calibration:
    """Temperature and "not a digit" detector of one model; see the module docstring."""

    temperature: float
    means: tuple[np.ndarray, ...]  # per tap (ink features first, then the pooled activations): (10, d) class means
    precisions: tuple[np.ndarray, ...]  # per tap: (d, d) inverse of the shared covariance
    score_mean: np.ndarray  # per distance signal (taps, then top probability): mean on validation digits
    score_std: np.ndarray
    threshold: float  # novelty above this is "not a digit"
    head: tuple[np.ndarray, ...] = ()  # the detector: input mean, input std, then weight and bias per layer

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        """Temperature-scaled probabilities, rows summing to 1."""
        return softmax(logits, self.temperature)

    def novelty(self, taps: list[np.ndarray], probs: np.ndarray) -> np.ndarray:
        """One score per image, from the taps (:meth:`digitrec.inference.Recognizer.outputs`) and the
        unscaled probabilities; higher means less like any training digit."""
        signals = (novelty_signals(taps, probs, self.means, self.precisions) - self.score_mean) / self.score_std
        if not self.head:  # a calibration without a detector: the distances alone
            return signals.sum(1)
        x = (head_input(signals, taps, probs) - self.head[0]) / self.head[1]
        layers = self.head[2:]
        for i in range(0, len(layers), 2):
            x = x @ layers[i] + layers[i + 1]
            if i + 2 < len(layers):
                x = np.maximum(x, 0.0)
        return x[:, 0]

    def is_digit(self, taps: list[np.ndarray], probs: np.ndarray) -> np.ndarray:
        return self.novelty(taps, probs) <= self.threshold

    def fits(self, tap_sizes: list[int], classes: int) -> bool:
        """Whether these arrays were fitted for a model with these pooled activation sizes and classes."""
        taps = len(tap_sizes)
        # The detector reads the distance signals (one per tap, and the top probability), the taps, the probabilities.
        head_inputs = taps + 1 + sum(tap_sizes) + classes
        return (
            len(self.means) == len(self.precisions) == taps
            and all(
                m.shape == (classes, d) and p.shape == (d, d)
                for m, p, d in zip(self.means, self.precisions, tap_sizes, strict=True)
            )
            and self.score_mean.shape == self.score_std.shape == (taps + 1,)
            and (not self.head or self.head[0].shape == (head_inputs,))
        )

    def save(self, folder: str | Path) -> Path:
        path = Path(folder) / FILE
        arrays = {f"mean_{i}": m for i, m in enumerate(self.means)}
        arrays.update({f"precision_{i}": p for i, p in enumerate(self.precisions)})
        arrays.update({f"head_{i}": h for i, h in enumerate(self.head)})
        np.savez_compressed(
            path,
            temperature=self.temperature,
            score_mean=self.score_mean,
            score_std=self.score_std,
            threshold=self.threshold,
            **arrays,
        )
        return path

    @classmethod
    def load(cls, folder: str | Path) -> Calibration | None:
        """The calibration saved beside a model, or ``None`` when the folder has none."""
        path = Path(folder) / FILE
        if not path.is_file():
            return None
        with np.load(path, allow_pickle=False) as d:

            def numbered(prefix: str) -> tuple[np.ndarray, ...]:
                return tuple(d[f"{prefix}_{i}"] for i in range(sum(1 for k in d.files if k.startswith(prefix + "_"))))

            return cls(
                float(d["temperature"]),
                numbered("mean"),
                numbered("precision"),
                d["score_mean"],
                d["score_std"],
                float(d["threshold"]),
                numbered("head"),
            )


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Probabilities from logits divided by ``temperature``, rows summing to 1."""
    z = np.asarray(logits, np.float64) / temperature
    z -= z.max(-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(-1, keepdims=True)


def _nll_by_temperature(logits: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    grid = np.exp(np.linspace(np.log(0.25), np.log(8.0), 400))
    rows = np.arange(len(labels))
    return grid, np.array([-np.log(softmax(logits, t)[rows, labels] + 1e-30).mean() for t in grid])


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature that minimizes the negative log-likelihood of ``labels``."""
    grid, nll = _nll_by_temperature(logits, labels)
    return float(grid[int(np.argmin(nll))])


def tempered_loss(logits: np.ndarray, labels: np.ndarray) -> float:
    """The negative log-likelihood of ``labels`` at :func:`fit_temperature`'s temperature: the loss of the
    probabilities as they are served, once the temperature has taken out over- or underconfidence."""
    return float(_nll_by_temperature(logits, labels)[1].min())


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


def novelty_signals(taps, probs, means, precisions) -> np.ndarray:
    """(n, taps + 1): log distance to the nearest class per tap, and log(1 - top probability)."""
    signals = [np.log(_nearest_distance(t, mu, prec)) for t, mu, prec in zip(taps, means, precisions, strict=True)]
    signals.append(np.log(np.clip(1.0 - probs.max(1), 1e-7, None)))
    return np.stack(signals, 1)


def head_input(signals: np.ndarray, taps: list[np.ndarray], probs: np.ndarray) -> np.ndarray:
    """What the detector's head reads: the standardized novelty signals, the taps and the log probabilities."""
    return np.concatenate([signals, *taps, np.log(np.clip(probs, 1e-7, 1.0))], 1).astype(np.float32)
