"""digitrec web app: draw a digit, see all ten probabilities as you draw.

    python app.py [--model hf://USER/REPO[@REV] | FOLDER]

Serves on http://127.0.0.1:7860 (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT to change).
Layout and wiring only: what each event does is in digitrec/serving.py, the server's
bounds in digitrec/bounds.py (requests), digitrec/fairness.py (each address's share) and
digitrec/limits.py (every number).
"""

from __future__ import annotations

import argparse
import os
import sys
from functools import partial
from pathlib import Path

import gradio as gr
from gradio.utils import get_upload_folder
from starlette.middleware import Middleware

from digitrec.bounds import RequestLimits
from digitrec.cache import start_cache_sweeper, sweep_cache
from digitrec.constants import SKETCH_BRUSH, SKETCH_CANVAS
from digitrec.corrections import LABELS, FeedbackStore
from digitrec.explain import Explainer
from digitrec.fairness import make_fair, request_address
from digitrec.hub import MODEL_ENV, HubError
from digitrec.inference import Recognizer
from digitrec.limits import HEAVY_WORKERS, MAX_FILE_BYTES, QUEUE_SIZE, SESSIONS_KEPT, WORKERS
from digitrec.payloads import raw_sketchpad, uploaded_file
from digitrec.serving import (
    DRAW_PROMPT,
    FEEDBACK_ASK,
    FEEDBACK_NOTICE,
    INSIDE_PROMPT,
    INTRO,
    NUMBER_PROMPT,
    PAGE_JS,
    TITLE,
    UPLOAD_PROMPT,
    UPLOADED,
    Api,
    Inside,
    Shown,
    VerdictLabel,
    keep_connections_open,
    load_for_app,
    show_correction,
    show_drawing,
    show_inside,
    show_number,
    tune_process,
)
from digitrec.weights import WeightsNotFoundError

EXAMPLES = sorted(str(p) for p in (Path(__file__).parent / "examples").glob("*.png"))
# The icon a phone shows for the installed app (pwa=True: Gradio's manifest.json names it, in the sizes
# digitrec.limits.PWA_ICON_SIZES allows); a crossed 7 drawn by digitrec.render.draw_strokes.
ICON = Path(__file__).resolve().parent / "docs" / "icon.png"
CANVAS, BRUSH = (SKETCH_CANVAS, SKETCH_CANVAS), SKETCH_BRUSH
CSS = "#seen img { image-rendering: pixelated; }"
# Every listener that takes an image gets Gradio's raw payload and decodes it through
# digitrec.preprocess, which refuses oversized images before decoding (bounds.raw_sketchpad
# names the Gradio behaviour). Single digits share WORKERS threads; number drawings and
# explanations, the heavy ones, get HEAVY_WORKERS of their own.
LIGHT = dict(preprocess=False, concurrency_id="digits", concurrency_limit=WORKERS)
HEAVY = dict(preprocess=False, concurrency_id="heavy", concurrency_limit=HEAVY_WORKERS)


def sketchpad(**kwargs) -> gr.Sketchpad:
    return gr.Sketchpad(
        type="pil",
        image_mode="RGBA",
        fixed_canvas=True,
        layers=False,
        transforms=(),
        format="png",
        brush=gr.Brush(default_size=BRUSH, colors=["#000000"], color_mode="fixed"),
        eraser=gr.Eraser(default_size=BRUSH * 2),
        **kwargs,
    )


def answer_panel(prefix: str, prompt: str = DRAW_PROMPT) -> Shown:
    """One input's answer: the verdict line, the ten probabilities under the same headline, the 28×28 input."""
    return Shown(
        status=gr.Markdown(prompt, elem_id=f"{prefix}status"),
        label=VerdictLabel(num_top_classes=10, label="Probabilities", elem_id=f"{prefix}label"),
        seen=gr.Image(label="What the model sees (28×28)", interactive=False, height=224, elem_id=f"{prefix}seen"),
    )


