"""What keeps a public server bounded where Gradio does not: undecoded payloads, request and
blob limits, and a cache that expires (the numbers are in :mod:`digitrec.limits`).

Each piece works around a named Gradio 6 behaviour, so it can go when Gradio changes.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import re
import threading
import time
from pathlib import Path
from typing import Any

import anyio
import gradio as gr

from digitrec.limits import (
    CACHE_MAX_AGE_S,
    CACHE_MAX_BYTES,
    CACHE_SWEEP_S,
    MAX_FILE_BYTES,
    MAX_LAYERS,
    MAX_UPLOAD_FILES,
)

log = logging.getLogger(__name__)

FILE_ROUTES = ("/gradio_api/upload", "/gradio_api/component_server")
IN_FLIGHT_BYTES = 64 * 1024 * 1024  # request bodies held at once, all clients together
CALL_ROUTE = "/gradio_api/call/"  # the documented HTTP route: POST /gradio_api/call/NAME
CALL_BODY_BYTES = 1024 * 1024  # a call names uploaded files; it carries no image itself
MAX_VALUE_CHARS = 4096  # the longest path Linux accepts
BLOB_STORE_BYTES = 64 * 1024 * 1024  # Sketchpad images waiting for their event, all visitors together


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
    """ASGI middleware: bounds the routes that take files, and checks calls, before any handler runs.

    ``/gradio_api/upload`` and ``/gradio_api/component_server`` (where the Sketchpad sends its
    images) accept up to 1,000 files of ``max_file_size`` each in Gradio 6. Here a request may
    carry at most :data:`MAX_UPLOAD_FILES` files and their bytes, and a Sketchpad image's layer
    index must be below :data:`MAX_LAYERS` (Gradio grows a list to any index it is sent). After
    each upload the cache is swept (:func:`sweep_cache`), at most once a second. A call
    (``POST /gradio_api/call/NAME``) may be at most :data:`CALL_BODY_BYTES` and must send its input.
    """

    def __init__(self, app, sweep=None) -> None:
        self.app, self.sweep, self._last_sweep, self._in_flight = app, sweep, 0.0, 0

    async def __call__(self, scope, receive, send) -> None:
        path = scope.get("path", "")
        is_call = CALL_ROUTE in path
        if scope["type"] != "http" or scope.get("method") != "POST" or not (path.endswith(FILE_ROUTES) or is_call):
            return await self.app(scope, receive, send)
        cap = CALL_BODY_BYTES if is_call else MAX_UPLOAD_FILES * MAX_FILE_BYTES + 64 * 1024
        too_large = (
            f"request too large: at most {cap // 2**20} MB"
            if is_call
            else f"request too large: at most {MAX_UPLOAD_FILES} files of {MAX_FILE_BYTES // 2**20} MB each"
        )
        length = dict(scope.get("headers", [])).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > cap):
            return await _refuse(send, 413, too_large)
        # Bodies held at once are bounded too: a flood of uploads waits its turn or is told to retry.
        claim = int(length) if length is not None else cap
        if self._in_flight + claim > IN_FLIGHT_BYTES:
            return await _refuse(send, 503, "the server is receiving too many files at once; retry in a moment")
        self._in_flight += claim
        try:
            await self._forward(scope, receive, send, path, is_call, cap, too_large)
        finally:
            self._in_flight -= claim
        if self.sweep is not None and path.endswith("/upload") and time.monotonic() - self._last_sweep > 1:
            self._last_sweep = time.monotonic()
            await anyio.to_thread.run_sync(self.sweep)

    async def _forward(self, scope, receive, send, path, is_call, cap, too_large) -> None:
        chunks, size = [], 0
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > cap:
                return await _refuse(send, 413, too_large)
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        del chunks
        problem = _call_problem(path, body) if is_call else _files_problem(body)
        if problem:
            return await _refuse(send, *problem)

        replayed = False

        async def replay():
            nonlocal replayed, body
            if replayed:
                return await receive()
            replayed = True
            message, body = {"type": "http.request", "body": body, "more_body": False}, b""
            return message

        await self.app(scope, replay, send)


def _files_problem(body: bytes) -> tuple[int, str] | None:
    files = body.count(b"filename=")
    if files > MAX_UPLOAD_FILES:
        return 413, f"too many files in one request: {files}; at most {MAX_UPLOAD_FILES}"
    index = re.search(rb'name="index"\r\n\r\n([^\r]*)\r\n', body)
    if (
        index
        and index.group(1) not in (b"", b"null")
        and not (index.group(1).isdigit() and int(index.group(1)) < MAX_LAYERS)
    ):
        return 400, f"a Sketchpad may have at most {MAX_LAYERS} layers"
    return None


def _call_problem(path: str, body: bytes) -> tuple[int, str] | None:
    """A call without its input. Gradio 6 answers ``"data": []`` with a message that names
    ``<gradio.templates.Sketchpad object at 0x…>``; this says what to send instead."""
    try:
        data = json.loads(body).get("data")
    except (ValueError, AttributeError):
        return 400, 'the body must be JSON: {"data": [...]}'
    if isinstance(data, list) and data:
        longest = max(_strings(data), key=len, default="")
        if len(longest) > MAX_VALUE_CHARS:  # a path no file system has; Gradio would echo it whole
            return 400, f"a value of {len(longest):,} characters; file paths and values are at most {MAX_VALUE_CHARS}"
        return None
    endpoint = path.split(CALL_ROUTE, 1)[1].split("/")[0]
    wanted = (
        'an uploaded image file: {"path": ..., "meta": {"_type": "gradio.FileData"}}'
        if endpoint == "predict_image"
        else 'a Sketchpad value: {"background": null, "layers": [], "composite": <uploaded image file>}'
    )
    return 422, f'/{endpoint} needs "data": [one value], {wanted}; see the API page or the README'


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


async def _refuse(send, status: int, message: str) -> None:
    body = message.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def sweep_cache(
    blocks: gr.Blocks, folder: str | Path, max_age_s: float = CACHE_MAX_AGE_S, max_bytes: int = CACHE_MAX_BYTES
) -> int:
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
    release_freed_memory()
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


def release_freed_memory() -> None:
    """Hand memory that Python has freed back to the system (glibc's ``malloc_trim``).

    After a flood of uploads, glibc keeps the freed heap for reuse, so the server's resident
    memory stays at its peak; trimming returns it. A no-op where there is no glibc.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


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
