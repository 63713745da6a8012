"""Any input as a PIL image, within the limits: files, bytes, arrays and Sketchpad values.

Sizes are read from a file's header and checked (:data:`~digitrec.limits.MAX_PIXELS`) before
any pixel is decoded; anything that is not a readable image is an :class:`~digitrec.errors.InvalidImageError`
with a message a visitor can act on. Photos are turned upright by their EXIF orientation.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from digitrec import sketchpad
from digitrec.constants import PIXEL_MAX
from digitrec.errors import ImageTooLargeError, InvalidImageError, PreprocessError
from digitrec.limits import MAX_PIXELS, MAX_REQUEST_PIXELS

EXIF_ORIENTATION = 0x0112  # the EXIF tag that says how a photo must be turned to stand upright

Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # PIL refuses decompression bombs above twice this; we check first
MAX_ECHO = 80  # characters of a client's path or value repeated in an error message
UNREADABLE = "the file is not a readable image (corrupt or unsupported format); upload a PNG, JPEG or WebP"


def to_pil(image: Any) -> Image.Image:
    """Accept every supported input type and return a PIL image, refusing oversized ones."""
    if isinstance(image, dict):
        image = _sketchpad_composite(image)
    if isinstance(image, (str, Path, bytes, bytearray)):
        image = load_image(image)
    elif isinstance(image, np.ndarray):
        image = _array_to_pil(image)
    elif not isinstance(image, Image.Image):
        raise InvalidImageError(
            f"expected a PIL image, a numpy array, image bytes, a file path or a Sketchpad dict; "
            f"got {type(image).__name__}"
        )
    check_size(image.size)
    if image.mode in ("F", "I") or image.mode.startswith("I;"):
        # 32-bit float and 16/32-bit integer images: scaled by their range like arrays, not clipped to 0-255.
        image = _array_to_pil(np.asarray(image))
    return upright(image)


def upright(img: Image.Image) -> Image.Image:
    """The image turned the way its EXIF orientation says it was taken (phones store photos sideways)."""
    # getexif() reads the tag without decoding pixels; only a rotated image pays for a transpose.
    if img.getexif().get(EXIF_ORIENTATION, 1) == 1:
        return img
    return ImageOps.exif_transpose(img)


def load_image(source: str | Path | bytes | bytearray, decode: bool = True) -> Image.Image:
    """Open an image file (path or bytes) safely: size is checked before pixels are decoded.

    With ``decode=False`` the image comes back opened but not decoded (``load()`` decodes it).
    """
    if not isinstance(source, (bytes, bytearray)):
        name = str(source)
        try:
            with open(source, "rb"):
                pass
        except (OSError, ValueError) as exc:
            name = name if len(name) <= MAX_ECHO else name[:MAX_ECHO] + "…"
            raise InvalidImageError(f"cannot open image file {name}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        with warnings.catch_warnings():
            # The size check below replaces PIL's warning for large images.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            # Given a path, PIL closes the file itself once the pixels are decoded.
            img = Image.open(io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source)
            check_size(img.size)
            if decode:
                img.load()
            return img
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as exc:
        if isinstance(exc, PreprocessError):
            raise
        if isinstance(exc, Image.DecompressionBombError):
            raise ImageTooLargeError(
                f"image refused: it has more than twice the limit of {MAX_PIXELS:,} pixels. Send a smaller image."
            ) from None
        raise InvalidImageError(UNREADABLE) from None


def check_size(size: tuple[int, int]) -> None:
    w, h = size
    if w * h > MAX_PIXELS:
        raise ImageTooLargeError(
            f"image is {w}x{h} = {w * h:,} pixels; the limit is {MAX_PIXELS:,}. Send a smaller image."
        )
    if w < 1 or h < 1:
        raise InvalidImageError(f"image has no pixels ({w}x{h})")


def _array_to_pil(a: np.ndarray) -> Image.Image:
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[-1] not in (3, 4)):
        raise InvalidImageError(f"expected an array of shape HxW, HxWx1, HxWx3 or HxWx4; got {a.shape}")
    check_size((a.shape[1], a.shape[0]))
    if a.dtype == bool:
        a = a.astype(np.uint8) * PIXEL_MAX
    elif np.issubdtype(a.dtype, np.floating):
        if not np.isfinite(a).all():
            raise InvalidImageError("image array holds NaN or infinite values")
        if a.min(initial=0) < 0:
            raise InvalidImageError("float image array has negative values; expected 0-1 (or 0-255)")
        scale = PIXEL_MAX if a.max(initial=0) <= 1.0 else 1.0
        a = np.clip(np.rint(a * scale), 0, PIXEL_MAX).astype(np.uint8)
    elif np.issubdtype(a.dtype, np.unsignedinteger) and a.dtype != np.uint8:
        # 16-bit scans and the like: scaled by the type's range, as image viewers show them.
        a = np.rint(a.astype(np.float64) * (PIXEL_MAX / np.iinfo(a.dtype).max)).astype(np.uint8)
    elif np.issubdtype(a.dtype, np.signedinteger):
        low, high = int(a.min(initial=0)), int(a.max(initial=0))
        if low < 0 or high > PIXEL_MAX:
            raise InvalidImageError(
                f"integer image array has values {low} to {high}; expected 0-255 "
                "(or an unsigned type, scaled by its range)"
            )
        a = a.astype(np.uint8)
    elif a.dtype != np.uint8:
        raise InvalidImageError(
            f"image array has dtype {a.dtype}; expected uint8, another integer type, float in 0-1 or bool"
        )
    mode = {2: "L", 3: "RGB", 4: "RGBA"}[a.shape[-1] if a.ndim == 3 else 2]
    return Image.fromarray(np.ascontiguousarray(a), mode)


def _sketchpad_composite(value: dict) -> Image.Image:
    """The picture a Sketchpad value (:mod:`digitrec.sketchpad`) shows: its composite, or layers over
    background. Every part's size is read, and checked against the request's pixel budget, before any is decoded."""
    composite, stack = sketchpad.parts(value)
    if composite is not None:
        return _as_image(composite, "composite")
    opened = [(what, _as_image(item, what, decode=False)) for what, item in stack]
    total = sum(img.width * img.height for _, img in opened)
    if total > MAX_REQUEST_PIXELS:
        raise ImageTooLargeError(
            f"the Sketchpad's background and layers have {total:,} pixels together; the limit "
            f"is {MAX_REQUEST_PIXELS:,}. Send the drawing as one smaller 'composite'."
        )
    images = [_decoded(img, what).convert("RGBA") for what, img in opened]
    out = images[0]
    for layer in images[1:]:
        if layer.size != out.size:
            layer = layer.resize(out.size)
        out = Image.alpha_composite(out, layer)
    return out


def _as_image(item: Any, what: str, decode: bool = True) -> Image.Image:
    """One part of a Sketchpad value as an image; with ``decode=False`` a file is only opened
    (size known, pixels not yet decoded) and :func:`_decoded` finishes it."""
    if isinstance(item, dict):
        # Gradio's FileData as sent over the API: {"path": ..., "url": ...}
        item = item.get("path") or item.get("url")
        if not isinstance(item, str) or item.startswith(("http://", "https://")):
            raise InvalidImageError(f"Sketchpad {what} must be an uploaded image file, not a remote URL")
    try:
        if not decode and isinstance(item, (str, Path, bytes, bytearray)):
            return load_image(item, decode=False)
        return to_pil(item)
    except InvalidImageError as exc:
        raise InvalidImageError(f"Sketchpad {what}: {exc}") from None


def _decoded(img: Image.Image, what: str) -> Image.Image:
    try:
        img.load()
    except (OSError, SyntaxError, ValueError):
        raise InvalidImageError(f"Sketchpad {what}: {UNREADABLE}") from None
    return to_pil(img)  # the same mode handling and orientation as every other image
