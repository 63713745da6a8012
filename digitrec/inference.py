"""The predictor: load a trained model once, then recognize drawings in milliseconds.

The network runs as one exported graph (:mod:`digitrec.graph`): on LiteRT
(:mod:`digitrec.lite`) when the model folder has ``model.tflite``, without TensorFlow in the
process; in TensorFlow otherwise, and for training, evaluation and fitting. Both answer the
same (``digitrec.evaluate`` checks it on every evaluation set).

Every input is read in a few views, itself and its one-pixel shifts, in one forward pass,
and the logits are averaged over them: centring a drawing by its centre of mass, as MNIST
did, lands within a pixel of where the writer's digit would sit, and the average is steadier
than any one view (``benchmarks/shifted_views.py`` measures it).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from digitrec.calibration import Calibration, ink_features, softmax
from digitrec.constants import IMAGE_SIZE
from digitrec.errors import EmptyImageError
from digitrec.graph import SHIFTS, KerasNetwork, check_shifts, weights_sha256
from digitrec.hub import pull
from digitrec.lite import EXPORT_COMMAND, LiteNetwork
from digitrec.lite import FILE as LITE_FILE
from digitrec.preprocess import normalize
from digitrec.segment import read_number
from digitrec.weights import WEIGHTS, WeightsNotFoundError, class_names, load_keras_folder, read_info, read_metrics

BACKENDS = ("litert", "keras")


class Outputs(NamedTuple):
    """What one forward pass gives for a batch of ``n`` normalized images (:meth:`Recognizer.outputs`)."""

    taps: list[np.ndarray]  # what the "not a digit" check reads of each input itself: ink features, pooled maps
    logits: np.ndarray  # (n, classes): averaged over the input's views; what is served
    own: np.ndarray  # (n, classes): the input's own view alone, which the check reads too


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
        network: LiteNetwork | KerasNetwork,
        info: dict | None = None,
        source: str = "",
        calibration: Calibration | None = None,
        revision: str = "local",
    ):
        """``network``: a :class:`~digitrec.lite.LiteNetwork`, or a :class:`~digitrec.graph.KerasNetwork`
        (``KerasNetwork(keras_model, shifts)``); :meth:`load` picks one. ``revision``: the Hub commit an
        ``hf://`` model came from, ``"local"`` otherwise."""
        self.network = network
        self.info = info or {}
        self.source = source
        self.revision = revision
        self.class_names = class_names(self.info, network.classes, source)
        self.tap_sizes = network.tap_sizes
        self.calibration = calibration
        self.outputs(np.zeros((1, IMAGE_SIZE, IMAGE_SIZE), np.float32))  # trace and allocate now, not on a request

    @property
    def calibration(self) -> Calibration | None:
        """The temperature and the "not a digit" check; ``None``: the network's own probabilities, all digits.
        Setting one checks that it was fitted for this model."""
        return self._calibration

    @calibration.setter
    def calibration(self, calibration: Calibration | None) -> None:
        if calibration is not None and not calibration.fits(self.tap_sizes, len(self.class_names)):
            raise WeightsNotFoundError(
                f"the calibration of {self.source or 'this model'} was fitted for another model or by an older "
                "digitrec (its arrays do not match what this model's detector reads); fit it again with "
                "`python -m digitrec.fitting FOLDER`"
            )
        self._calibration = calibration

    @property
    def backend(self) -> str:
        """``"litert"`` or ``"keras"``: what runs the network."""
        return self.network.backend

    @property
    def model(self):
        """The Keras model, for code that trains or measures it; ``None`` on LiteRT, which has none."""
        return getattr(self.network, "model", None)

    @classmethod
    def load(
        cls,
        source: str | Path | None = None,
        calibration: bool = True,
        shifts: tuple[tuple[int, int], ...] = SHIFTS,
        backend: str | None = None,
    ) -> Recognizer:
        """Load a model: the bundled ``weights/`` by default, a folder, or ``hf://USER/REPO[@REV]``.

        Args:
            source: where the model lives. A folder holds ``model.tflite`` (what serving runs) and
                the Keras layout (``config.json``, ``model.weights.h5``; loaded in Keras safe mode).
            calibration: use the folder's ``calibration.npz`` (temperature and "not a digit"
                check) when it has one. ``False`` (for fitting one) gives the network's own
                probabilities and calls every input a digit.
            shifts: the views each input is read in, ``(down, right)`` shifts of at most one
                pixel, the first ``(0, 0)``; their logits are averaged. ``((0, 0),)`` reads the
                input alone (in TensorFlow: the export has the default's). The calibration was
                fitted with the default.
            backend: ``"litert"``, ``"keras"``, or ``None``: LiteRT when the folder has a
                ``model.tflite`` exported from its weights, else Keras with a one-line note on stderr.

        Returns:
            A ready :class:`Recognizer`.

        Raises:
            WeightsNotFoundError: nothing loadable there, or files that disagree; the message names the file.
            digitrec.hub.HubError: a Hub reference that is malformed, missing or unreachable.
        """
        if backend not in (None, *BACKENDS):
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)} or None; got {backend!r}")
        hub_ref = source is not None and str(source).startswith("hf://")
        if hub_ref:
            folder = pull(str(source))
        else:
            folder = Path(source) if source is not None else WEIGHTS
        try:
            network = _network(Path(folder), check_shifts(shifts), backend)
            info = read_info(folder)
            fitted = _read_calibration(folder) if calibration else None
            # A Hub download lives in a snapshot folder named after its commit: the exact revision served.
            revision = Path(folder).name if hub_ref else "local"
            return cls(network, info, str(source or folder), fitted, revision)
        except WeightsNotFoundError as exc:
            raise WeightsNotFoundError(f"{source}: {exc}" if hub_ref else str(exc)) from None

    def outputs(self, inputs: np.ndarray) -> Outputs:
        """For a ``(n, 28, 28)`` batch of normalized images: the "taps" the "not a digit" check reads of
        each input itself (its :func:`~digitrec.calibration.ink_features`, then its pooled activations),
        the logits averaged over its views (what is served), and the input's own logits (what the
        check reads too)."""
        inputs = np.asarray(inputs, np.float32).reshape(-1, IMAGE_SIZE, IMAGE_SIZE, 1)
        step = self.network.batch
        parts = [self.network.run(inputs[i : i + step]) for i in range(0, max(len(inputs), 1), step)]
        columns = [np.concatenate(column) for column in zip(*parts, strict=True)]
        return Outputs([ink_features(inputs), *columns[:-2]], columns[-2], columns[-1])

    def probabilities(self, inputs: np.ndarray) -> np.ndarray:
        """``(n, 10)`` probabilities for a batch of normalized images (temperature-scaled when calibrated)."""
        return self._probabilities(self.outputs(inputs).logits)

    def verdicts(self, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities as :meth:`probabilities`, and whether each image looks like a digit at all."""
        return self.verdicts_of(self.outputs(inputs))

    def verdicts_of(self, outputs: Outputs) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`verdicts` from what :meth:`outputs` returned."""
        taps, logits, own = outputs
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
        digits = [self._as_dict(p) for p in read_number(image, self.verdicts)]
        if not digits:
            raise EmptyImageError("no digits found: only a few stray marks. Draw a number.")
        return {"number": "".join(max(d, key=d.get) for d in digits), "digits": digits}

    def _probabilities(self, logits: np.ndarray) -> np.ndarray:
        return softmax(logits) if self.calibration is None else self.calibration.probabilities(logits)

    def _as_dict(self, p: np.ndarray) -> dict[str, float]:
        return {name: float(v) for name, v in zip(self.class_names, p, strict=True)}


def _network(folder: Path, shifts: tuple, backend: str | None) -> LiteNetwork | KerasNetwork:
    """LiteRT when asked, or when the folder's export is there and current; Keras otherwise."""
    lite, note = folder / LITE_FILE, ""
    if backend == "litert" or (backend is None and shifts == SHIFTS and lite.is_file()):
        stale = _stale_export(folder)
        if backend == "litert" and not lite.is_file():
            raise WeightsNotFoundError(
                f"no {LITE_FILE} in {folder}: write it with `{EXPORT_COMMAND.format(folder=folder)}`"
            )
        if backend == "litert" or not stale:
            return LiteNetwork(lite)
        note = f"note: {lite} {stale}; running the Keras weights instead"
    elif backend is None and shifts == SHIFTS:
        # An older model: its Keras weights still run, in TensorFlow, when it is installed.
        command = EXPORT_COMMAND.format(folder=folder)
        note = f"note: {folder} has no {LITE_FILE}; running it in TensorFlow. `{command}` writes one"
    try:
        network = KerasNetwork(load_keras_folder(folder), shifts)
    except ModuleNotFoundError:  # the app's install has LiteRT, not TensorFlow
        if backend == "keras" or shifts != SHIFTS:
            why = "the Keras backend" if backend == "keras" else f"reading other views than {LITE_FILE}'s"
            raise WeightsNotFoundError(f"{why} needs TensorFlow: `pip install -r requirements-train.txt`") from None
        raise WeightsNotFoundError(
            f"{folder} has no usable {LITE_FILE}, and its Keras weights need TensorFlow: "
            f"`pip install -r requirements-train.txt`, then `{EXPORT_COMMAND.format(folder=folder)}`"
        ) from None
    if note:
        print(note, file=sys.stderr)
    return network


def _stale_export(folder: Path) -> str:
    """Why the folder's ``model.tflite`` is not from its weights (``metrics.json`` records which), or ``""``."""
    exported = read_metrics(folder).get("litert", {}).get("weights_sha256")
    if exported and (folder / "model.weights.h5").is_file() and exported != weights_sha256(folder):
        command = EXPORT_COMMAND.format(folder=folder)
        return f"was exported from other weights than model.weights.h5 (write it again: `{command}`)"
    return ""


def _read_calibration(folder: Path) -> Calibration | None:
    try:
        return Calibration.load(folder)
    except Exception as exc:  # numpy raises ValueError, OSError, KeyError, zipfile.BadZipFile, ...
        raise WeightsNotFoundError(
            f"{Path(folder) / 'calibration.npz'} is not a digitrec calibration "
            f"({type(exc).__name__}: {exc}); delete it or fit it again with "
            f"`python -m digitrec.fitting {folder}`"
        ) from None
