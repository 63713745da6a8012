"""The real app plus endpoints that stop short of ``/predict``, so its cost can be compared with Gradio's own.

* ``/noop``: Gradio decodes the Sketchpad image, and the function returns at once (Gradio's floor);
* ``/normalize_only``: the app's own path as far as the model input (the raw payload decoded and
  normalized, as ``/predict`` does), then a fixed answer of ten probabilities;
* ``/normalize_wait``: the same, then a sleep as long as the network's forward pass takes on one input
  here (measured at start): what the pass would cost if only its time counted, not its CPU;
* ``/normalize_forward``: the same, then the network's forward pass (all five views), then the fixed answer;
* ``/one_view``: all of ``/predict``, on the model folder named by ``DIGITREC_ONE_VIEW_MODEL`` when set
  (``benchmarks/serving_stages.py`` exports the shipped network reading one view instead of five).
"""

from __future__ import annotations

import os
import time

import gradio as gr
import numpy as np

from app import LIGHT, build_app, serve
from benchmarks.common import timed
from digitrec.constants import CLASS_NAMES, IMAGE_SIZE
from digitrec.inference import Recognizer
from digitrec.payloads import raw_sketchpad
from digitrec.preprocess import normalize
from digitrec.serving import load_for_app, tune_process

ONE_VIEW_ENV = "DIGITREC_ONE_VIEW_MODEL"
FIXED = {name: 1 / len(CLASS_NAMES) for name in CLASS_NAMES}
PASSES_TIMED = 200  # forward passes timed at start for /normalize_wait's sleep


def forward_seconds(rec: Recognizer) -> float:
    """The median wall time of ``rec``'s forward pass on one input, here and now."""
    x = np.zeros((1, IMAGE_SIZE, IMAGE_SIZE), np.float32)
    return float(np.median(timed(lambda: rec.outputs(x), PASSES_TIMED))) / 1000


def noop(value):
    return {"0": 1.0}


if __name__ == "__main__":
    rec = load_for_app()
    demo = build_app(rec)
    wait = forward_seconds(rec)
    tune_process()
    with demo:
        api_sketch = gr.Sketchpad(type="pil", image_mode="RGBA", visible=False)
        gr.Button(visible=False).click(noop, api_sketch, gr.Label(visible=False), api_name="noop")
        raw = gr.Sketchpad(type="pil", image_mode="RGBA", visible=False)
        resolve = raw_sketchpad(raw)
        stages = {
            "normalize_only": lambda value: (normalize(resolve(value)), FIXED)[1],
            "normalize_wait": lambda value: (normalize(resolve(value)), time.sleep(wait), FIXED)[2],
            "normalize_forward": lambda value: (rec.outputs(normalize(resolve(value))[None]), FIXED)[1],
        }
        if os.environ.get(ONE_VIEW_ENV):
            one_view = Recognizer.load(os.environ[ONE_VIEW_ENV])
            stages["one_view"] = lambda value: one_view.predict(resolve(value))
        for name, fn in stages.items():
            gr.Button(visible=False).click(fn, raw, gr.Label(visible=False), api_name=name, **LIGHT)
    serve(demo)
