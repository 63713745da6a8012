"""The real app plus a ``/noop`` endpoint, so API latency can be compared with Gradio's own floor."""

from __future__ import annotations

import gradio as gr

from app import build_app, serve
from digitrec.serving import load_for_app, tune_process


def noop(value):
    return {"0": 1.0}


if __name__ == "__main__":
    demo = build_app(load_for_app())
    tune_process()
    with demo:
        api_sketch = gr.Sketchpad(type="pil", image_mode="RGBA", visible=False)
        gr.Button(visible=False).click(noop, api_sketch, gr.Label(visible=False), api_name="noop")
    serve(demo)
