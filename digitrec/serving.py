"""What the web app and its API do with a request: recognize, or explain clearly why not.

The UI handlers never raise: they return an empty result and a message, so the page
stays usable. The API handlers raise :class:`gradio.Error` with the same message, which
clients receive as an error; the server keeps serving either way.
"""

from __future__ import annotations

import logging
from typing import Any

import gradio as gr
import numpy as np

from digitrec.constants import PIXEL_MAX
from digitrec.inference import Recognizer
from digitrec.preprocess import EmptyImageError, PreprocessError

log = logging.getLogger(__name__)

PREVIEW_SCALE = 8  # the 28x28 input is shown 224 px wide, one block per pixel
DRAW_PROMPT = "Draw a digit (0-9) in the box. Recognition runs after every stroke."
UPLOAD_PROMPT = "Upload a photo or scan of a single digit, dark on light or light on dark."


def preview(x: np.ndarray) -> np.ndarray:
    """The 28x28 model input as a visible uint8 image, enlarged with hard pixel edges."""
    big = np.kron(x, np.ones((PREVIEW_SCALE, PREVIEW_SCALE), np.float32))
    return np.rint(big * PIXEL_MAX).astype(np.uint8)


def _for_ui(fn, image: Any, prompt: str):
    """``(result, None)``, or ``(None, message)``: the prompt when there is no drawing, the reason when it is bad."""
    if image is None:
        return None, prompt
    try:
        return fn(image), None
    except EmptyImageError:
        return None, prompt
    except PreprocessError as exc:
        return None, f"⚠️ {exc}"


def recognize_for_ui(rec: Recognizer, image: Any, prompt: str = DRAW_PROMPT):
    """``(label, preview, message)`` for the page; an empty label and a message when there is no digit."""
    result, message = _for_ui(rec.recognize, image, prompt)
    if result is None:
        return None, None, message
    p = result.probabilities[result.digit]
    if not result.is_digit:
        return result.probabilities, preview(result.input), (
            f"🤔 **Not a digit?** This looks like none of the digits the model was trained on "
            f"(closest: {result.digit}, {p:.1%}).")
    return result.probabilities, preview(result.input), f"Recognized **{result.digit}** ({p:.1%} confident)."


NUMBER_PROMPT = "Write a number (several digits side by side) in the box."


def number_for_ui(rec: Recognizer, image: Any) -> str:
    """Markdown for the Numbers tab: the number and how sure the model is of each digit."""
    result, message = _for_ui(rec.predict_number, image, NUMBER_PROMPT)
    if result is None:
        return message
    rows = []
    for i, probs in enumerate(result["digits"], 1):
        ranked = sorted(probs.items(), key=lambda kv: -kv[1])[:3]
        rows.append(f"| {i} | **{ranked[0][0]}** | " + ", ".join(f"{d}: {p:.1%}" for d, p in ranked) + " |")
    return f"## {result['number']}\n\n| digit | read as | top 3 |\n|---|---|---|\n" + "\n".join(rows)


INSIDE_PROMPT = "Draw a digit in the Draw tab, then open this tab to see how the network reads it."


def explain_for_ui(explainer, image: Any):
    """``(saliency, [(mosaic, caption), …], message)`` for the Inside tab."""
    e, message = _for_ui(explainer.explain, image, INSIDE_PROMPT)
    if e is None:
        return None, None, message
    gallery = [(mosaic, caption) for caption, mosaic in e.blocks]
    return e.saliency, gallery, (f"Read as **{e.digit}**. Red marks the pixels whose change would most change "
                                 "that answer; each block shows its 16 most active channels.")


def number_for_api(rec: Recognizer, image: Any) -> dict:
    """``{"number": "2026", "digits": [ten probabilities per digit]}`` or a :class:`gradio.Error`."""
    return _api_call(rec.predict_number, image)


def recognize_for_api(rec: Recognizer, image: Any) -> dict[str, float]:
    """All ten probabilities, or a :class:`gradio.Error` that says what was wrong with the input."""
    return _api_call(rec.predict, image)


def verdict_for_api(rec: Recognizer, image: Any) -> dict:
    """``{"digit": "7" or None, "is_digit": bool, "probabilities": {...}}``: the recognition with its verdict."""

    def verdict(img):
        result = rec.recognize(img)
        return {"digit": result.digit if result.is_digit else None, "is_digit": result.is_digit,
                "probabilities": result.probabilities}

    return _api_call(verdict, image)


def _api_call(fn, image: Any):
    if image is None:
        raise gr.Error("no image received: send a Sketchpad value or an image file", print_exception=False)
    try:
        return fn(image)
    except PreprocessError as exc:
        raise gr.Error(str(exc), print_exception=False) from None
    except Exception:  # keep serving, but do not hide what happened from the operator
        log.exception("unexpected failure while recognizing an image")
        raise gr.Error("internal error while recognizing the image; the server logged the details") from None
