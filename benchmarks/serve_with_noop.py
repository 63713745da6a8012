"""The real app plus endpoints that stop short of ``/predict``, so its cost can be compared with Gradio's own.

* ``/noop``: Gradio decodes the Sketchpad image, and the function returns at once (Gradio's floor);
* ``/normalize_only``: the app's own path as far as the model input (the raw payload decoded and
  normalized, as ``/predict`` does), then a fixed answer of ten probabilities;
* ``/one_view``: all of ``/predict``, on the model folder named by ``DIGITREC_ONE_VIEW_MODEL`` when set
  (``benchmarks/serving_stages.py`` exports the shipped network reading one view instead of five).
"""

from __future__ import annotations

import os

import gradio as gr

from app import LIGHT, build_app, serve
from digitrec.constants import CLASS_NAMES
from digitrec.inference import Recognizer
from digitrec.payloads import raw_sketchpad
from digitrec.preprocess import normalize
from digitrec.serving import load_for_app, tune_process

ONE_VIEW_ENV = "DIGITREC_ONE_VIEW_MODEL"
FIXED = {name: 1 / len(CLASS_NAMES) for name in CLASS_NAMES}


def noop(value):
    return {"0": 1.0}


if __name__ == "__main__":
    demo = build_app(load_for_app())
    tune_process()
    with demo:
        api_sketch = gr.Sketchpad(type="pil", image_mode="RGBA", visible=False)
        gr.Button(visible=False).click(noop, api_sketch, gr.Label(visible=False), api_name="noop")
        raw = gr.Sketchpad(type="pil", image_mode="RGBA", visible=False)
        resolve = raw_sketchpad(raw)
        stages = {"normalize_only": lambda value: (normalize(resolve(value)), FIXED)[1]}
        if os.environ.get(ONE_VIEW_ENV):
            one_view = Recognizer.load(os.environ[ONE_VIEW_ENV])
            stages["one_view"] = lambda value: one_view.predict(resolve(value))
        for name, fn in stages.items():
            gr.Button(visible=False).click(fn, raw, gr.Label(visible=False), api_name=name, **LIGHT)
    serve(demo)