def build_app(rec: Recognizer, feedback: FeedbackStore | None = None) -> gr.Blocks:
    """Wire the UI and the API endpoints (``/predict``, ``/predict_image``, ``/predict_number``,
    ``/recognize``, ``/report``) to one recognizer and one store of corrections."""
    explainer = Explainer(rec)
    feedback = feedback or FeedbackStore.from_environment(os.environ)
    notice = FEEDBACK_NOTICE.format(where=feedback.where)
    with gr.Blocks(title=TITLE) as demo:
        gr.Markdown(INTRO)
        # Each tab answers its own input, in a column beside it that a narrow screen puts right under it:
        # on a phone the answer is in view as soon as the finger lifts, and no tab shows another's answer.
        with gr.Tab("Draw"):
            with gr.Row(equal_height=False):
                with gr.Column(min_width=300):
                    sketch = sketchpad(canvas_size=CANVAS, label="Draw here", elem_id="sketch")
                with gr.Column(min_width=300):
                    shown = answer_panel("")
            with gr.Column(visible=False, elem_id="wrong") as wrong:
                gr.Markdown(FEEDBACK_ASK)
                with gr.Row():
                    answers = [gr.Button(label, size="sm", scale=0, min_width=44) for label in LABELS]
            correction = gr.Markdown(notice, visible=False, elem_id="correction")
            examples = gr.Examples(
                EXAMPLES, inputs=sketch, cache_examples=False, label="Or try an example", elem_id="examples"
            )
        with gr.Tab("Numbers"):
            number_sketch = sketchpad(
                canvas_size=(720, 360), height=420, label="Write a number", elem_id="number-sketch"
            )
            number_result = gr.Markdown(NUMBER_PROMPT, elem_id="number-result")
        with gr.Tab("Inside", elem_id="inside-tab") as inside_tab:
            inside = Inside(
                status=gr.Markdown(INSIDE_PROMPT),
                saliency=gr.Image(label="Saliency over the 28×28 input", interactive=False, height=224),
                blocks=gr.Gallery(label="Activation maps of each convolutional block", columns=3, height=260),
            )
        with gr.Tab("Upload"), gr.Row(equal_height=False):
            with gr.Column(min_width=300):
                upload = gr.Image(
                    type="filepath",
                    sources=["upload", "clipboard"],
                    label="Photo or scan of one digit",
                    elem_id="upload",
                )
            with gr.Column(min_width=300):
                uploaded = answer_panel("upload-", UPLOAD_PROMPT)

        drawing, number = raw_sketchpad(sketch), raw_sketchpad(number_sketch)
        private = dict(api_visibility="private", show_progress="hidden")
        sketch.change(
            lambda value: show_drawing(rec, drawing(value)),
            sketch,
            list(shown),
            trigger_mode="always_last",
            js="(value) => window.digitrec.dropIfCleared(value)",
            **private,
            **LIGHT,
        )
        sketch.clear(lambda: Shown(None, None, DRAW_PROMPT), None, list(shown), **private)
        # "Wrong? It was a …" appears with a result and goes with it; a click keeps the correction.
        shown.label.change(
            lambda label: (
                gr.Row(visible=label is not None),
                gr.Markdown(notice, visible=label is not None),
            ),
            shown.label,
            [wrong, correction],
            **private,
        )
        for button, label in zip(answers, LABELS, strict=True):

            def correct(value, request: gr.Request, label=label):
                session, address = request.session_hash or "", request_address(request)
                return show_correction(feedback, rec, drawing(value), label, session, address)

            button.click(correct, sketch, correction, **private, **LIGHT)
        # Loading an example does not fire the Sketchpad's change event: recognize it on click.
        # (Not Examples(run_on_click=True): Gradio then decodes the Sketchpad value before the handler.)
        examples.load_input_event.then(
            lambda value: show_drawing(rec, drawing(value)), sketch, list(shown), **private, **LIGHT
        )
        upload.change(
            lambda value: show_drawing(rec, uploaded_file(value), UPLOAD_PROMPT, UPLOADED),
            upload,
            list(uploaded),
            **private,
            **LIGHT,
        )
        inside_tab.select(
            lambda value: show_inside(explainer, drawing(value)),
            sketch,
            list(inside),
            api_visibility="private",
            **HEAVY,
        )
        number_sketch.change(
            lambda value: show_number(rec, number(value)),
            number_sketch,
            number_result,
            trigger_mode="always_last",
            **private,
            **HEAVY,
        )

        # The documented API: one endpoint per input kind, each an Api method (its name and docstring are what an
        # MCP client sees). Hidden components give each its input type; nothing is decoded before the limits.
        # Not gr.api: in Gradio 6.31 it types its inputs from Python type hints as plain JSON, so a client's
        # handle_file() would not upload the image and the API page would not show the Sketchpad's shape.
        api_sketch = gr.Sketchpad(type="pil", image_mode="RGBA", visible=False)
        api_file = gr.File(type="filepath", visible=False)  # a path: nothing is decoded before the limits
        api = Api(rec, feedback, raw_sketchpad(api_sketch), uploaded_file)
        file_input = {**LIGHT, "preprocess": True}
        for name, fn, inputs, output, kind in (
            ("read_digit", api.read_digit, api_file, gr.JSON(visible=False), file_input),
            ("read_number", api.read_number, api_file, gr.JSON(visible=False), {**HEAVY, "preprocess": True}),
            ("predict", api.digit_probabilities_of_drawing, api_sketch, gr.Label(visible=False), LIGHT),
            ("predict_image", api.digit_probabilities_of_image, api_file, gr.Label(visible=False), file_input),
            ("predict_number", api.read_number_in_drawing, api_sketch, gr.JSON(visible=False), HEAVY),
            ("recognize", api.read_digit_in_drawing, api_sketch, gr.JSON(visible=False), LIGHT),
            (
                "report",
                api.report_wrong_answer,
                [api_sketch, gr.File(visible=False), gr.Textbox(visible=False)],
                gr.JSON(visible=False),
                LIGHT,
            ),
        ):
            gr.Button(visible=False).click(fn, inputs, output, api_name=name, **kind)
    return demo


