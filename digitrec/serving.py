"""What the web app needs besides its layout: the model it serves, the process settings, the
page's text, and what each event and endpoint does with a request.

The UI handlers never raise: they return an empty result and a message, so the page
stays usable. The API handlers (``api_*``, one per endpoint, named after it) raise
:class:`gradio.Error` with the same message, which clients receive as an error; the
server keeps serving either way.
"""

from __future__ import annotations

import gc
import importlib.util
import logging
import os
import sys
from pathlib import Path
from typing import Any, NamedTuple

import gradio as gr
import numpy as np
from gradio.components.label import LabelConfidence, LabelData

from digitrec import sketchpad
from digitrec.constants import NOT_A_DIGIT, PIXEL_MAX
from digitrec.corrections import FeedbackStore, label_of
from digitrec.decode import to_pil
from digitrec.errors import EmptyImageError, FeedbackError, PreprocessError
from digitrec.explain import Explainer
from digitrec.fairness import request_address
from digitrec.inference import Recognizer

log = logging.getLogger(__name__)

PREVIEW_SCALE = 8  # the 28x28 input is shown 224 px wide, one block per pixel
# Python threads may take the GIL from each other this often (default 5 ms): see tune_process().
SWITCH_INTERVAL_S = 0.0005
KEEP_ALIVE_S = 65  # an idle keep-alive connection stays open this long: see keep_connections_open()

# The page's own JavaScript (named functions under window.digitrec); app.py runs its setup on load.
PAGE_JS = (Path(__file__).with_name("page.js")).read_text()
TITLE = "digitrec: handwritten digit recognizer"
INTRO = (
    "# ✍️ digitrec\nDraw a digit. A CNN trained on MNIST recognizes it as you draw, "
    "and shows the 28×28 image it actually saw."
)
DRAW_PROMPT = (
    "Draw a digit (0-9) in the box. Recognition runs after every stroke. "
    "Drawing small? Pick a thinner brush with the brush-size button."
)
DRAWN, UPLOADED = "your drawing", "your upload"  # what a message is about
UPLOAD_PROMPT = "Upload a photo or scan of a single digit, dark on light or light on dark."
NUMBER_PROMPT = "Write a number (several digits side by side) in the box."
INSIDE_PROMPT = "Draw a digit in the Draw tab, then open this tab to see how the network reads it."
FEEDBACK_ASK = "**Wrong? It was a**"
FEEDBACK_NOTICE = (
    "A click keeps this drawing, the 28×28 input, your answer, the model's answer and the time in {where}, "
    "to improve the model. Nothing is kept unless you click."
)
NO_IMAGE = (
    "no digit found: the Sketchpad value holds no image. /predict, /predict_number and /recognize take "
    f"{sketchpad.EXAMPLE}; a single image file goes to /predict_image."
)


# ---- the model and the process ----------------------------------------------------------------


def load_for_app(requested: str | None = None, configured: str | None = None) -> Recognizer:
    """The app's model: ``requested`` (command line) must load; ``configured`` (``DIGITREC_MODEL``) may fall back.

    A model named on the command line is an explicit request, so any failure is an error
    for the caller to report. One named by a deployment setting falls back to the bundled
    weights with a notice on stderr, so the app still starts.
    """
    use_one_thread_per_op()
    if requested:
        return Recognizer.load(requested)
    if configured:
        try:
            return Recognizer.load(configured)
        except Exception as exc:  # a deployment setting must never keep the app from starting
            shown = configured if len(configured) <= 80 else configured[:80] + "…"
            print(f"notice: could not load {shown} ({exc}); serving the bundled weights instead", file=sys.stderr)
    return Recognizer.load()


def use_one_thread_per_op() -> None:
    """Run each TensorFlow op on one thread, should a model without ``model.tflite`` bring TensorFlow in.

    LiteRT interpreters already run on one thread each (:mod:`digitrec.lite`). A forward pass
    on one 28x28 image is too small to split, yet TensorFlow's default thread pools spin on
    every core while they wait for work, taking CPU from the web server's event loop
    (``benchmarks/app_latency.py`` measures the app). Set through TensorFlow's environment
    variables, so nothing imports it here; a deployment's own values win.
    """
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")


