"""The serving graph in TensorFlow, and its export to LiteRT (``model.tflite``).

What a request runs is one graph with two signatures, defined here once:

* ``recognize``: a ``(n, 28, 28, 1)`` batch, read in each of its views (the input and its
  one-pixel shifts), to the "taps" the "not a digit" check reads of the input itself, the
  logits averaged over the views (what is served) and the input's own logits;
* ``inside``: one image, to the activation maps each convolutional block ends with and the
  saliency map, ``|d p(top digit) / d pixel|``, for the app's Inside tab.

:class:`KerasNetwork` runs them in TensorFlow (training, evaluation, fitting, and models
without ``model.tflite``); :func:`export` converts them to ``model.tflite``, which
:class:`digitrec.lite.LiteNetwork` runs without TensorFlow.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import numpy as np

from digitrec.calibration import INK_FEATURES, feature_model
from digitrec.constants import IMAGE_SIZE
from digitrec.lite import BLOCK, GRADIENT, INSIDE, OUTPUT, RECOGNIZE, LiteNetwork, inside_outputs
from digitrec.lite import FILE as LITE_FILE
from digitrec.weights import quiet_native_start

# (down, right) in pixels: the input, then one pixel each way; chosen on validation digits and drawings
# among shifts of one pixel, half a pixel and diagonals (benchmarks/README.md, "Shifted views").
SHIFTS = ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1))
VIEWS_PER_PASS = 1024  # images through the network per TensorFlow pass, their views counted
EXPORT_TOLERANCE = 1e-3  # largest logit difference an export may show against Keras on the check digits


def check_shifts(shifts) -> tuple[tuple[int, int], ...]:
    if not shifts or tuple(shifts[0]) != (0, 0) or any(max(abs(dy), abs(dx)) > 1 for dy, dx in shifts):
        raise ValueError(
            "shifts must be (down, right) pairs of -1, 0 or 1 pixels, the first (0, 0) (the input itself); "
            f"got {shifts!r}"
        )
    return tuple(tuple(s) for s in shifts)


def recognize_fn(model, shifts=SHIFTS):
    """The ``recognize`` signature as a function of a TensorFlow batch: taps, mean logits, own logits."""
    import tensorflow as tf

    shifts = check_shifts(shifts)
    taps = feature_model(model)
    classifier = model.get_layer("probabilities")

    def recognize(x):
        # Each view of the batch, one after the other; a shift brings in background (0) at one edge.
        padded = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])
        views = tf.concat(
            [padded[:, 1 - dy : 1 - dy + IMAGE_SIZE, 1 - dx : 1 - dx + IMAGE_SIZE] for dy, dx in shifts], 0
        )
        # The classifier's logits (its input times its weights), so the temperature divides logits,
        # not log-probabilities: their mean over the views, rows (view, image) back to one per image.
        pooled = taps(views, training=False)
        logits = tf.matmul(pooled[-1], classifier.kernel) + classifier.bias
        mean = tf.reduce_mean(tf.reshape(logits, [len(shifts), -1, logits.shape[-1]]), 0)
        # The "not a digit" check reads the input itself (the first view), as it was designed and
        # measured: what the views average sits nearer the digits and let more letters and clothing
        # through (benchmarks/README.md, "Shifted views").
        n = tf.shape(x)[0]
        return (*(t[:n] for t in pooled), mean, logits[:n])

    return recognize


def inside_fn(model):
    """The ``inside`` signature: ``{"block_0": …, "gradient": …}`` for a batch of one image.

    The saliency is a gradient, and LiteRT has no kernels for TensorFlow's gradients of ReLU and
    max pooling; :func:`_lite_gradients` writes them with ops it has, and they match TensorFlow's own.
    """
    import keras
    import tensorflow as tf

    _lite_gradients()
    # A block ends where the network pools: the input of every pooling layer.
    ends = keras.Model(model.input, [layer.input for layer in model.layers if "Pooling" in type(layer).__name__])

    def inside(image):  # the argument names the signature's input: lite.IMAGE
        with tf.compat.v1.get_default_graph().gradient_override_map(_OVERRIDES):
            probs = model(image, training=False)
        blocks = ends(image, training=False)
        blocks = blocks if isinstance(blocks, list | tuple) else [blocks]
        return {
            **{BLOCK.format(i): b for i, b in enumerate(blocks)},
            GRADIENT: tf.gradients(tf.reduce_max(probs, axis=1), image)[0],
        }

    return inside


class KerasNetwork:
    """Both signatures traced once in TensorFlow and called directly, which skips ``tf.function``'s
    per-call argument dispatch (``benchmarks/predict_latency.py`` measures it)."""

    backend = "keras"

    def __init__(self, model, shifts=SHIFTS):
        import tensorflow as tf

        self.model = model
        self.shifts = check_shifts(shifts)
        self.tap_sizes = [INK_FEATURES, *(int(t.shape[-1]) for t in feature_model(model).outputs)]
        self.classes = int(model.output_shape[-1])
        self.batch = max(1, VIEWS_PER_PASS // len(self.shifts))
        self._recognize = _trace(recognize_fn(model, shifts), tf, None)
        self._inside = None  # traced on first use: only the Inside tab asks

    def run(self, x: np.ndarray) -> list[np.ndarray]:
        """The ``recognize`` outputs for a ``(n, 28, 28, 1)`` float32 batch."""
        return [t.numpy() for t in self._recognize(x)]

    def inside(self, x: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        """Block activation maps and the saliency gradient for a ``(1, 28, 28, 1)`` image."""
        import tensorflow as tf

        if self._inside is None:
            self._inside = _trace(inside_fn(self.model), tf, 1)
        return inside_outputs({k: v.numpy() for k, v in self._inside(tf.constant(x)).items()})


def export(model, folder: str | Path, check: np.ndarray | None = None, shifts=SHIFTS) -> dict:
    """Write ``model.tflite`` beside the weights in ``folder`` and check it runs as Keras does.

    Args:
        model: the Keras model whose weights are in ``folder``.
        check: normalized ``(n, 28, 28)`` inputs both must agree on (a few hundred is plenty;
            :mod:`digitrec.evaluate` checks every evaluation set).
        shifts: the views it reads each input in; other than the default only to measure what
            the views cost (``benchmarks/serving_stages.py``): the app loads such a file as it is.

    Returns:
        ``{"file", "bytes", "weights_sha256", "max_logit_difference", "same_answers", "checked"}``:
        the file exported from the ``model.weights.h5`` with that hash, and how it compares.

    Raises:
        RuntimeError: the export answers differently from Keras.
    """
    import keras
    import tensorflow as tf

    folder = Path(folder)
    archive = keras.export.ExportArchive()
    archive.track(model)
    recognize = recognize_fn(model, shifts)
    outputs = [OUTPUT.format(i) for i in range(len(feature_model(model).outputs) + 2)]

    def named(image):  # the argument names the signature's input: lite.IMAGE
        return dict(zip(outputs, recognize(image), strict=True))

    archive.add_endpoint(RECOGNIZE, named, input_signature=[_spec(tf, None)])
    archive.add_endpoint(INSIDE, inside_fn(model), input_signature=[_spec(tf, 1)])
    with tempfile.TemporaryDirectory() as tmp, quiet_native_start():
        # The rewritten gradients are part of the graph itself; the SavedModel need not carry them.
        archive.write_out(tmp, tf.saved_model.SaveOptions(experimental_custom_gradients=False), verbose=False)
        data = tf.lite.TFLiteConverter.from_saved_model(tmp, signature_keys=[RECOGNIZE, INSIDE]).convert()
    path = folder / LITE_FILE
    path.write_bytes(data)
    record = {"file": LITE_FILE, "bytes": len(data), "weights_sha256": weights_sha256(folder)}
    if check is not None:
        record.update(compare(KerasNetwork(model, shifts), LiteNetwork(path), check))
        if record["max_logit_difference"] > EXPORT_TOLERANCE or not record["same_answers"]:
            path.unlink()
            raise RuntimeError(f"the LiteRT export does not answer as Keras does: {record}")
    return record


def compare(keras_net, lite_net, inputs: np.ndarray) -> dict:
    """How far the two networks' served logits are apart on ``inputs``, and whether every answer is the same."""
    x = np.asarray(inputs, np.float32).reshape(-1, IMAGE_SIZE, IMAGE_SIZE, 1)
    largest, same = 0.0, 0
    for i in range(0, len(x), 256):
        a, b = keras_net.run(x[i : i + 256]), lite_net.run(x[i : i + 256])
        largest = max(largest, max(float(np.abs(p - q).max()) for p, q in zip(a, b, strict=True)))
        same += int((a[-2].argmax(1) == b[-2].argmax(1)).sum())
    return {"max_logit_difference": largest, "same_answers": same == len(x), "checked": len(x)}


