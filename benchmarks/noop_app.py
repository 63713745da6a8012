"""A Gradio app that loads no model: a Sketchpad whose ``/predict`` answers at once.

What a Gradio app costs to start on this machine, the baseline ``benchmarks/app_latency.py``
measures the real app's cold start against.
"""

from __future__ import annotations

import gradio as gr


def noop(value):
    return {"0": 1.0}


if __name__ == "__main__":
    with gr.Blocks() as demo:
        sketch = gr.Sketchpad(type="pil", image_mode="RGBA")
        gr.Button().click(noop, sketch, gr.Label(), api_name="predict")
    demo.launch()
