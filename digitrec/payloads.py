"""Gradio's raw payloads as values :func:`digitrec.preprocess.normalize` reads, with nothing decoded yet.

The app's listeners run with ``preprocess=False`` and take their inputs through these functions,
so that every size limit is checked before a pixel is decoded.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from digitrec.limits import BLOB_STORE_BYTES, BLOB_STORE_ENTRIES


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
    pile up; past :data:`BLOB_STORE_ENTRIES` drawings or :data:`BLOB_STORE_BYTES` the oldest go.
    Each entry's size is kept beside it, so an insert costs the same however many are stored."""

    def __init__(self) -> None:
        super().__init__()
        self._sizes: dict = {}

    def __setitem__(self, key, value) -> None:
        self.pop(key, None)
        super().__setitem__(key, value)
        self._sizes[key] = _blob_bytes(value)
        total = sum(self._sizes.values())
        while len(self) > 1 and (len(self) > BLOB_STORE_ENTRIES or total > BLOB_STORE_BYTES):
            total -= self._sizes.get(next(iter(self)), 0)
            self.pop(next(iter(self)))

    def pop(self, key, *default):
        self._sizes.pop(key, None)
        return super().pop(key, *default)


def _blob_bytes(blobs) -> int:
    parts = [blobs.background, blobs.composite, *blobs.layers]
    return sum(len(p) for p in parts if isinstance(p, (bytes, bytearray))) + 64 * len(blobs.layers)
