"""The predictor: load a trained model once, then recognize drawings in milliseconds.

``model.predict()`` builds a data pipeline on every call (~45 ms for one image); a
``tf.function`` forward pass traced once for any batch size costs about a millisecond.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from digitrec.calibration import FILE as CALIBRATION_FILE
from digitrec.calibration import Calibration, feature_model
from digitrec.constants import CLASS_NAMES, IMAGE_SIZE
from digitrec.preprocess import EmptyImageError, normalize

BUNDLED_WEIGHTS = Path(__file__).resolve().parent.parent / "weights"
BATCH_SIZE = 64  # images per forward pass in predict_batch


class WeightsNotFoundError(FileNotFoundError):
    """No loadable model at the requested location."""


@dataclass(frozen=True)
class Recognition:
    """What the model saw and what it concluded."""

    input: np.ndarray  # the (28, 28) float image fed to the network
    probabilities: dict[str, float]  # all ten classes, summing to 1, temperature-calibrated
    is_digit: bool = True  # False: it looks like none of the digits the model was trained on

    @property
    def digit(self) -> str:
        return max(self.probabilities, key=self.probabilities.get)


class Recognizer:
    """A loaded digit model with a compiled forward pass.

    Example:
        >>> rec = Recognizer.load()
        >>> rec.predict(Image.open("seven.png"))["7"] > 0.9
        True
    """

    def __init__(self, model, info: dict | None = None, source: str = "", calibration: Calibration | None = None):
        import tensorflow as tf

        self.model = model
        self.info = info or {}
        self.source = source
        self.calibration = calibration
        self.class_names = tuple(self.info.get("class_names", CLASS_NAMES))
        # One pass yields the probabilities and the pooled activations the novelty check needs.
        net = feature_model(model)
        # Calling the traced graph directly skips tf.function's per-call argument dispatch.
        self._forward = tf.function(
            tf.autograph.experimental.do_not_convert(lambda x: net(x, training=False)),
            input_signature=[tf.TensorSpec([None, IMAGE_SIZE, IMAGE_SIZE, 1], tf.float32)],
        ).get_concrete_function()
        self.forward(np.zeros((1, IMAGE_SIZE, IMAGE_SIZE), np.float32))  # trace now, not on the first request

    @classmethod
    def load(cls, source: str | Path | None = None, calibrated: bool = True) -> "Recognizer":
        """Load a model: the bundled ``weights/`` by default, a folder, or ``hf://USER/REPO[@REV]``.

        Args:
            source: where the model lives. Folders must hold the Keras layout
                (``config.json``, ``model.weights.h5``); loading runs in Keras safe mode.
            calibrated: use the folder's ``calibration.npz`` (temperature and "not a
                digit" check) when it has one; ``False`` gives the raw network outputs.

        Returns:
            A ready :class:`Recognizer`.

        Raises:
            WeightsNotFoundError: nothing loadable there; the message says how to get weights.
        """
        if source is not None and str(source).startswith("hf://"):
            from digitrec.hub import pull

            folder = pull(str(source))
        else:
            folder = Path(source) if source is not None else BUNDLED_WEIGHTS
        try:
            model = load_keras_folder(folder)
            info = read_info(folder)
            calibration = _read_calibration(folder) if calibrated else None
            _check_consistent(model, info, calibration, folder)
        except WeightsNotFoundError as exc:
            raise WeightsNotFoundError(f"{source}: {exc}" if source is not None and str(source).startswith("hf://")
                                       else str(exc)) from None
        return cls(model, info, str(source or folder), calibration)

    @classmethod
    def load_for_app(cls, requested: str | None = None, configured: str | None = None) -> "Recognizer":
        """The app's model: ``requested`` (command line) must load; ``configured`` (environment) may fall back.

        A model named on the command line is an explicit request, so failure is an error. One
        named by a deployment setting (``DIGITREC_MODEL``) falls back to the bundled weights
        with a clear notice when the Hub cannot provide it, so the app still starts offline.
        """
        use_one_thread_per_op()
        if requested:
            return cls.load(requested)
        if configured:
            try:
                return cls.load(configured)
            except Exception as exc:  # a deployment setting must never keep the app from starting
                shown = configured if len(configured) <= 80 else configured[:80] + "…"
                print(f"notice: could not load {shown} ({exc}); serving the bundled weights instead",
                      file=sys.stderr)
        return cls.load()

    def run(self, batch: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        """Pooled activations and raw probabilities for a ``(n, 28, 28)`` batch of normalized images."""
        batch = np.asarray(batch, np.float32).reshape(-1, IMAGE_SIZE, IMAGE_SIZE, 1)
        parts = [[t.numpy() for t in self._forward(batch[i : i + 1024])] for i in range(0, max(len(batch), 1), 1024)]
        outputs = [np.concatenate(column) for column in zip(*parts)]
        return outputs[:-1], outputs[-1]

    def forward(self, batch: np.ndarray) -> np.ndarray:
        """Probabilities (calibrated, if the model has a calibration) for a ``(n, 28, 28)`` normalized batch."""
        return self._judge(batch)[0]

    def _judge(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        taps, probs = self.run(batch)
        if self.calibration is None:
            return probs, np.ones(len(probs), bool)
        return self.calibration.calibrate(probs), self.calibration.is_digit(taps, probs)

    def recognize(self, image: Any) -> Recognition:
        """Normalize one image (see :func:`digitrec.preprocess.normalize`), classify it, and say if it is a digit."""
        x = normalize(image)
        probs, is_digit = self._judge(x[None])
        return Recognition(x, self._as_dict(probs[0]), bool(is_digit[0]))

    def predict(self, image: Any) -> dict[str, float]:
        """Probabilities of all ten digits for one image, as ``{"0": p0, …, "9": p9}``."""
        return self.recognize(image).probabilities

    def predict_batch(self, images: Iterable[Any]) -> list[dict[str, float]]:
        """Probabilities for many images, run through the model ``BATCH_SIZE`` at a time.

        Every image must be valid: one bad image raises its preprocessing error.
        """
        normalized = [normalize(img) for img in images]
        if not normalized:
            return []
        inputs = np.stack(normalized)
        probs = np.concatenate([self.forward(inputs[i : i + BATCH_SIZE]) for i in range(0, len(inputs), BATCH_SIZE)])
        return [self._as_dict(p) for p in probs]

    def predict_number(self, image: Any) -> dict:
        """Read several digits written side by side ("2026") as one number.

        Returns:
            ``{"number": "2026", "digits": [probabilities of each digit, left to right]}``.
        """
        from digitrec.segment import split_digits

        def inputs(crops) -> list[np.ndarray | None]:
            out = []
            for crop in crops:
                try:
                    out.append(normalize(crop))
                except EmptyImageError:  # a sliver of ink: no digit in it
                    out.append(None)
            return out

        def confidence(crops):
            # A crop that does not look like a digit (half a digit, two touching ones) scores 0.
            xs = inputs(crops)
            probs, is_digit = self._judge(np.stack([np.zeros((IMAGE_SIZE, IMAGE_SIZE)) if x is None else x for x in xs]))
            return [0.0 if x is None else float(p * ok) for x, p, ok in zip(xs, probs.max(1), is_digit)]

        xs = [x for x in inputs(split_digits(image, classify=confidence)) if x is not None]
        if not xs:
            raise EmptyImageError("no digits found: only a few stray marks. Draw a number.")
        digits = [self._as_dict(p) for p in self.forward(np.stack(xs))]
        return {"number": "".join(max(d, key=d.get) for d in digits), "digits": digits}

    def _as_dict(self, p: np.ndarray) -> dict[str, float]:
        p = p.astype(np.float64)
        p /= p.sum()
        return {name: float(v) for name, v in zip(self.class_names, p)}


def use_one_thread_per_op() -> None:
    """Run each TensorFlow op on one thread: the setting for a server of single images.

    A forward pass on one 28x28 image is too small to split, yet TensorFlow's default
    thread pools spin on every core while they wait for work, taking CPU from the web
    server's event loop: on 2 cores that cost the app about a quarter of its throughput
    (``benchmarks/app_latency.py``). Concurrent requests still run side by side on the
    server's worker threads. Only possible before TensorFlow has run its first op; later
    calls leave the setting as it is.
    """
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # already initialized in this process, e.g. by a test session
        pass


def load_keras_folder(folder: Path):
    """Load a Keras 3 model directory in safe mode, with errors that say what to do."""
    import keras

    folder = Path(folder)
    needed = ("config.json", "model.weights.h5")
    missing = [name for name in needed if not (folder / name).is_file()]
    if missing:
        raise WeightsNotFoundError(
            f"no weights in {folder} (missing {', '.join(missing)}): run `python train.py`, "
            f"or `python -m digitrec.hub pull USER/REPO --to {folder}`"
        )
    try:
        return keras.saving.load_model(folder, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for corrupt or foreign files
        raise WeightsNotFoundError(
            f"the model in {folder} could not be loaded ({type(exc).__name__}: {exc}). "
            "The files are corrupt or were not written by digitrec; pull or train them again."
        ) from exc


def read_info(folder: Path) -> dict:
    """The metadata that travels with the weights (``training.json``), or ``{}`` when there is none.

    Raises:
        WeightsNotFoundError: the file is there but is not a JSON object.
    """
    path = Path(folder) / "training.json"
    if not path.is_file():
        return {}
    try:
        info = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WeightsNotFoundError(f"{path} is not readable JSON ({exc}); pull or train the model again") from None
    if not isinstance(info, dict):
        raise WeightsNotFoundError(f"{path} must hold a JSON object; it holds a {type(info).__name__}")
    return info


def _read_calibration(folder: Path) -> Calibration | None:
    try:
        return Calibration.load(folder)
    except Exception as exc:  # numpy raises ValueError, OSError, KeyError, zipfile.BadZipFile, ...
        raise WeightsNotFoundError(f"{Path(folder) / CALIBRATION_FILE} is not a digitrec calibration "
                                   f"({type(exc).__name__}: {exc}); delete it or fit it again with "
                                   f"`python -m digitrec.calibration {folder}`") from None


def _check_consistent(model, info: dict, calibration: Calibration | None, folder: Path) -> None:
    """The files of one model folder must describe the same model."""
    outputs = int(model.output_shape[-1])
    names = info.get("class_names", CLASS_NAMES)
    if not isinstance(names, list | tuple) or len(names) != outputs or not all(isinstance(n, str) for n in names):
        raise WeightsNotFoundError(f"{Path(folder) / 'training.json'}: class_names must be {outputs} strings, one "
                                   f"per model output; got {str(names)[:80]}")
    if calibration is None:
        return
    inputs = [int(t.shape[-1]) for t in feature_model(model).outputs[:-1]]
    shapes_ok = (len(calibration.means) == len(inputs) == len(calibration.precisions)
                 and all(m.shape == (outputs, d) and p.shape == (d, d)
                         for m, p, d in zip(calibration.means, calibration.precisions, inputs, strict=True))
                 and calibration.score_mean.shape == calibration.score_std.shape == (len(inputs) + 1,)
                 # the detector reads the distance signals, the pooled activations and the probabilities
                 and (not calibration.head or calibration.head[0].shape == (len(inputs) + 1 + sum(inputs) + outputs,)))
    if not shapes_ok:
        raise WeightsNotFoundError(f"{Path(folder) / CALIBRATION_FILE} was fitted for another model (its arrays "
                                   f"do not match this model's layers); fit it again with "
                                   f"`python -m digitrec.calibration {folder}`")
