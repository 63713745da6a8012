"""The real app plus a ``/noop`` endpoint, so API latency can be compared with Gradio's own floor."""

from __future__ import annotations

import sys
from pathlib import Path

import gradio as gr

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import build_app, serve  # noqa: E402
from digitrec import Recognizer  # noqa: E402


def noop(value):
    return {"0": 1.0}


if __name__ == "__main__":
    demo = build_app(load_for_app())
    with demo:
        api_sketch = gr.Sketchpad(type="pil", image_mode="RGBA", visible=False)
        gr.Button(visible=False).click(noop, api_sketch, gr.Label(visible=False), api_name="noop")
    serve(demo)
