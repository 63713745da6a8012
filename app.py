"""digitrec web app: draw a digit, see all ten probabilities as you draw.

    python app.py [--model hf://USER/REPO[@REV] | FOLDER]

Serves on http://127.0.0.1:7860 (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT to change).
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import os
import sys
from functools import partial
from pathlib import Path

import gradio as gr
from gradio.utils import get_upload_folder
from starlette.middleware import Middleware

from digitrec.explain import Explainer
from digitrec.hub import MODEL_ENV, HubError
from digitrec.inference import Recognizer, WeightsNotFoundError
from digitrec.limits import HEAVY_WORKERS, MAX_FILE_BYTES, QUEUE_SIZE, WORKERS
from digitrec.serving import (
    DRAW_PROMPT,
    INSIDE_PROMPT,
    NUMBER_PROMPT,
    UPLOAD_PROMPT,
    RequestLimits,
    explain_for_ui,
    number_for_api,
    number_for_ui,
    raw_sketchpad,
    recognize_for_api,
    recognize_for_ui,
    start_cache_sweeper,
    sweep_cache,
    uploaded_file,
    verdict_for_api,
)

EXAMPLES = sorted(str(p) for p in (Path(__file__).parent / "examples").glob("*.png"))
CANVAS = (400, 400)
BRUSH = 20  # px on the 400 px canvas: after scaling a drawn digit into 20 px, strokes are MNIST-thick
SWITCH_INTERVAL_S = 0.0005  # how often Python threads may take the GIL from each other: see serve()
# The Sketchpad sends a stroke's picture only after uploading it, so on a busy server a
# clear can overtake the last stroke. Its late change event then carries a drawing that is
# no longer on the canvas: when the visitor's last action was a clear, send nothing instead.
DROP_IF_CLEARED = "(value) => (window.digitrecClearedAt || 0) > (window.digitrecDrawnAt || 0) ? null : value"
CSS = """
#seen img { image-rendering: pixelated; }
"""
# Gradio's Sketchpad starts, and returns after "Clear canvas" or a tab switch, with no
# tool selected; pick the brush each time so visitors can simply draw. The page also notes
# when the visitor last drew (or picked an example) and last cleared: see DROP_IF_CLEARED.
ON_LOAD = """
() => {
  document.addEventListener('pointerdown', (event) => {
    if (event.target.closest('#sketch canvas, #examples')) window.digitrecDrawnAt = performance.now();
  }, true);
  document.addEventListener('click', (event) => {
    if (event.target.closest('#examples')) window.digitrecDrawnAt = performance.now();
    if (event.target.closest('#sketch button[aria-label="Clear canvas"]')) window.digitrecClearedAt = performance.now();
  }, true);
  const pick = (tries) => {
    let found = false;
    document.querySelectorAll('#sketch, #number-sketch').forEach((pad) => {
      const brush = pad.querySelector('button[aria-label="Brush"]');
      if (!brush) return;
      found = true;
      if (pad.innerText.includes('select the draw tool')) brush.click();
    });
    if (!found && tries > 0) setTimeout(() => pick(tries - 1), 200);
  };
  pick(50);
  document.addEventListener('click', (event) => {
    if (event.target.closest('button[aria-label="Clear canvas"], button[role="tab"]')) {
      setTimeout(() => pick(10), 150);
    }
  }, true);
}
"""


def build_app(rec: Recognizer) -> gr.Blocks:
    """Wire the UI and the API endpoints (``/predict``, ``/predict_image``, ``/predict_number``,
    ``/recognize``) to one recognizer."""
    ui = partial(recognize_for_ui, rec)
    api = partial(recognize_for_api, rec)

    with gr.Blocks(title="digitrec: handwritten digit recognizer") as demo:
        # The result panel is created first (rendered further down) so examples can fill it.
        status = gr.Markdown(DRAW_PROMPT, elem_id="status", render=False)
        label = gr.Label(num_top_classes=10, label="Probabilities", elem_id="label", render=False)
        seen = gr.Image(label="What the model sees (28×28)", interactive=False, height=224, elem_id="seen",
                        render=False)
        ui_outputs = [label, seen, status]
        gr.Markdown(
            "# ✍️ digitrec\nDraw a digit. A CNN trained on MNIST recognizes it as you draw, "
            "and shows the 28×28 image it actually saw."
        )
        with gr.Row(equal_height=False):
            with gr.Column(min_width=300):
                with gr.Tab("Draw"):
                    sketch = gr.Sketchpad(
                        type="pil",
                        image_mode="RGBA",
                        canvas_size=CANVAS,
                        fixed_canvas=True,
                        brush=gr.Brush(default_size=BRUSH, colors=["#000000"], color_mode="fixed"),
                        eraser=gr.Eraser(default_size=BRUSH * 2),
                        layers=False,
                        transforms=(),
                        format="png",
                        label="Draw here (mouse, pen or finger)",
                        elem_id="sketch",
                    )
                    drawing = raw_sketchpad(sketch)
                    if EXAMPLES:
                        examples = gr.Examples(EXAMPLES, inputs=sketch, cache_examples=False,
                                               label="Or try an example", elem_id="examples")
                with gr.Tab("Numbers"):
                    number_sketch = gr.Sketchpad(
                        type="pil", image_mode="RGBA", canvas_size=(720, 360), fixed_canvas=True, height=420,
                        brush=gr.Brush(default_size=BRUSH, colors=["#000000"], color_mode="fixed"),
                        eraser=gr.Eraser(default_size=BRUSH * 2), layers=False, transforms=(), format="png",
                        label="Write a number", elem_id="number-sketch",
                    )
                    numbers = raw_sketchpad(number_sketch)
                    number_result = gr.Markdown(NUMBER_PROMPT, elem_id="number-result")
                with gr.Tab("Inside", elem_id="inside-tab") as inside_tab:
                    inside_status = gr.Markdown(INSIDE_PROMPT)
                    saliency = gr.Image(label="Saliency over the 28×28 input", interactive=False, height=224)
                    blocks = gr.Gallery(label="Activation maps of each convolutional block", columns=3, height=260)
                with gr.Tab("Upload"):
                    upload = gr.Image(
                        type="filepath",
                        sources=["upload", "clipboard"],
                        label="Photo or scan of one digit",
                        elem_id="upload",
                    )
            with gr.Column(min_width=300):
                status.render()
                label.render()
                seen.render()

        # Every listener that takes an image gets Gradio's raw payload (preprocess=False) and decodes
        # it through digitrec.preprocess, which refuses oversized images before decoding
        # (serving.raw_sketchpad says which Gradio behaviour this works around). Single digits share
        # WORKERS threads; number drawings and explanations, the heavy ones, get HEAVY_WORKERS.
        light = dict(preprocess=False, concurrency_id="digits", concurrency_limit=WORKERS)
        heavy = dict(preprocess=False, concurrency_id="heavy", concurrency_limit=HEAVY_WORKERS)
        sketch.change(lambda value: ui(drawing(value)), sketch, ui_outputs, api_visibility="private",
                      show_progress="hidden", trigger_mode="always_last", js=DROP_IF_CLEARED, **light)
        if EXAMPLES:
            # Loading an example does not fire the Sketchpad's change event: recognize it on click. (Not
            # Examples(run_on_click=True): Gradio then decodes the Sketchpad value before the handler.)
            examples.load_input_event.then(lambda value: ui(drawing(value)), sketch, ui_outputs,
                                           api_visibility="private", show_progress="hidden", **light)
        sketch.clear(partial(ui, None), None, ui_outputs, api_visibility="private", show_progress="hidden")
        upload.change(lambda value: ui(uploaded_file(value), prompt=UPLOAD_PROMPT), upload, ui_outputs,
                      api_visibility="private", show_progress="hidden", **light)
        explainer = Explainer(rec)
        inside_tab.select(lambda value: explain_for_ui(explainer, drawing(value)), sketch,
                          [saliency, blocks, inside_status], api_visibility="private", **heavy)
        number_sketch.change(lambda value: number_for_ui(rec, numbers(value)), number_sketch, number_result,
                             api_visibility="private", show_progress="hidden", trigger_mode="always_last", **heavy)

        # The documented API: one endpoint per input kind, each returning the Label's data.
        api_sketch = gr.Sketchpad(type="pil", image_mode="RGBA", visible=False)
        api_value = raw_sketchpad(api_sketch)
        api_file = gr.File(type="filepath", visible=False)
        api_label = gr.Label(num_top_classes=10, visible=False)
        gr.Button(visible=False).click(lambda value: api(api_value(value)), api_sketch, api_label,
                                       api_name="predict", **light)
        gr.Button(visible=False).click(api, api_file, api_label, api_name="predict_image",
                                       concurrency_id="digits", concurrency_limit=WORKERS)
        gr.Button(visible=False).click(lambda value: number_for_api(rec, api_value(value)), api_sketch,
                                       gr.JSON(visible=False), api_name="predict_number", **heavy)
        gr.Button(visible=False).click(lambda value: verdict_for_api(rec, api_value(value)), api_sketch,
                                       gr.JSON(visible=False), api_name="recognize", **light)
    return demo


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the digitrec web app.")
    parser.add_argument("--model", help="hf://USER/REPO[@REV] or a folder to serve instead of the bundled weights/; "
                        f"${MODEL_ENV} does the same but falls back to weights/ if the Hub cannot provide it")
    args = parser.parse_args()
    try:
        rec = Recognizer.load_for_app(args.model, os.environ.get(MODEL_ENV))
    except (HubError, WeightsNotFoundError) as exc:
        sys.exit(f"error: {exc}")
    except Exception as exc:  # an explicit --model that fails in any other way is still one line, not a traceback
        sys.exit(f"error: could not load the model ({type(exc).__name__}: {exc})")
    print(f"model loaded from {rec.source}")
    serve(build_app(rec))


def serve(demo: gr.Blocks, **launch_kwargs):
    """Queue and launch with the app's limits; tests pass ``prevent_thread_lock=True``."""
    # Gradio rebuilds a pandas table of the last 10,000 events after every event, for a
    # monitoring page this app does not enable; at a few ms per event it capped throughput.
    os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "1000")
    # Eight workers keep both cores busy (image decoding and the forward pass release the
    # GIL; 8 served about 7% more than 4 at 32 clients) without letting a burst of requests
    # pile up unbounded: the 257th waiting request is refused.
    # Queue positions go out once a second, not to every waiting client after every event.
    demo.queue(default_concurrency_limit=WORKERS, max_size=QUEUE_SIZE, status_update_rate=1)
    # Gradio tries `import matplotlib` twice per event, to pin a plotting backend. Without
    # matplotlib installed, every failed import searches each sys.path entry on disk again:
    # about 15% of the event loop's time under load (py-spy). Record the absence once.
    if importlib.util.find_spec("matplotlib") is None:
        sys.modules.setdefault("matplotlib", None)
    # TensorFlow, the model and Gradio leave ~400,000 long-lived objects behind, and each full
    # garbage collection rescanned them all in 230-260 ms, stalling every request in flight.
    # Freezing them keeps full collections to the objects requests create (10-20 ms).
    gc.collect()
    gc.freeze()
    # Pillow, numpy and TensorFlow let go of the GIL inside many calls (10-12 times in one
    # prediction), and the worker thread then waits for the event loop to hand it back: up to
    # the 5 ms default switch interval each time. Under 32 clients a 2-3 ms prediction took
    # 18-22 ms of wall time. A 0.5 ms interval served 6-8% more requests per second.
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    cache = get_upload_folder()
    start_cache_sweeper(demo, cache)
    limits = Middleware(RequestLimits, sweep=partial(sweep_cache, demo, cache))
    return demo.launch(max_file_size=MAX_FILE_BYTES, show_error=True, css=CSS, js=ON_LOAD,
                       app_kwargs={"middleware": [limits]}, **launch_kwargs)


if __name__ == "__main__":
    main()
