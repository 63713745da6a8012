"""The Sketchpad value: what Gradio's Sketchpad (and ImageEditor) sends, and what the API's drawing endpoints take.

``{"background": image or null, "layers": [images], "composite": image or null}``: the picture is
the composite, or the layers laid over the background. The page's own canvas sends ``{"id": ...}``
instead, naming images it uploaded beforehand (:func:`digitrec.payloads.raw_sketchpad` resolves it).
Everything here reads the value's shape; nothing decodes an image (:mod:`digitrec.decode` does).
"""

from __future__ import annotations

from typing import Any

from digitrec.errors import EmptyImageError, InvalidImageError
from digitrec.limits import MAX_LAYERS

PARTS = ("background", "layers", "composite")
KEYS = {*PARTS, "id"}  # every key a value may have (``id``: the page's own uploaded images)
EXAMPLE = '{"background": null, "layers": [], "composite": <image file>}'  # what a client should send


def is_value(value: Any) -> bool:
    """Whether ``value`` is meant as a Sketchpad value (a dict with one of its parts)."""
    return isinstance(value, dict) and bool(value.keys() & set(PARTS))


def holds_no_image(value: Any) -> bool:
    """A Sketchpad value (or anything Gradio turned into one) with no image in any of its parts."""
    return isinstance(value, dict) and not any(value.get(part) for part in PARTS)


def parts(value: dict) -> tuple[Any, list[tuple[str, Any]]]:
    """The value's composite (``None`` without one), and otherwise its background and layers, bottom first,
    each named for messages; refused when the value is not shaped as one or has more than
    :data:`~digitrec.limits.MAX_LAYERS` layers."""
    if not is_value(value):
        raise InvalidImageError(
            f"expected a Sketchpad value, {EXAMPLE}, or 'background' and 'layers'; "
            f"got a dict with keys {sorted(map(str, value))}"
        )
    layers = value.get("layers") or []
    if not isinstance(layers, (list, tuple)):
        raise InvalidImageError(f"Sketchpad 'layers' must be a list of images; got {type(layers).__name__}")
    if len(layers) > MAX_LAYERS:
        raise InvalidImageError(
            f"a Sketchpad value may have at most {MAX_LAYERS} layers; got {len(layers)}. "
            "Send the drawing as 'composite'."
        )
    composite = value.get("composite")
    if composite is not None:  # the picture itself: background and layers are not needed
        return composite, []
    stack = [("background", value.get("background"))] + [("layer", layer) for layer in layers]
    found = [(what, item) for what, item in stack if item is not None]
    if not found:
        raise EmptyImageError("no digit found: the canvas is empty. Draw a digit.")
    return None, found
