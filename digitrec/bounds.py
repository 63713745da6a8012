"""What keeps a public server bounded where Gradio does not: undecoded payloads, and limits on request
bodies, their values and Sketchpad blobs (the numbers are in :mod:`digitrec.limits`; the cache's sweep is
:mod:`digitrec.cache`, each address's share :mod:`digitrec.fairness`).

Each piece works around a named Gradio 6 behaviour, so it can go when Gradio changes.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

import anyio
import gradio as gr
from gradio.utils import get_upload_folder
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from digitrec import sketchpad
from digitrec.fairness import RATE_LIMITS_ENV, RateLimiter, client_address
from digitrec.limits import (
    BODY_IDLE_S,
    EVENT_BURST_PER_ADDRESS,
    EVENT_BURST_PER_SESSION,
    EVENTS_PER_ADDRESS,
    EVENTS_PER_SESSION,
    IN_FLIGHT_BYTES,
    IN_FLIGHT_BYTES_PER_ADDRESS,
    JSON_BODY_BYTES,
    MAX_FILE_BYTES,
    MAX_JSON_DEPTH,
    MAX_LAYERS,
    MAX_UPLOAD_FILES,
    MAX_VALUE_CHARS,
    MCP_BODY_BYTES,
    PWA_ICON_SIZES,
    UPLOAD_BODY_BYTES,
)

log = logging.getLogger(__name__)

FILE_ROUTES = ("/gradio_api/upload", "/gradio_api/component_server")  # multipart forms; every other POST is JSON
CALL_ROUTE = "/gradio_api/call/"  # the documented HTTP route: POST /gradio_api/call/NAME
MCP_ROUTE = "/gradio_api/mcp"  # an MCP client's JSON-RPC messages: an image arrives in them as a data URL
# Gradio 6 runs /gradio_api/run/NAME off the queue (no concurrency limit, no queue size) when not on a Space;
# the page uses it for its unqueued events (loading an example), so it is served for those alone.
RUN_ROUTE = "/gradio_api/run/"
EVENT_ROUTES = ("/gradio_api/queue/join", CALL_ROUTE, RUN_ROUTE)  # each POST starts work on the server


class RequestLimits:
    """ASGI middleware: every POST body is received, bounded, parsed and checked before any handler runs.

    * Size: an upload or Sketchpad image request (:data:`FILE_ROUTES`) may be
      :data:`~digitrec.limits.UPLOAD_BODY_BYTES`, any other POST (``/queue/join``, ``/call/``, ``/run/``)
      :data:`~digitrec.limits.JSON_BODY_BYTES`: Gradio 6 reads either whole, with no cap of its own.
    * Time: a body that sends nothing for :data:`~digitrec.limits.BODY_IDLE_S` is cut off (HTTP 408).
    * Memory: the bytes actually received, all requests together, stay under
      :data:`~digitrec.limits.IN_FLIGHT_BYTES`, and one address's under
      :data:`~digitrec.limits.IN_FLIGHT_BYTES_PER_ADDRESS` (HTTP 503 past either): one address cannot
      take the whole budget from everyone else. A declared length reserves nothing.
    * Forms are parsed with python-multipart, the parser Gradio itself uses, so a field's spelling
      (``Name=``, ``FileName=``) cannot hide it: at most :data:`MAX_UPLOAD_FILES` files, and a Sketchpad
      image's layer index below :data:`MAX_LAYERS` (Gradio 6's ``accept_blobs`` grows a list to any index).
    * Rate: each page (session) and each address may start only so many events a second, in bursts of so
      many (:mod:`digitrec.limits`): one client cannot fill the queue that every visitor shares.
    * JSON is parsed too: at most :data:`~digitrec.limits.MAX_JSON_DEPTH` deep, strings of at most
      :data:`~digitrec.limits.MAX_VALUE_CHARS` (Gradio keeps a session's values and echoes bad paths), and a
      call (``POST /gradio_api/call/NAME``) must send its input.

    After each upload the cache is swept (:func:`sweep_cache`), at most once a second.
    """

    def __init__(self, app, sweep=None, blocks: gr.Blocks | None = None) -> None:
        self.app, self.sweep, self.blocks, self._last_sweep, self._in_flight = app, sweep, blocks, 0.0, 0
        self._held_by: dict[str, int] = {}  # bytes in flight per address
        self.per_address = RateLimiter(EVENTS_PER_ADDRESS, EVENT_BURST_PER_ADDRESS)
        self.per_session = RateLimiter(EVENTS_PER_SESSION, EVENT_BURST_PER_SESSION)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and _pwa_icon_refused(scope):
            return await _refuse(send, 404, f"icons come in {' and '.join(map(str, PWA_ICON_SIZES))} px")
        if scope["type"] != "http" or scope.get("method") != "POST":
            return await self.app(scope, receive, send)
        path = scope.get("path", "").rstrip("/")
        files, mcp = path.endswith(FILE_ROUTES), path.startswith(MCP_ROUTE)
        cap = UPLOAD_BODY_BYTES if files else MCP_BODY_BYTES if mcp else JSON_BODY_BYTES
        too_large = (
            f"request too large: at most {MAX_UPLOAD_FILES} files of {MAX_FILE_BYTES // 2**20} MB each"
            if files
            else f"request too large: at most {cap // 1024} KB; upload images to /gradio_api/upload, send their paths"
        )
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > cap):
            return await _refuse(send, 413, too_large)
        held, address = 0, client_address(headers, (scope.get("client") or ("", 0))[0])
        try:
            chunks, size = [], 0
            while True:
                with anyio.move_on_after(BODY_IDLE_S) as waited:
                    message = await receive()
                if waited.cancelled_caught:
                    return await _refuse(send, 408, f"the request body stalled for {BODY_IDLE_S:.0f} s; send it again")
                if message["type"] == "http.disconnect":
                    return None
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > cap:
                    return await _refuse(send, 413, too_large)
                if self._in_flight + len(chunk) > IN_FLIGHT_BYTES:
                    return await _refuse(send, 503, "the server is receiving too many files at once; retry in a moment")
                if self._held_by.get(address, 0) + len(chunk) > IN_FLIGHT_BYTES_PER_ADDRESS:
                    return await _refuse(send, 503, "too many uploads at once from your address; send one at a time")
                self._in_flight += len(chunk)
                self._held_by[address] = self._held_by.get(address, 0) + len(chunk)
                held += len(chunk)
                chunks.append(chunk)
                if not message.get("more_body"):
                    break
            body = b"".join(chunks)
            del chunks
            payload, error = (None, None) if files else _parse_json(body)  # parsed once for every check below
            if files:
                problem = _form_problem(body, headers.get(b"content-type", b""))
            else:
                problem = _json_problem(path, payload, error, headers.get(b"content-type", b""), long_values=mcp)
            fields = payload if isinstance(payload, dict) else None
            if not problem and path.startswith(RUN_ROUTE) and not self._unqueued(path, fields):
                problem = 404, f"{path} runs only the page's own unqueued events: call /gradio_api/call/NAME"
            limited = os.environ.get(RATE_LIMITS_ENV) != "off"
            if limited and not problem and (path.startswith(EVENT_ROUTES) or CALL_ROUTE in path + "/"):
                problem = self._rate_problem(address, fields or {})
            if problem:
                return await _refuse(send, *problem)
            await self.app(scope, _replay(body, receive), send)
        finally:
            self._in_flight -= held
            left = self._held_by.pop(address, 0) - held
            if left:
                self._held_by[address] = left
        if self.sweep is not None and path.endswith("/upload") and time.monotonic() - self._last_sweep > 1:
            self._last_sweep = time.monotonic()
            threading.Thread(target=self.sweep, name="digitrec-upload-sweep", daemon=True).start()

    def _unqueued(self, path: str, fields: dict | None) -> bool:
        """Whether a ``/run/`` request (its JSON object, ``None`` if it sent none) names an event that is off
        the queue anyway (``queue=False``)."""
        if self.blocks is None or fields is None:
            return False
        fn_index = fields.get("fn_index")
        name = path[len(RUN_ROUTE) :]
        fns = self.blocks.fns.values()
        fn = (
            self.blocks.fns.get(fn_index)
            if fn_index is not None
            else next((f for f in fns if f.api_name == name), None)
        )
        return fn is not None and not fn.queue

    def _rate_problem(self, address: str, fields: dict) -> tuple[int, str] | None:
        """Too many events from ``address``, or from one session of it (see :mod:`digitrec.limits`)."""
        session = str(fields.get("session_hash") or "")
        if not self.per_session.allow(f"{address} {session}"):
            return 429, f"too many requests: at most {EVENTS_PER_SESSION:g} a second from one page; slow down"
        if not self.per_address.allow(address):
            return 429, f"too many requests: at most {EVENTS_PER_ADDRESS:g} a second from one address; slow down"
        return None


def _replay(body: bytes, receive):
    """``receive`` for the app: the body read here, once, then whatever the client sends next."""
    sent = False

    async def replay():
        nonlocal sent, body
        if sent:
            return await receive()
        sent = True
        message, body = {"type": "http.request", "body": body, "more_body": False}, b""
        return message

    return replay


def form_parts(body: bytes, content_type: bytes) -> list[tuple[str, str | None, bytes]]:
    """The parts of a ``multipart/form-data`` body as ``(field name, file name or None, value)``, read by
    python-multipart as Gradio reads them; a file's value is left empty.

    Raises:
        ValueError: the body is not a multipart form.
    """
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise ValueError("not a multipart form: no boundary")
    parts: list[tuple[str, str | None, bytes]] = []
    state = {"field": b"", "value": b"", "headers": {}, "data": bytearray()}

    def on_part_begin():
        state.update(headers={}, data=bytearray())

    def on_header_field(data, start, end):
        state["field"] += data[start:end]

    def on_header_value(data, start, end):
        state["value"] += data[start:end]

    def on_header_end():
        state["headers"][state["field"].lower()] = state["value"]
        state.update(field=b"", value=b"")

    def on_part_data(data, start, end):
        if len(state["data"]) < MAX_VALUE_CHARS:
            state["data"] += data[start:end]

    def on_part_end():
        _, options = parse_options_header(state["headers"].get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        value = b"" if filename is not None else bytes(state["data"])
        parts.append((name, None if filename is None else filename.decode("utf-8", "replace"), value))

    callbacks = {
        "on_part_begin": on_part_begin,
        "on_header_field": on_header_field,
        "on_header_value": on_header_value,
        "on_header_end": on_header_end,
        "on_part_data": on_part_data,
        "on_part_end": on_part_end,
    }
    try:
        parser = MultipartParser(boundary, callbacks)
        parser.write(body)
        parser.finalize()
    except MultipartParseError as exc:
        raise ValueError(f"not a multipart form: {exc}") from exc
    return parts


def _form_problem(body: bytes, content_type: bytes) -> tuple[int, str] | None:
    try:
        parts = form_parts(body, content_type)
    except ValueError:
        return 400, "the request must be a multipart form (multipart/form-data) with the files in it"
    files = sum(filename is not None for _, filename, _ in parts)
    if files > MAX_UPLOAD_FILES:
        return 413, f"too many files in one request: {files}; at most {MAX_UPLOAD_FILES}"
    for name, _, value in parts:
        if name == "index" and value not in (b"", b"null") and not (value.isdigit() and int(value) < MAX_LAYERS):
            return 400, f"a Sketchpad may have at most {MAX_LAYERS} layers"
    return None


def _parse_json(body: bytes) -> tuple[Any, str | None]:
    """``(payload, None)``, or ``(None, "deep" or "invalid")`` for a body that is not JSON."""
    try:
        return json.loads(body), None
    except RecursionError:
        return None, "deep"
    except ValueError:
        return None, "invalid"


def _json_problem(
    path: str, payload: Any, error: str | None, content_type: bytes, long_values: bool = False
) -> tuple[int, str] | None:
    """A JSON body (``payload``, or the ``error`` :func:`_parse_json` met) too deep or with an overlong string
    (unless ``long_values``: an MCP message carries an image as a data URL); a call without its input. Other
    bodies (forms of Gradio's own routes) pass: their size is already bounded."""
    is_call = CALL_ROUTE in path + "/"
    if not is_call and b"json" not in content_type.lower():
        return None
    if error == "deep":
        return 400, f"the JSON is nested too deeply: at most {MAX_JSON_DEPTH} levels"
    if error:
        return 400, 'the body must be JSON: {"data": [...]}'
    if _depth(payload) > MAX_JSON_DEPTH:
        return 400, f"the JSON is nested too deeply: at most {MAX_JSON_DEPTH} levels"
    longest = 0 if long_values else max((len(s) for s in _strings(payload)), default=0)
    if longest > MAX_VALUE_CHARS:  # a path no file system has; Gradio would keep it and echo it whole
        return 400, f"a value of {longest:,} characters; file paths and values are at most {MAX_VALUE_CHARS}"
    data = payload.get("data") if isinstance(payload, dict) else None
    if is_call and not (isinstance(data, list) and data):
        return _call_problem(path)
    if not (path.startswith(EVENT_ROUTES) or is_call) or not isinstance(data, list):
        return None
    for item in _file_data(data):
        where = item.get("path")
        if (where is None and isinstance(item.get("url"), str)) or str(where).startswith(("http://", "https://")):
            continue  # Gradio fetches these itself, refusing private addresses
        if not isinstance(where, str) or "\x00" in where or not _in_cache(where):
            return 400, (
                "a file path must be one that /gradio_api/upload returned: upload the image first "
                "(gradio_client's handle_file does) and send that path"
            )
    if is_call and not _shaped_for(path, data):
        return _call_problem(path)
    return None


def _file_data(value):
    """Every dict in ``value`` that names a file (Gradio's FileData: a ``path`` or a ``url``)."""
    if isinstance(value, dict):
        if "path" in value or "url" in value:
            yield value
        for item in value.values():
            yield from _file_data(item)
    elif isinstance(value, list):
        for item in value:
            yield from _file_data(item)


def _in_cache(path: str) -> bool:
    """Whether ``path`` lies in Gradio's upload folder, where uploads and the app's examples are."""
    try:
        real = Path(os.path.realpath(path))
    except (OSError, ValueError):
        return False
    return real.is_relative_to(os.path.realpath(get_upload_folder()))


# Each documented endpoint's inputs: a Sketchpad value, an uploaded file, text; "?" where None may stand.
ENDPOINT_INPUTS = {
    "predict": ("sketch",),
    "recognize": ("sketch",),
    "predict_number": ("sketch",),
    "predict_image": ("file",),
    "report": ("sketch?", "file?", "text"),
    "read_digit": ("file",),
    "read_number": ("file",),
}


def _shaped_for(path: str, data: list) -> bool:
    """Whether a call's ``data`` has the inputs its endpoint takes (an unknown endpoint is Gradio's to refuse):
    Gradio 6 would otherwise answer with pydantic's validation report."""
    kinds = ENDPOINT_INPUTS.get(path.split(CALL_ROUTE, 1)[1].split("/")[0])
    if kinds is None:
        return True
    if len(data) != len(kinds):
        return False
    for value, kind in zip(data, kinds, strict=True):
        if value is None and kind.endswith("?"):
            continue
        kind = kind.rstrip("?")
        if kind == "text" and not isinstance(value, str):
            return False
        if kind == "file" and not (isinstance(value, (dict, str))):
            return False
        if kind == "sketch" and not (isinstance(value, dict) and set(value) <= sketchpad.KEYS):
            return False
        if kind == "sketch" and not isinstance(value.get("layers", []), list):
            return False
    return True


def _depth(value) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_JSON_DEPTH:
            break
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


def _call_problem(path: str) -> tuple[int, str]:
    """A call without its inputs, or with inputs of the wrong kind. Gradio 6 answers ``"data": []`` with a
    message that names ``<gradio.templates.Sketchpad object at 0x…>``, and a wrong kind with pydantic's
    report; this says what to send instead."""
    endpoint = path.split(CALL_ROUTE, 1)[1].split("/")[0]
    file = '{"path": <path from /gradio_api/upload>, "meta": {"_type": "gradio.FileData"}}'
    if endpoint == "predict_image":
        wanted = f'"data": [an uploaded image file: {file}]'
    elif endpoint == "report":
        wanted = '"data": [a Sketchpad value or null, an uploaded image file or null, a label "0"-"9" or "not a digit"]'
    else:
        wanted = f'"data": [a Sketchpad value: {sketchpad.EXAMPLE}] (a single image file goes to /predict_image)'
    return 422, f"/{endpoint} needs {wanted}; see the API page or the README"


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _pwa_icon_refused(scope) -> bool:
    """Gradio's ``/pwa_icon/N`` resizes the app's icon to N×N for any N: 40000 would take gigabytes."""
    head, _, size = scope.get("path", "").rstrip("/").rpartition("/")
    return head.endswith("/pwa_icon") and not (size.isdigit() and int(size) in PWA_ICON_SIZES)


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
