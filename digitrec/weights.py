"""A model folder: where the bundled one lives, what it holds, and loading it safely.

The layout is the one Keras 3 writes for ``model.save("hf://…")`` (``config.json``,
``metadata.json``, ``model.weights.h5``) plus what travels with the weights:
``training.json`` (architecture, class names, settings, history), ``metrics.json``
(measured results), ``calibration.npz`` and the model card ``README.md``.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

from digitrec.constants import CLASS_NAMES
from digitrec.errors import WeightsNotFoundError

WEIGHTS = Path(__file__).resolve().parent.parent / "weights"  # the model shipped with the app
MAX_CLASS_NAME = 32  # characters in a class name: the page and the API show every one
KERAS_FILES = ("config.json", "model.weights.h5")  # what a folder needs to load at all
# Everything a model folder (and a model repo on the Hub) holds; nothing else is uploaded or downloaded.
MODEL_FILES = (
    "config.json",
    "metadata.json",
    "model.weights.h5",
    "model.tflite",
    "training.json",
    "metrics.json",
    "calibration.npz",
    "README.md",
    "confusion_matrix.png",
    "training_curves.png",
)


@contextlib.contextmanager
def quiet_native_start():
    """Native start-up lines silenced, which Python cannot catch: TensorFlow's, which on a machine without
    a GPU probes CUDA and prints ten lines to the process's stderr, an E-level "failed call to cuInit"
    among them; and LiteRT's note on its first pass. ``TF_CPP_MIN_LOG_LEVEL`` stays yours to set; the
    lines absl prints regardless go too."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def load_keras_folder(folder: str | Path):
    """Load a Keras 3 model directory in safe mode (no code in the config runs), with errors that say what to do."""
    folder = Path(folder)
    missing = [name for name in KERAS_FILES if not (folder / name).is_file()]
    if missing:
        raise WeightsNotFoundError(
            f"no weights in {folder} (missing {', '.join(missing)}): run `python train.py`, "
            f"or `python -m digitrec.hub pull USER/REPO --to {folder}`"
        )
    with quiet_native_start():
        import keras  # heavy: only code that loads a model pays for TensorFlow

    try:
        with quiet_native_start():
            return keras.saving.load_model(folder, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for corrupt or foreign files
        # Keras 3 answers a truncated weights file with an UnboundLocalError from its own loader, and a
        # foreign config with a dump of it: one line that names the file says more.
        if isinstance(exc, UnboundLocalError | OSError):
            what = "model.weights.h5 is truncated or not a Keras weights file"
        else:
            what = f"config.json does not describe this model ({str(exc).splitlines()[0][:100]})"
        raise WeightsNotFoundError(
            f"the model in {folder} could not be loaded: {what}. Pull or train it again."
        ) from exc


def read_info(folder: str | Path) -> dict:
    """``training.json``: the metadata that travels with the weights, or ``{}`` when there is none.

    Raises:
        WeightsNotFoundError: the file is there but is not a JSON object.
    """
    return _read_json(Path(folder) / "training.json")


def read_metrics(folder: str | Path) -> dict:
    """``metrics.json``: the results measured by ``python -m digitrec.evaluate``, or ``{}``."""
    return _read_json(Path(folder) / "metrics.json")


def write_metrics(folder: str | Path, metrics: dict) -> Path:
    path = Path(folder) / "metrics.json"
    path.write_text(json.dumps(metrics, indent=2))
    return path


def class_names(info: dict, outputs: int, folder: str | Path) -> tuple[str, ...]:
    """The class names in ``info``, checked against the model's number of outputs."""
    names = info.get("class_names", list(CLASS_NAMES))
    if (
        not isinstance(names, list | tuple)
        or len(names) != outputs
        or not all(isinstance(n, str) and 0 < len(n) <= MAX_CLASS_NAME for n in names)
        or len(set(names)) != len(names)
    ):
        raise WeightsNotFoundError(
            f"training.json: class_names must be {outputs} different strings of 1-{MAX_CLASS_NAME} characters, "
            f"one per model output; got {str(names)[:80]}"
        )
    return tuple(names)


def _read_json(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WeightsNotFoundError(f"{path} is not readable JSON ({exc}); pull or train the model again") from None
    if not isinstance(data, dict):
        raise WeightsNotFoundError(f"{path} must hold a JSON object; it holds a {type(data).__name__}")
    return data