def tune_process() -> None:
    """Interpreter-wide settings for a long-running server; ``python app.py`` calls this, tests do not.

    * Gradio rebuilds a pandas table of the last 10,000 events after every event, for a
      monitoring page this app does not enable: once per 1,000 events instead.
    * Gradio tries ``import matplotlib`` twice per event to pin a plotting backend; without
      matplotlib installed every failed import searches each ``sys.path`` entry on disk
      again. Its absence is recorded once.
    * Gradio and the libraries under it leave hundreds of thousands of long-lived objects
      behind, which each full garbage collection would rescan; freezing them keeps
      collections to what requests create.
    * Pillow, numpy and LiteRT let go of the GIL inside many calls, and a worker thread
      then waits up to the switch interval to get it back: :data:`SWITCH_INTERVAL_S`.

    ``benchmarks/README.md`` has what each of these measured.
    """
    os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "1000")
    if importlib.util.find_spec("matplotlib") is None:
        sys.modules.setdefault("matplotlib", None)
    gc.collect()
    gc.freeze()
    sys.setswitchinterval(SWITCH_INTERVAL_S)


def keep_connections_open(server) -> None:
    """Keep idle HTTP connections open for :data:`KEEP_ALIVE_S` instead of uvicorn's 5 s.

    Works around Gradio 6 starting uvicorn with its default 5 s keep-alive, the same expiry
    as ``httpx``'s connection pool: a client that reuses a pooled connection just as the
    server closes it gets a connection reset (``ReadError``) under sustained load. Servers
    behind proxies commonly keep connections 60-75 s; clients then close theirs first.
    Applies to connections accepted from now on (call it right after launch).
    """
    server.config.timeout_keep_alive = KEEP_ALIVE_S


# ---- what the page shows ----------------------------------------------------------------------


NOT_A_DIGIT_HEADLINE = "Not a digit?"


class Verdict(NamedTuple):
    """What a :class:`VerdictLabel` shows: a headline (the digit, or "Not a digit?") over all ten probabilities."""

    headline: str
    probabilities: dict[str, float]


class VerdictLabel(gr.Label):
    """A ``gr.Label`` whose headline is the verdict, so it never says "0" over a drawing the check calls no digit.

    Works around Gradio 6.31's ``Label.postprocess``, which always headlines a dict's top class, and whose
    ``"confidences"`` branch iterates a dict as if it were a list: a :class:`Verdict` is turned into the
    Label's data here, and anything else goes to Gradio's own postprocess.
    """

    def get_block_name(self) -> str:
        return "label"  # the page draws it with Gradio's own Label

    def postprocess(self, value):
        if isinstance(value, Verdict):
            ranked = sorted(value.probabilities.items(), key=lambda kv: -kv[1])
            return LabelData(
                label=value.headline, confidences=[LabelConfidence(label=k, confidence=v) for k, v in ranked]
            )
        return super().postprocess(value)


class Shown(NamedTuple):
    """What the Draw and Upload tabs each show for their own input; ``app.py`` wires one component to each field."""

    label: Verdict | None  # the verdict over all ten probabilities, for the VerdictLabel
    seen: np.ndarray | None  # the 28x28 input, enlarged
    status: str  # one line of Markdown: the verdict, or what to do


class Inside(NamedTuple):
    """What the Inside tab shows."""

    saliency: np.ndarray | None
    blocks: list[tuple[np.ndarray, str]] | None
    status: str


def preview(x: np.ndarray) -> np.ndarray:
    """The 28x28 model input as a visible uint8 image, enlarged with hard pixel edges."""
    big = np.kron(x, np.ones((PREVIEW_SCALE, PREVIEW_SCALE), np.float32))
    return np.rint(big * PIXEL_MAX).astype(np.uint8)


def _for_ui(fn, image: Any, prompt: str, source: str):
    """``(result, None)``, or ``(None, message)``: the prompt when there is no input, the reason when it is bad,
    naming the ``source`` it is about ("your drawing", "your upload")."""
    if image is None:
        return None, prompt
    try:
        return fn(image), None
    except EmptyImageError as exc:
        return None, prompt if source != UPLOADED else f"⚠️ {source.capitalize()}: {exc}"
    except PreprocessError as exc:
        return None, f"⚠️ {source.capitalize()}: {exc}"


def show_drawing(rec: Recognizer, image: Any, prompt: str = DRAW_PROMPT, source: str = DRAWN) -> Shown:
    """The Draw (or Upload) tab for its own input: probabilities, the input, the verdict."""
    result, message = _for_ui(rec.recognize, image, prompt, source)
    if result is None:
        return Shown(None, None, message)
    p = result.probabilities[result.digit]
    if not result.is_digit:
        return Shown(
            Verdict(NOT_A_DIGIT_HEADLINE, result.probabilities),
            preview(result.input),
            f"🤔 **Not a digit?** This looks like none of the digits the model was trained on "
            f"(closest: {result.digit}, {p:.1%}).",
        )
    return Shown(
        Verdict(result.digit, result.probabilities),
        preview(result.input),
        f"Recognized **{result.digit}** ({p:.1%} confident).",
    )