def weights_sha256(folder: str | Path) -> str:
    return hashlib.sha256((Path(folder) / "model.weights.h5").read_bytes()).hexdigest()


def _spec(tf, batch):
    return tf.TensorSpec([batch, IMAGE_SIZE, IMAGE_SIZE, 1], tf.float32)


def _trace(fn, tf, batch):
    return tf.function(
        tf.autograph.experimental.do_not_convert(fn), input_signature=[_spec(tf, batch)]
    ).get_concrete_function()


_OVERRIDES = {"Relu": "DigitrecLiteRelu", "MaxPool": "DigitrecLiteMaxPool"}


def _lite_gradients() -> None:
    """Gradients of ReLU and of max pooling (2×2, stride 2: :mod:`digitrec.model`'s) from ops LiteRT
    runs, registered once per process."""
    import tensorflow as tf
    from tensorflow.python.framework import ops  # the registry tf.RegisterGradient writes to

    if _OVERRIDES["Relu"] in ops.gradient_registry.list():
        return

    @tf.RegisterGradient(_OVERRIDES["Relu"])
    def _relu(op, grad):
        return grad * tf.cast(op.outputs[0] > 0, grad.dtype)

    @tf.RegisterGradient(_OVERRIDES["MaxPool"])
    def _max_pool(op, grad):
        # Each window's gradient goes to its first largest input in row order, as TensorFlow's own
        # does: a flat background gives a window four equal activations.
        x, y = op.inputs[0], op.outputs[0]
        free, parts = tf.ones_like(y), []
        for window in tf.split(tf.nn.space_to_depth(x, 2), 4, axis=-1):
            first = tf.cast(tf.equal(window, y), grad.dtype) * free
            parts.append(grad * first)
            free -= first
        return tf.nn.depth_to_space(tf.concat(parts, -1), 2)
