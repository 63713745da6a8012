"""The serving graph (:mod:`digitrec.graph`) run on LiteRT, without TensorFlow.

LiteRT (``ai-edge-litert``) is TensorFlow Lite's runtime as its own package: a few
megabytes that load in a fraction of a second, where TensorFlow maps hundreds.
An interpreter holds the buffers of the pass it runs (and its own packed copy of the
weights), so it serves one thread at a time: a thread borrows one from a small pool, built
from the same model bytes as they are first needed, and gives it back. More interpreters
than cores would only queue at the CPU and hold more memory (``benchmarks/app_latency.py``
measures the app with them).
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from pathlib import Path

import numpy as np

from digitrec.calibration import INK_FEATURES
from digitrec.constants import IMAGE_SIZE
from digitrec.errors import WeightsNotFoundError
from digitrec.weights import quiet_native_start

FILE = "model.tflite"  # beside the weights; digitrec.graph writes it
IMAGES_PER_PASS = 64  # images per interpreter call: an interpreter keeps buffers for the largest pass it ran
# One pass on two threads: half the latency of one, and the same throughput with many requests at once
# (benchmarks/README.md, "Serving on LiteRT").
THREADS_PER_INTERPRETER = min(2, os.cpu_count() or 1)
INTERPRETERS = min(8, os.cpu_count() or 1)  # at most this many passes at once, each on its own interpreter
EXPORT_COMMAND = "python -m digitrec.evaluate {folder} --export-only"  # writes model.tflite beside the weights
# The exported graph's two signatures (digitrec.graph), each with one input, IMAGE. RECOGNIZE's outputs are
# OUTPUT.format(i): the taps, then the mean logits, then the input's own logits; INSIDE's are BLOCK.format(i)
# for each convolutional block, then GRADIENT.
RECOGNIZE, INSIDE, IMAGE = "recognize", "inside", "image"
OUTPUT, BLOCK, GRADIENT = "out_{}", "block_{}", "gradient"


def inside_outputs(out: dict) -> tuple[list[np.ndarray], np.ndarray]:
    """The ``inside`` signature's outputs for one image: its block activation maps, and the saliency gradient."""
    return [out[BLOCK.format(i)][0] for i in range(len(out) - 1)], out[GRADIENT][0, ..., 0]


class LiteNetwork:
    """``model.tflite``'s two signatures, with :class:`digitrec.graph.KerasNetwork`'s interface."""

    backend = "litert"

    def __init__(self, path: str | Path):
        from ai_edge_litert.interpreter import Interpreter  # imported here: a light import, but only models use it

        self._interpreter_class = Interpreter
        self.path = Path(path)
        self._model = self.path.read_bytes()
        self._idle: queue.LifoQueue = queue.LifoQueue()  # built interpreters not in use, the warmest on top
        self._built = 0
        self._lock = threading.Lock()
        try:
            # The first pass prints LiteRT's "Created TensorFlow Lite XNNPACK delegate" line, once per process.
            with self._runners() as runners, quiet_native_start():
                outputs = runners(RECOGNIZE).get_output_details()
                runners(RECOGNIZE)(**{IMAGE: np.zeros((1, IMAGE_SIZE, IMAGE_SIZE, 1), np.float32)})
                runners(INSIDE)
        except (ValueError, RuntimeError) as exc:
            raise WeightsNotFoundError(
                f"{self.path} is not a digitrec LiteRT model ({str(exc).splitlines()[0][:100]}); export it again: "
                f"`{EXPORT_COMMAND.format(folder=self.path.parent)}`"
            ) from None
        sizes = [int(outputs[OUTPUT.format(i)]["shape"][-1]) for i in range(len(outputs))]
        self.tap_sizes = [INK_FEATURES, *sizes[:-2]]  # what the "not a digit" check reads, as KerasNetwork's
        self.classes = sizes[-1]
        self.batch = IMAGES_PER_PASS

    def run(self, x: np.ndarray) -> list[np.ndarray]:
        """The ``recognize`` outputs for a ``(n, 28, 28, 1)`` float32 batch."""
        with self._runners() as runners:
            out = runners(RECOGNIZE)(**{IMAGE: np.ascontiguousarray(x, np.float32)})
        return [out[OUTPUT.format(i)] for i in range(len(out))]

    def inside(self, x: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        """Block activation maps and the saliency gradient for a ``(1, 28, 28, 1)`` image."""
        image = np.ascontiguousarray(x, np.float32).reshape(1, IMAGE_SIZE, IMAGE_SIZE, 1)
        with self._runners() as runners:
            out = runners(INSIDE)(**{IMAGE: image})
        return inside_outputs(out)

    @contextlib.contextmanager
    def _runners(self):
        """The signatures of an interpreter that is this thread's alone until the block ends: an idle
        one, a new one while fewer than :data:`INTERPRETERS` exist, or else the next one given back."""
        try:
            runners = self._idle.get_nowait()
        except queue.Empty:
            with self._lock:
                build = self._built < INTERPRETERS
                self._built += build
            runners = self._new_runners() if build else self._idle.get()
        try:
            yield runners
        finally:
            self._idle.put(runners)

    def _new_runners(self):
        interpreter = self._interpreter_class(model_content=self._model, num_threads=THREADS_PER_INTERPRETER)
        made: dict = {}

        def runner(signature: str):
            if signature not in made:
                made[signature] = interpreter.get_signature_runner(signature)
            return made[signature]

        return runner