def show_number(rec: Recognizer, image: Any) -> str:
    """Markdown for the Numbers tab: the number and how sure the model is of each digit."""
    result, message = _for_ui(rec.predict_number, image, NUMBER_PROMPT, "your number")
    if result is None:
        return message
    rows = []
    for i, probs in enumerate(result["digits"], 1):
        ranked = sorted(probs.items(), key=lambda kv: -kv[1])[:3]
        place = f"{i}{'st' if i == 1 else 'nd' if i == 2 else 'rd' if i == 3 else 'th'} from the left"
        rows.append(f"| {place} | **{ranked[0][0]}** | " + ", ".join(f"{d}: {p:.1%}" for d, p in ranked) + " |")
    return f"## {result['number']}\n\n| where | read as | top 3 |\n|---|---|---|\n" + "\n".join(rows)


def show_inside(explainer: Explainer, image: Any) -> Inside:
    """The Inside tab: a saliency map and each block's strongest activation maps."""
    e, message = _for_ui(explainer.explain, image, INSIDE_PROMPT, DRAWN)
    if e is None:
        return Inside(None, None, message)
    gallery = [(mosaic, caption) for caption, mosaic in e.blocks]
    return Inside(
        e.saliency,
        gallery,
        f"Read as **{e.digit}**. Red marks the pixels whose change would most change "
        "that answer; each block shows its 16 most active channels.",
    )


# ---- the API: one handler per endpoint, named after it ----------------------------------------


def api_predict(rec: Recognizer, image: Any) -> dict[str, float]:
    """``/predict`` and ``/predict_image``: all ten probabilities, or a :class:`gradio.Error` saying what was wrong."""
    return _api_call(rec.predict, image)


def api_predict_number(rec: Recognizer, image: Any) -> dict:
    """``/predict_number``: ``{"number": "2026", "digits": [ten probabilities per digit]}``."""
    return _api_call(rec.predict_number, image)


def api_recognize(rec: Recognizer, image: Any) -> dict:
    """``/recognize``: ``{"digit": "7" or None, "is_digit": bool, "probabilities": {...}}``."""

    def verdict(img):
        summary = rec.recognize(img).summary()
        return {k: summary[k] for k in ("digit", "is_digit", "probabilities")}

    return _api_call(verdict, image)


def api_read_digit(rec: Recognizer, image: Any) -> dict:
    """``/read_digit``: the answer for an image file, as the command line's ``--json`` gives it."""
    return _api_call(lambda img: rec.recognize(img).summary(), image)