def serve(demo: gr.Blocks, **launch_kwargs):
    """Queue and launch with the app's limits; tests pass ``prevent_thread_lock=True``."""
    demo.queue(default_concurrency_limit=WORKERS, max_size=QUEUE_SIZE, status_update_rate=1)
    make_fair(demo)  # addresses take turns: a flood from one cannot hold every worker
    cache = get_upload_folder()
    start_cache_sweeper(demo, cache)
    limits = Middleware(RequestLimits, sweep=partial(sweep_cache, demo, cache), blocks=demo)
    block = not launch_kwargs.pop("prevent_thread_lock", False)
    quiet = launch_kwargs.pop("quiet", False)
    started = demo.launch(
        quiet=True,  # Gradio's own lines point at launch(share=True); this app says --share instead
        max_file_size=MAX_FILE_BYTES,
        state_session_capacity=SESSIONS_KEPT,
        show_error=True,
        css=CSS,
        js=f"() => {{ {PAGE_JS}\nwindow.digitrec.setup(); }}",
        # Installable from a phone's browser ("Add to Home screen"), as Gradio already does on a Space, with
        # the app's own icon. It needs the server to recognize anything: no offline mode is offered.
        pwa=True,
        favicon_path=str(ICON),
        app_kwargs={"middleware": [limits]},
        prevent_thread_lock=True,
        **launch_kwargs,
    )
    keep_connections_open(demo.server)
    if not quiet:
        _, local_url, share_url = started
        print(f"digitrec is running at {local_url}" + (f" and {share_url}" if share_url else ""), flush=True)
        if getattr(demo, "mcp_server", False):
            print(f"MCP server at {local_url.rstrip('/')}/gradio_api/mcp/", flush=True)
        print("(--host, --port, --share and --mcp change this; Ctrl+C stops it)", flush=True)
    if block:
        demo.block_thread()
    return started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the digitrec web app.")
    parser.add_argument(
        "--model",
        help="hf://USER/REPO[@REV] or a folder to serve instead of the bundled weights/; "
        f"${MODEL_ENV} does the same but falls back to weights/ if it cannot be loaded",
    )
    # None leaves each to Gradio, which reads GRADIO_SERVER_NAME, GRADIO_SERVER_PORT, GRADIO_SHARE and
    # GRADIO_MCP_SERVER (its defaults: 127.0.0.1, 7860, no public link, no MCP server).
    parser.add_argument("--host", help="address to listen on, e.g. 0.0.0.0 for every network (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default 7860)")
    parser.add_argument("--share", action="store_true", default=None, help="also serve at a public gradio.live link")
    parser.add_argument("--mcp", action="store_true", default=None, help="also serve the API as an MCP server")
    args = parser.parse_args(argv)
    print(f"loading the model from {args.model or os.environ.get(MODEL_ENV) or 'weights/'} ...", flush=True)
    try:
        rec = load_for_app(args.model, os.environ.get(MODEL_ENV))
    except (HubError, WeightsNotFoundError) as exc:
        sys.exit(f"error: {exc}")
    except Exception as exc:  # an explicit --model that fails in any other way is still one line, not a traceback
        sys.exit(f"error: could not load the model ({type(exc).__name__}: {exc})")
    print(
        f"model loaded from {rec.source} (running on {'LiteRT' if rec.backend == 'litert' else 'TensorFlow'})",
        flush=True,
    )
    tune_process()
    launch = {"server_name": args.host, "server_port": args.port, "share": args.share, "mcp_server": args.mcp}
    serve(build_app(rec), **{k: v for k, v in launch.items() if v is not None})


if __name__ == "__main__":
    main()
