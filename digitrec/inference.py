"""The predictor: load a trained model once, then recognize drawings in milliseconds.

``model.predict()`` builds a data pipeline on every call; here the network is traced
once into a graph for any batch size and called directly
(``benchmarks/predict_latency.py`` measures both).

Every input is read in a few views, itself and its one-pixel shifts, in one forward pass,
and the logits are averaged over them: centring a drawing by its centre of mass, as MNIST
did, lands within a pixel of where the writer's digit would sit, and the average is steadier
than any one view (``benchmarks/shifted_views.py`` measures it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from digitrec.calibration import INK_FEATURES, Calibration, feature_model, ink_features, softmax
from digitrec.constants import IMAGE_SIZE
from digitrec.hub import pull
from digitrec.preprocess import EmptyImageError, normalize
from digitrec.segment import split_digits
from digitrec.weights import WEIGHTS, WeightsNotFoundError, class_names, load_keras_folder, read_info

VIEWS_PER_PASS = 1024  # images through the network per forward pass, views counted: the one place that batches
# (down, right) in pixels: the input, then one pixel each way; chosen on validation digits and drawings
# among shifts of one pixel, half a pixel and diagonals (benchmarks/README.md, "Shifted views").
SHIFTS = ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1))


@dataclass(frozen=True)
class Recognition:
    """What the model saw and what it concluded."""

    input: np.ndarray  # the (28, 28) float image fed to the network
    probabilities: dict[str, float]  # all ten classes, summing to 1 (temperature-scaled when calibrated)
    is_digit: bool = True  # False: it looks like none of the digits the model was trained on

    @property
    def digit(self) -> str:
        return max(self.probabilities, key=self.probabilities.get)

    def summary(self) -> dict:
        """The answer as JSON for a terminal or an agent: ``digit`` (``None`` when it is not a digit), its
        ``probability``, ``is_digit``, the ``best_guess`` even then, and all ten ``probabilities``."""
        return {
            "digit": self.digit if self.is_digit else None,
            "probability": self.probabilities[self.digit],
            "is_digit": self.is_digit,
            "best_guess": self.digit,
            "probabilities": dict(self.probabilities),
        }


class Recognizer:
    """A loaded digit model with a compiled forward pass.

    Example:
        >>> rec = Recognizer.load()
        >>> rec.predict(Image.open("seven.png"))["7"] > 0.9
        True
    """

    def __init__(
        self,
        model,
        info: dict | None = None,
        source: str = "",
        calibration: Calibration | None = None,
        shifts: tuple[tuple[int, int], ...] = SHIFTS,
    ):
        import tensorflow as tf  # heavy: only code that runs a model pays for it

        if not shifts or tuple(shifts[0]) != (0, 0) or any(max(abs(dy), abs(dx)) > 1 for dy, dx in shifts):
            raise ValueError(
                "shifts must be (down, right) pairs of -1, 0 or 1 pixels, the first (0, 0) (the input itself); "
                f"got {shifts!r}"
            )
        self.model = model
        self.shifts = tuple(shifts)
        self._batch = max(1, VIEWS_PER_PASS // len(self.shifts))
        self.info = info or {}
        self.source = source
        self.revision = "local"  # the Hub commit for hf:// models (set by load)
        self.calibration = calibration
        self.class_names = class_names(self.info, int(model.output_shape[-1]), source)
        taps = feature_model(model)
        classifier = model.get_layer("probabilities")

        def forward(x):
            # Each view of the batch, one after the other; a shift brings in background (0) at one edge.
            padded = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])
            views = tf.concat(
                [padded[:, 1 - dy : 1 - dy + IMAGE_SIZE, 1 - dx : 1 - dx + IMAGE_SIZE] for dy, dx in self.shifts], 0
            )
            # The classifier's logits (its input times its weights), so the temperature divides logits,
            # not log-probabilities: their mean over the views, rows (view, image) back to one per image.
            pooled = taps(views, training=False)
            logits = tf.matmul(pooled[-1], classifier.kernel) + classifier.bias
            mean = tf.reduce_mean(tf.reshape(logits, [len(self.shifts), -1, logits.shape[-1]]), 0)
            # The "not a digit" check reads the input itself (the first view), as it was designed and
            # measured: what the views average sits nearer the digits and let more letters and clothing
            # through (benchmarks/README.md, "Shifted views").
            n = tf.shape(x)[0]
            return (*(t[:n] for t in pooled), mean, logits[:n])  # in the order outputs() returns them

        # Calling the traced graph directly skips tf.function's per-call argument dispatch.
        self._graph = tf.function(
            tf.autograph.experimental.do_not_convert(forward),
            input_signature=[tf.TensorSpec([None, IMAGE_SIZE, IMAGE_SIZE, 1], tf.float32)],
        ).get_concrete_function()
        self.tap_sizes = [INK_FEATURES, *(int(t.shape[-1]) for t in taps.outputs)]
        if calibration is not None and not calibration.fits(self.tap_sizes, len(self.class_names)):
            raise WeightsNotFoundError(
                f"the calibration of {source or 'this model'} was fitted for another model or by an older "
                "digitrec (its arrays do not match what this model's detector reads); fit it again with "
                "`python -m digitrec.fitting FOLDER`"
            )
        self.outputs(np.zeros((1, IMAGE_SIZE, IMAGE_SIZE), np.float32))  # trace now, not on the first request

    @classmethod
    def load(
        cls, source: str | Path | None = None, calibration: bool = True, shifts: tuple[tuple[int, int], ...] = SHIFTS
    ) -> Recognizer:
        """Load a model: the bundled ``weights/`` by default, a folder, or ``hf://USER/REPO[@REV]``.

        Args:
            source: where the model lives. Folders must hold the Keras layout
                (``config.json``, ``model.weights.h5``); loading runs in Keras safe mode.
            calibration: use the folder's ``calibration.npz`` (temperature and "not a digit"
                check) when it has one. ``False`` (for fitting one) gives the network's own
                probabilities and calls every input a digit.
            shifts: the views each input is read in, ``(down, right)`` shifts of at most one
                pixel, the first ``(0, 0)``; their logits are averaged. ``((0, 0),)`` reads the
                input alone. The calibration was fitted with the default.

        Returns:
            A ready :class:`Recognizer`.

        Raises:
            WeightsNotFoundError: nothing loadable there, or files that disagree; the message names the file.
            digitrec.hub.HubError: a Hub reference that is malformed, missing or unreachable.
        """
        hub_ref = source is not None and str(source).startswith("hf://")
        if hub_ref:
            folder = pull(str(source))
        else:
            folder = Path(source) if source is not None else WEIGHTS
        try:
            model = load_keras_folder(folder)
            info = read_info(folder)
            fitted = _read_calibration(folder) if calibration else None
            rec = cls(model, info, str(source or folder), fitted, shifts)
        except WeightsNotFoundError as exc:
            raise WeightsNotFoundError(f"{source}: {exc}" if hub_ref else str(exc)) from None
        # A Hub download lives in a snapshot folder named after its commit: the exact revision served.
        rec.revision = Path(folder).name if hub_ref else "local"
        return rec

    def outputs(self, inputs: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
        """For a ``(n, 28, 28)`` batch of normalized images: the "taps" the "not a digit" check reads of
        each input itself (its :func:`~digitrec.calibration.ink_features`, then its pooled activations),
        the logits averaged over its views (what is served), and the input's own logits (what the
        check reads too)."""
        inputs = np.asarray(inputs, np.float32).reshape(-1, IMAGE_SIZE, IMAGE_SIZE, 1)
        parts = [
            [t.numpy() for t in self._graph(inputs[i : i + self._batch])]
            for i in range(0, max(len(inputs), 1), self._batch)
        ]
        columns = [np.concatenate(column) for column in zip(*parts, strict=True)]
        return [ink_features(inputs), *columns[:-2]], columns[-2], columns[-1]

    def probabilities(self, inputs: np.ndarray) -> np.ndarray:
        """``(n, 10)`` probabilities for a batch of normalized images (temperature-scaled when calibrated)."""
        return self._probabilities(self.outputs(inputs)[1])

    def verdicts(self, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities as :meth:`probabilities`, and whether each image looks like a digit at all."""
        taps, logits, own = self.outputs(inputs)
        if self.calibration is None:
            return self._probabilities(logits), np.ones(len(logits), bool)
        return self._probabilities(logits), self.calibration.is_digit(taps, softmax(own))

    def recognize(self, image: Any) -> Recognition:
        """Normalize one image (see :func:`digitrec.preprocess.normalize`), classify it, and say if it is a digit."""
        x = normalize(image)
        probs, is_digit = self.verdicts(x[None])
        return Recognition(x, self._as_dict(probs[0]), bool(is_digit[0]))

    def predict(self, image: Any) -> dict[str, float]:
        """Probabilities of all ten digits for one image, as ``{"0": p0, …, "9": p9}``."""
        return self.recognize(image).probabilities

    def predict_batch(self, images: Iterable[Any]) -> list[dict[str, float]]:
        """Probabilities for many images, run through the model together.

        Every image must be valid: one bad image raises its preprocessing error.
        """
        normalized = [normalize(img) for img in images]
        if not normalized:
            return []
        return [self._as_dict(p) for p in self.probabilities(np.stack(normalized))]

    def predict_number(self, image: Any) -> dict:
        """Read several digits written side by side ("2026") as one number.

        Returns:
            ``{"number": "2026", "digits": [probabilities of each digit, left to right]}``.
        """
        seen: dict[bytes, tuple[np.ndarray, float] | None] = {}  # crop -> (probabilities, confidence)

        def read(crops) -> list[tuple[np.ndarray, float] | None]:
            # Each crop is normalized and run once, whether segmentation or the final answer asks.
            keys = [c.tobytes() + bytes(str(c.size), "ascii") for c in crops]
            new = {k: c for k, c in zip(keys, crops, strict=True) if k not in seen}
            inputs = {}
            for key, crop in new.items():
                try:
                    inputs[key] = normalize(crop)
                except EmptyImageError:  # a sliver of ink: no digit in it
                    seen[key] = None
            if inputs:
                probs, is_digit = self.verdicts(np.stack(list(inputs.values())))
                for key, p, ok in zip(inputs, probs, is_digit, strict=True):
                    # A crop that does not look like a digit (half a digit, two touching ones) scores 0.
                    seen[key] = (p, float(p.max() * ok))
            return [seen[k] for k in keys]

        def confidence(crops) -> list[float]:
            return [0.0 if r is None else r[1] for r in read(crops)]

        digits = [self._as_dict(r[0]) for r in read(split_digits(image, classify=confidence)) if r is not None]
        if not digits:
            raise EmptyImageError("no digits found: only a few stray marks. Draw a number.")
        return {"number": "".join(max(d, key=d.get) for d in digits), "digits": digits}

    def _probabilities(self, logits: np.ndarray) -> np.ndarray:
        return softmax(logits) if self.calibration is None else self.calibration.probabilities(logits)

    def _as_dict(self, p: np.ndarray) -> dict[str, float]:
        return {name: float(v) for name, v in zip(self.class_names, p, strict=True)}


def _read_calibration(folder: Path) -> Calibration | None:
    try:
        return Calibration.load(folder)
    except Exception as exc:  # numpy raises ValueError, OSError, KeyError, zipfile.BadZipFile, ...
        raise WeightsNotFoundError(
            f"{Path(folder) / 'calibration.npz'} is not a digitrec calibration "
            f"({type(exc).__name__}: {exc}); delete it or fit it again with "
            f"`python -m digitrec.fitting {folder}`"
        ) from None