class Api:
    """The documented endpoints, one method each. Gradio names an MCP tool after its function and describes
    it with the docstring (Gradio 6.31 ``gradio.mcp``: ``fn.__name__``, then ``Args:`` and ``Returns:``), so
    these names and docstrings are what an agent sees. ``sketch`` and ``file`` turn Gradio's raw payloads
    into values :func:`digitrec.preprocess.normalize` reads (:mod:`digitrec.payloads`)."""

    def __init__(self, rec: Recognizer, feedback: FeedbackStore, sketch, file) -> None:
        self.rec, self.feedback, self.sketch, self.file = rec, feedback, sketch, file

    def read_digit(self, image: Any) -> dict:
        """Read the one handwritten digit in an image: a drawing, scan or photo, dark ink on light or the reverse.

        Args:
            image: the image, as an http(s) URL or a data:image/png;base64,... URL (PNG, JPEG or WebP; at most
                10 MB and 25 megapixels).

        Returns:
            {"digit": "7" or null when it is not a digit, "probability": the digit's probability, "is_digit":
            false for a letter, scribble or object, "best_guess": the likeliest digit even then,
            "probabilities": all ten, "0" to "9", summing to 1}.
        """
        return api_read_digit(self.rec, self.file(image))

    def read_number(self, image: Any) -> dict:
        """Read a number: several handwritten digits side by side in one image, left to right.

        Args:
            image: the image, as an http(s) URL or a data:image/png;base64,... URL (at most 16 digits).

        Returns:
            {"number": "2026", "digits": the ten probabilities of each digit, left to right}.
        """
        return api_predict_number(self.rec, self.file(image))

    def digit_probabilities_of_image(self, image: Any) -> dict[str, float]:
        """The ten probabilities of the handwritten digit in an image (the /predict_image endpoint).

        Args:
            image: the image, as an http(s) URL or a data:image/png;base64,... URL.

        Returns:
            Label data: {"label": the likeliest digit, "confidences": all ten digits with their probability}.
        """
        return api_predict(self.rec, self.file(image))

    def digit_probabilities_of_drawing(self, drawing: Any) -> dict[str, float]:
        """The ten probabilities of the digit drawn on a Sketchpad (the /predict endpoint).

        Args:
            drawing: a Sketchpad value: {"background": null, "layers": [], "composite": the drawing as an image}.

        Returns:
            Label data: {"label": the likeliest digit, "confidences": all ten digits with their probability}.
        """
        return api_predict(self.rec, self.sketch(drawing))

    def read_number_in_drawing(self, drawing: Any) -> dict:
        """Read a number written on a Sketchpad (the /predict_number endpoint).

        Args:
            drawing: a Sketchpad value: {"background": null, "layers": [], "composite": the drawing as an image}.

        Returns:
            {"number": "2026", "digits": the ten probabilities of each digit, left to right}.
        """
        return api_predict_number(self.rec, self.sketch(drawing))

    def read_digit_in_drawing(self, drawing: Any) -> dict:
        """Read the digit drawn on a Sketchpad and say whether it is a digit at all (the /recognize endpoint).

        Args:
            drawing: a Sketchpad value: {"background": null, "layers": [], "composite": the drawing as an image}.

        Returns:
            {"digit": "7" or null when it is not a digit, "is_digit": bool, "probabilities": all ten}.
        """
        return api_recognize(self.rec, self.sketch(drawing))

    def report_wrong_answer(self, drawing: Any, image: Any, label: str, request: gr.Request) -> dict:
        """Tell the app what a drawing or image really was, to improve the model (the /report endpoint).

        Args:
            drawing: a Sketchpad value, or null when an image is sent instead.
            image: an image, or null when a drawing is sent.
            label: what it really was: "0" to "9", or "not a digit".

        Returns:
            {"saved": the label, "file": where the drawing was kept in the corrections dataset}.
        """
        picture = self.file(image) if image is not None else self.sketch(drawing)
        return api_report(self.feedback, self.rec, picture, label, request.session_hash or "", request_address(request))


def _api_call(fn, image: Any):
    if image is None:
        raise gr.Error("no image received: send a Sketchpad value or an image file", print_exception=False)
    if sketchpad.holds_no_image(image):
        raise gr.Error(NO_IMAGE, print_exception=False)
    try:
        return fn(image)
    except (PreprocessError, FeedbackError) as exc:
        raise gr.Error(str(exc), print_exception=False) from None
    except Exception:  # keep serving, but do not hide what happened from the operator
        log.exception("unexpected failure while recognizing an image")
        raise gr.Error("internal error while recognizing the image; the server logged the details") from None


# ---- corrections ------------------------------------------------------------------------------


def save_correction(
    store: FeedbackStore, rec: Recognizer, image: Any, label: str, session: str = "", address: str = ""
) -> dict:
    """Keep what the visitor says ``image`` was; ``{"saved": label, "file": path in the dataset}``.

    Raises:
        PreprocessError: no drawing, a bad one, an unknown label, or too many corrections
            (:class:`digitrec.errors.FeedbackError`).
    """
    label = label_of(label)  # before the model runs: a bad label costs nothing
    if image is None or sketchpad.holds_no_image(image):
        raise EmptyImageError("no drawing to correct: draw a digit first")
    drawing = to_pil(image)
    result = rec.recognize(drawing)
    path = store.save(drawing, result, label, rec.source, session, rec.revision, address)
    return {"saved": label, "file": path}


def show_correction(
    store: FeedbackStore, rec: Recognizer, image: Any, label: str, session: str = "", address: str = ""
) -> str:
    """The line under the "Wrong?" buttons after a click."""
    try:
        saved = save_correction(store, rec, image, label, session, address)["saved"]
    except (PreprocessError, FeedbackError) as exc:
        return f"⚠️ {exc}"
    return f"Thanks: saved as {saved if saved == NOT_A_DIGIT else ('an ' if saved == '8' else 'a ') + saved}."


def api_report(
    store: FeedbackStore, rec: Recognizer, image: Any, label: str, session: str = "", address: str = ""
) -> dict:
    """``/report``: keep a correction; ``{"saved": "4", "file": "data/…/….png"}`` or a :class:`gradio.Error`."""
    return _api_call(lambda img: save_correction(store, rec, img, label, session, address), image)
