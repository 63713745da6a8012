"""What the web app and its API do with a request: recognize, or explain clearly why not.

The UI handlers never raise: they return an empty result and a message, so the page
stays usable. The API handlers raise :class:`gradio.Error` with the same message, which
clients receive as an error; the server keeps serving either way.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from pathlib import Path
from typing import Any

import anyio
import gradio as gr
import numpy as np

from digitrec.constants import PIXEL_MAX
from digitrec.inference import Recognizer
from digitrec.limits import (
    CACHE_MAX_AGE_S,
    CACHE_MAX_BYTES,
    CACHE_SWEEP_S,
    MAX_FILE_BYTES,
    MAX_LAYERS,
    MAX_UPLOAD_FILES,
)
from digitrec.preprocess import EmptyImageError, PreprocessError

log = logging.getLogger(__name__)

PREVIEW_SCALE = 8  # the 28x28 input is shown 224 px wide, one block per pixel
FILE_ROUTES = ("/gradio_api/upload", "/gradio_api/component_server")
BLOB_STORE_BYTES = 64 * 1024 * 1024  # Sketchpad images waiting for their event, all visitors together
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


NO_IMAGE = ("no digit found: the Sketchpad value holds no image. /predict, /predict_number and /recognize take "
            '{"background": null, "layers": [], "composite": <image file>}; a single image file goes to /predict_image.')


def _api_call(fn, image: Any):
    if image is None:
        raise gr.Error("no image received: send a Sketchpad value or an image file", print_exception=False)
    if isinstance(image, dict) and not any(image.get(part) for part in ("composite", "background", "layers")):
        raise gr.Error(NO_IMAGE, print_exception=False)
    try:
        return fn(image)
    except PreprocessError as exc:
        raise gr.Error(str(exc), print_exception=False) from None
    except Exception:  # keep serving, but do not hide what happened from the operator
        log.exception("unexpected failure while recognizing an image")
        raise gr.Error("internal error while recognizing the image; the server logged the details") from None


# ---------------------------------------------------------------------------------------------
# Bounds a public server needs beyond what Gradio enforces (limits in digitrec.limits).


def raw_sketchpad(component: gr.Sketchpad):
    """A function that turns a Sketchpad listener's raw payload (``preprocess=False``) into a value
    :func:`digitrec.preprocess.normalize` reads, checking sizes before decoding.

    Works around ``gradio.ImageEditor.preprocess`` (Gradio 6): it opens and converts the composite,
    the background and every layer before the handler runs, so an 8900×8900 1-bit PNG of 10 KB
    becomes 317 MB per layer, and a 60 MP composite is decoded before any limit can refuse it.
    The page's own canvas sends its images to ``accept_blobs`` and the event carries only their
    id; those blobs are taken out of the component's store here, as Gradio's preprocess does.
    """
    component.blob_storage = BlobStore()

    def resolve(payload: Any) -> Any:
        if not isinstance(payload, dict):
            return payload
        blob_id = payload.get("id")
        if blob_id is not None:
            blobs = component.blob_storage.pop(blob_id, None)
            if blobs is not None:
                return {"background": blobs.background, "layers": list(blobs.layers), "composite": blobs.composite}
        return payload

    return resolve


def uploaded_file(payload: Any) -> Any:
    """The path in a raw ``gr.Image`` upload payload (``preprocess=False``): see :func:`raw_sketchpad`;
    ``gradio.Image.preprocess`` decodes the upload before any limit can refuse it."""
    if isinstance(payload, dict) and "path" in payload:
        return payload["path"]
    return payload


class BlobStore(dict):
    """``gradio.ImageEditor.blob_storage`` with a bound: images the page sent ahead of an event,
    by id. Gradio keeps them until that event arrives, so ids that never get an event would
    pile up; past :data:`BLOB_STORE_BYTES` the oldest go."""

    def __setitem__(self, key, value) -> None:
        super().pop(key, None)
        super().__setitem__(key, value)
        while len(self) > 1 and sum(_blob_bytes(v) for v in self.values()) > BLOB_STORE_BYTES:
            super().pop(next(iter(self)))


def _blob_bytes(blobs) -> int:
    parts = [blobs.background, blobs.composite, *blobs.layers]
    return sum(len(p) for p in parts if isinstance(p, (bytes, bytearray)))


class RequestLimits:
    """ASGI middleware: bounds the two routes that take files before any handler runs.

    ``/gradio_api/upload`` and ``/gradio_api/component_server`` (where the Sketchpad sends its
    images) accept up to 1,000 files of ``max_file_size`` each in Gradio 6. Here a request may
    carry at most :data:`MAX_UPLOAD_FILES` files and their bytes, and a Sketchpad image's layer
    index must be below :data:`MAX_LAYERS` (Gradio grows a list to any index it is sent). After
    each upload the cache is swept (:func:`sweep_cache`), at most once a second.
    """

    def __init__(self, app, sweep=None) -> None:
        self.app, self.sweep, self._last_sweep = app, sweep, 0.0

    async def __call__(self, scope, receive, send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or scope.get("method") != "POST" or not path.endswith(FILE_ROUTES):
            return await self.app(scope, receive, send)
        cap = MAX_UPLOAD_FILES * MAX_FILE_BYTES + 64 * 1024
        length = dict(scope.get("headers", [])).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > cap):
            return await _refuse(send, 413, f"request too large: at most {MAX_UPLOAD_FILES} files of "
                                            f"{MAX_FILE_BYTES // 2**20} MB each")
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if len(body) > cap:
                return await _refuse(send, 413, f"request too large: at most {MAX_UPLOAD_FILES} files of "
                                                f"{MAX_FILE_BYTES // 2**20} MB each")
            if not message.get("more_body"):
                break
        files = body.count(b"filename=")
        if files > MAX_UPLOAD_FILES:
            return await _refuse(send, 413, f"too many files in one request: {files}; at most {MAX_UPLOAD_FILES}")
        index = re.search(rb'name="index"\r\n\r\n([^\r]*)\r\n', bytes(body))
        if index and index.group(1) not in (b"", b"null") and not (
                index.group(1).isdigit() and int(index.group(1)) < MAX_LAYERS):
            return await _refuse(send, 400, f"a Sketchpad may have at most {MAX_LAYERS} layers")

        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)
        if self.sweep is not None and path.endswith("/upload") and time.monotonic() - self._last_sweep > 1:
            self._last_sweep = time.monotonic()
            await anyio.to_thread.run_sync(self.sweep)


async def _refuse(send, status: int, message: str) -> None:
    body = message.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def sweep_cache(blocks: gr.Blocks, folder: str | Path, max_age_s: float = CACHE_MAX_AGE_S,
                max_bytes: int = CACHE_MAX_BYTES) -> int:
    """Delete uploads and results older than ``max_age_s``, then the oldest until at most ``max_bytes``
    remain. Files Gradio must keep (examples, default values) stay. Returns how many were deleted."""
    keep = set()
    for block in blocks.blocks.values():
        keep.update(str(p) for p in getattr(block, "keep_in_cache", ()))
    files = []
    for path in Path(folder).rglob("*"):
        try:
            if path.is_file() and not path.is_symlink() and str(path) not in keep:
                stat = path.stat()
                files.append((stat.st_mtime, stat.st_size, path))
        except OSError:
            continue
    files.sort()
    now, total, deleted = time.time(), sum(size for _, size, _ in files), 0
    for mtime, size, path in files:
        if now - mtime <= max_age_s and total <= max_bytes:
            break
        with contextlib.suppress(OSError):
            path.unlink()
            total -= size
            deleted += 1
            with contextlib.suppress(OSError):
                path.parent.rmdir()  # Gradio keeps each file in a folder of its own
    return deleted


def start_cache_sweeper(blocks: gr.Blocks, folder: str | Path, every_s: float = CACHE_SWEEP_S) -> threading.Thread:
    """Sweep the cache every ``every_s`` seconds in a daemon thread (see :func:`sweep_cache`)."""

    def run():
        while True:
            time.sleep(every_s)
            try:
                sweep_cache(blocks, folder)
            except Exception:  # never let housekeeping take the server down
                log.exception("cache sweep failed")

    thread = threading.Thread(target=run, name="digitrec-cache-sweeper", daemon=True)
    thread.start()
    return thread
