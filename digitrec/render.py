"""Re-render 28x28 digits the way a drawing canvas delivers them.

The canvas set used by evaluation, tests and benchmarks: MNIST digits upscaled onto a
large canvas at a random size and position, with thicker or thinner strokes, in the
colour schemes people draw with (dark on light, light on dark, ink on transparency); re-drawn
along their centre line with one pen width (:func:`retrace_line`); photographed on paper
(:func:`render_photo`); and scanned into a small box they are stretched to fill (:func:`stretched_scan`).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from digitrec.constants import IMAGE_SIZE, PIXEL_MAX
from digitrec.ink import warp

STYLES = ("black_on_white", "white_on_black", "transparent", "blue_on_cream")
FINE = 4 * IMAGE_SIZE  # digits are re-drawn at 4x MNIST's resolution, then scaled to the canvas
RETRACE_PEN = (0.04, 0.2)  # a retraced digit's pen width, as a share of its height or width
RETRACE_REACH = 10  # fine px (2.5 MNIST px): ink farther from the centre line than this is a filled loop or a blot
RETRACE_FAR = 0.05  # share of a digit's ink that may lie that far before it is not retraced
RETRACE_INK = (128, 96, 64, 32)  # grey levels tried, in turn, as a retraced digit's ink (see retrace_line)


def render_on_canvas(
    digit: np.ndarray,
    rng: np.random.Generator,
    canvas: int | None = None,
    style: str | None = None,
    pen: bool = False,
    retrace: bool = False,
) -> Image.Image:
    """Place a white-on-black uint8 digit on a canvas of ``canvas`` px (random 300-1000 if omitted).

    Size (30-80% of the canvas), position, stroke width (-0.6 to +1.5 MNIST pixels per side) and
    ``style`` (one of :data:`STYLES`, random if omitted) are drawn from ``rng``. With ``pen``,
    the strokes are solid ink with crisp edges, as a drawing app's brush makes them, instead
    of MNIST's soft pencil scans. With ``retrace`` (``pen`` or not), the strokes are that solid ink
    too, and follow the digit's centre line with one width (:func:`retrace_line`) instead of
    keeping the writer's own varying width.
    """
    canvas = canvas or int(rng.integers(300, 1001))
    style = style or STYLES[int(rng.integers(len(STYLES)))]
    side = int(canvas * rng.uniform(0.3, 0.8))
    # Stroke width: an MNIST stroke is ~2.5 px of 28. Thin or thicken it at 4x MNIST's resolution
    # (a min/max filter of up to +-1.5 MNIST pixels), then scale to the canvas size.
    fine = Image.fromarray(np.asarray(digit, dtype=np.uint8)).resize((FINE, FINE), Image.Resampling.BICUBIC)
    radius = round(rng.uniform(-0.6, 1.5) * 4)
    if pen:
        radius = max(radius, 0)  # a pen line is never thinner than the pencil's: solid ink could vanish
    if retrace:
        fine = retrace_line(fine, rng)
    elif radius > 0:
        fine = fine.filter(ImageFilter.MaxFilter(2 * radius + 1))
    elif radius < 0:
        fine = fine.filter(ImageFilter.MinFilter(2 * -radius + 1))
    ink = fine.resize((side, side), Image.Resampling.BICUBIC)
    if pen or retrace:
        ink = ink.point([0] * 128 + [PIXEL_MAX] * 128)
    x, y = (int(v) for v in rng.integers(0, canvas - side + 1, size=2))
    alpha = Image.new("L", (canvas, canvas), 0)
    alpha.paste(ink, (x, y))
    return paint(alpha, style)


def _centre_line(ink: np.ndarray) -> np.ndarray:
    """The one-pixel centre line of a boolean ink mask (Zhang and Suen's thinning, 1984)."""
    m = np.pad(ink.astype(np.uint8), 1)
    while True:
        changed = False
        for first in (True, False):
            # The 8 neighbours clockwise from the one above; n[8] repeats n[0] to count 0->1 changes.
            p2, p3, p4, p5 = m[:-2, 1:-1], m[:-2, 2:], m[1:-1, 2:], m[2:, 2:]
            p6, p7, p8, p9 = m[2:, 1:-1], m[2:, :-2], m[1:-1, :-2], m[:-2, :-2]
            n = [p2, p3, p4, p5, p6, p7, p8, p9, p2]
            count = sum(q.astype(np.int32) for q in n[:8])
            changes = sum(((n[i] == 0) & (n[i + 1] == 1)).astype(np.int32) for i in range(8))
            side = (p2 * p4 * p6 == 0) & (p4 * p6 * p8 == 0) if first else (p2 * p4 * p8 == 0) & (p2 * p6 * p8 == 0)
            drop = (m[1:-1, 1:-1] == 1) & (count >= 2) & (count <= 6) & (changes == 1) & side
            if drop.any():
                m[1:-1, 1:-1][drop] = 0
                changed = True
        if not changed:
            return m[1:-1, 1:-1].astype(bool)


def retraceable(digit: np.ndarray) -> bool:
    """Whether a white-on-black uint8 digit's centre line covers its ink. A loop the writer filled
    in (a solid 9's head) thins to a line through it, and the retraced digit would read otherwise."""
    fine = np.asarray(Image.fromarray(np.asarray(digit, np.uint8)).resize((FINE, FINE), Image.Resampling.BICUBIC))
    ink = fine >= 128
    line = Image.fromarray(_centre_line(ink).astype(np.uint8) * PIXEL_MAX)
    far = ink & (np.asarray(line.filter(ImageFilter.MaxFilter(2 * RETRACE_REACH + 1))) == 0)
    return bool(ink.any()) and far.sum() <= RETRACE_FAR * ink.sum()


def _pieces(mask: np.ndarray) -> int:
    """How many 8-connected pieces a boolean mask holds: runs of each row, joined where rows touch."""
    parent: list[int] = []

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    above: list[tuple[int, int, int]] = []  # (first column, last column, run) of the previous row
    for row in mask:
        edges = np.flatnonzero(np.diff(np.concatenate(([0], row.astype(np.int8), [0]))))
        runs = []
        for start, stop in zip(edges[::2].tolist(), (edges[1::2] - 1).tolist(), strict=True):
            parent.append(len(parent))
            run = parent[-1]
            for a, b, other in above:
                if a <= stop + 1 and b >= start - 1:  # touching, diagonals included
                    parent[root(other)] = root(run)
            runs.append((start, stop, run))
        above = runs
    return len({root(i) for i in range(len(parent))})


def retrace_line(fine: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A digit at :data:`FINE` px re-drawn along its centre line with a round pen of one width, drawn from
    :data:`RETRACE_PEN`: what a drawing app's brush gives whoever writes the same digit.

    The ink is the digit's pixels at half brightness or more, unless that breaks a faint stroke that is
    whole at the faintest level of :data:`RETRACE_INK` into pieces: then it is the first level of those
    that keeps the stroke whole. A pen line follows the whole stroke, never a row of dots.
    """
    grey = np.asarray(fine)
    faintest = grey >= RETRACE_INK[-1]
    whole = _pieces(faintest)
    ink = next((m for m in (grey >= t for t in RETRACE_INK[:-1]) if _pieces(m) <= whole), faintest)
    out = Image.new("L", fine.size, 0)
    if not ink.any():
        return out
    line = _centre_line(ink)
    rows, cols = np.nonzero(ink)
    r = max(1.0, (max(np.ptp(rows), np.ptp(cols)) + 1) * rng.uniform(*RETRACE_PEN) / 2)
    draw = ImageDraw.Draw(out)
    for y, x in zip(*np.nonzero(line), strict=True):
        draw.ellipse([x - r, y - r, x + r, y + r], fill=PIXEL_MAX)
    return out


SCAN_BOX = 16  # side of the box a scanned form's digit is stretched to fill (as the 16x16 scan sets store them)


def stretched_scan(digit: np.ndarray, side: int = SCAN_BOX, binary: bool = True) -> Image.Image:
    """A white-on-black digit (MNIST's uint8, or a model input in [0, 1]) as a scanned form stores it:
    cropped to its ink and stretched to fill a ``side`` x ``side`` box, whatever its proportions (a one
    becomes a bar as wide as it is tall), thresholded to black and white when ``binary``; dark ink on
    white paper."""
    ink = np.asarray(digit, np.float32)
    ink = ink / max(float(ink.max()), 1e-6)
    img = Image.fromarray((ink * PIXEL_MAX).astype(np.uint8))
    box = np.asarray(img.crop(img.getbbox()).resize((side, side), Image.Resampling.BOX))
    if binary:
        box = np.where(box >= PIXEL_MAX // 2 + 1, PIXEL_MAX, 0).astype(np.uint8)
    return Image.fromarray(PIXEL_MAX - box)


def render_photo(
    digit: np.ndarray,
    rng: np.random.Generator,
    gradient: float = 60,
    table: bool = False,
    tilt: float = 0,
    slant: float = 0,
    off_edge: bool = False,
) -> bytes:
    """A white-on-black uint8 digit written in dark ink on paper and photographed: a JPEG (quality
    60-95) of 900x700 px with sensor noise (1-6 grey levels), a light gradient across the page (up to
    ``gradient`` levels) and, half the time, a soft shadow band (up to 60 levels darker). With
    ``table``, the sheet lies on a darker table that shows 20-150 px around it, turned by up to
    ``tilt`` degrees either way and photographed at a slant: its far edge looks shorter, by up to
    ``slant`` of its width at each end. With ``off_edge`` too, the photo stops 20-100 px inside the
    sheet's near (bottom) edge, but short of the writing: the sheet runs off the photo."""
    w, h = 900, 700
    side = int(rng.uniform(200, 450))
    ink = np.zeros((h, w), np.float32)
    x, y = int(rng.integers(0, w - side)), int(rng.integers(0, h - side))
    ink[y : y + side, x : x + side] = (
        np.asarray(
            Image.fromarray(np.asarray(digit, np.uint8)).resize((side, side), Image.Resampling.BICUBIC), np.float32
        )
        / PIXEL_MAX
    )
    across = np.linspace(0, 1, w)[None, :]
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(angle) * across + np.sin(angle) * np.linspace(0, 1, h)[:, None]
    paper = rng.uniform(190, 235) - rng.uniform(0, gradient) * (ramp - ramp.min()) / np.ptp(ramp)
    if rng.random() < 0.5:
        paper = paper - rng.uniform(20, 60) * np.clip(1 - np.abs(across - rng.uniform(0.2, 0.8)) / 0.25, 0, 1)
    grey = paper * (1 - ink) + rng.uniform(20, 70) * ink + rng.normal(0, rng.uniform(1, 6), (h, w))
    quality = int(rng.integers(60, 96))
    if table:  # drawn last, so that a photo without a table is the same with or without this option
        margin = int(rng.integers(20, 151))
        cover = None  # how much of each pixel the sheet covers, once it is turned
        if tilt:
            angle = float(rng.uniform(-tilt, tilt))
            grey = np.asarray(Image.fromarray(np.float32(grey), "F").rotate(angle, Image.Resampling.BILINEAR, True))
            cover = Image.new("L", (w, h), PIXEL_MAX).rotate(angle, Image.Resampling.BILINEAR, expand=True)
            cover = np.asarray(cover, np.float32) / PIXEL_MAX
        sh, sw = grey.shape
        if slant:
            inset = float(rng.uniform(0, slant)) * sw
            square, far_edge_short = (
                [(0, 0), (sw, 0), (sw, sh), (0, sh)],
                [(inset, 0), (sw - inset, 0), (sw, sh), (0, sh)],
            )
            cover = np.ones_like(grey) if cover is None else cover
            grey, cover = (
                np.asarray(warp(Image.fromarray(np.float32(a), "F"), (sw, sh), square, far_edge_short))
                for a in (grey, cover)
            )
        across = np.linspace(0, rng.uniform(0, 40), sw + 2 * margin)[None, :]
        desk = rng.uniform(20, 100) + across + rng.normal(0, 5, (sh + 2 * margin, sw + 2 * margin))
        window = desk[margin : margin + sh, margin : margin + sw]
        desk[margin : margin + sh, margin : margin + sw] = (
            grey if cover is None else cover * grey + (1 - cover) * window
        )
        grey = desk
        if off_edge:
            below = h - (y + side)  # paper under the writing, before the sheet is turned
            grey = grey[: margin + sh - int(min(rng.uniform(20, 100), below / 2))]
    buffer = io.BytesIO()
    Image.fromarray(np.clip(grey, 0, PIXEL_MAX).astype(np.uint8)).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def paint(alpha: Image.Image, style: str) -> Image.Image:
    """Colour an ink-coverage mask ('L', 255 = ink) in one of :data:`STYLES`."""
    size = alpha.size
    if style == "black_on_white":
        return Image.composite(Image.new("RGB", size, "black"), Image.new("RGB", size, "white"), alpha)
    if style == "white_on_black":
        return Image.composite(Image.new("L", size, PIXEL_MAX), Image.new("L", size, 0), alpha)
    if style == "transparent":
        out = Image.new("RGBA", size, (0, 0, 0, 0))
        out.putalpha(alpha)
        return out
    if style == "blue_on_cream":
        return Image.composite(Image.new("RGB", size, (30, 60, 200)), Image.new("RGB", size, (250, 245, 225)), alpha)
    raise ValueError(f"unknown style {style!r}: expected one of {', '.join(STYLES)}")


def render_number(
    digits: np.ndarray,
    rng: np.random.Generator,
    height: int = 240,
    style: str | None = None,
    gaps: tuple[float, float] = (-0.05, 0.5),
):
    """Write several white-on-black uint8 digits side by side on one canvas, like a person writes a number.

    Each digit gets its own size (80-110% of ``height``/2) and vertical jitter; the gaps
    between them are drawn from ``gaps`` (in digit heights; negative overlaps), by default
    from a slight overlap to half a digit.
    """
    style = style or STYLES[int(rng.integers(len(STYLES)))]
    glyphs = []
    for digit in digits:
        side = int(height * 0.5 * rng.uniform(0.8, 1.1))
        img = Image.fromarray(np.asarray(digit, dtype=np.uint8)).resize((side, side), Image.Resampling.BICUBIC)
        glyphs.append(img.crop(img.getbbox()))
    gaps = [int(height * 0.5 * rng.uniform(*gaps)) for _ in glyphs[1:]]
    width = sum(g.width for g in glyphs) + sum(gaps) + height // 2
    alpha = Image.new("L", (width, height), 0)
    x = height // 4
    for i, glyph in enumerate(glyphs):
        y = int((height - glyph.height) / 2 + rng.uniform(-0.08, 0.08) * height)
        region = (x, y, x + glyph.width, y + glyph.height)
        # Overlapping strokes combine like ink: the darker (here, larger) value wins.
        alpha.paste(Image.fromarray(np.maximum(np.asarray(alpha.crop(region)), np.asarray(glyph))), region[:2])
        x += glyph.width + (gaps[i] if i < len(gaps) else 0)
    return paint(alpha, style)


def pen_mask(size: tuple[int, int], strokes, width: float) -> Image.Image:
    """An ink mask ('L', 255 = ink) of polylines given in pixels, drawn as a drawing app's round brush draws them."""
    mask = Image.new("L", size, 0)
    draw = ImageDraw.Draw(mask)
    for stroke in strokes:
        pts = [(float(x), float(y)) for x, y in stroke]
        draw.line(pts, fill=PIXEL_MAX, width=int(width), joint="curve")
        for x, y in (pts[0], pts[-1]):
            draw.ellipse([x - width / 2, y - width / 2, x + width / 2, y + width / 2], fill=PIXEL_MAX)
    return mask


def draw_strokes(strokes, size=(400, 400), width=24, ink="black", paper="white", mode="RGB") -> Image.Image:
    """A drawing made of polyline strokes given in 0-1 coordinates, like a person's pen strokes."""
    img = Image.new(mode, size, paper)
    draw = ImageDraw.Draw(img)
    w, h = size
    for stroke in strokes:
        pts = [(x * w, y * h) for x, y in stroke]
        draw.line(pts, fill=ink, width=width, joint="curve")
        for x, y in (pts[0], pts[-1]):
            draw.ellipse([x - width / 2, y - width / 2, x + width / 2, y + width / 2], fill=ink)
    return img


# Hand-made strokes for a few digits, including other countries' styles (the app's examples).
STROKES = {
    "1_flag": [[(0.35, 0.3), (0.55, 0.12), (0.55, 0.88)]],
    "1_plain": [[(0.5, 0.12), (0.5, 0.88)]],
    "7_crossed": [[(0.25, 0.15), (0.75, 0.15), (0.45, 0.88)], [(0.35, 0.5), (0.7, 0.5)]],
    "7_plain": [[(0.25, 0.15), (0.75, 0.15), (0.45, 0.88)]],
    "0_slashed": [
        [(0.5, 0.1), (0.3, 0.2), (0.25, 0.5), (0.3, 0.8), (0.5, 0.9), (0.7, 0.8), (0.75, 0.5), (0.7, 0.2), (0.5, 0.1)],
        [(0.65, 0.2), (0.35, 0.8)],
    ],
    "4_open": [[(0.6, 0.1), (0.25, 0.6), (0.75, 0.6)], [(0.6, 0.3), (0.6, 0.9)]],
    "2": [[(0.28, 0.3), (0.4, 0.15), (0.6, 0.13), (0.72, 0.27), (0.65, 0.45), (0.28, 0.85), (0.75, 0.85)]],
    "3": [
        [
            (0.3, 0.18),
            (0.5, 0.1),
            (0.68, 0.2),
            (0.65, 0.38),
            (0.45, 0.48),
            (0.7, 0.6),
            (0.7, 0.8),
            (0.5, 0.9),
            (0.28, 0.82),
        ]
    ],
}


def write_examples(folder: str | Path) -> list[Path]:
    """Save each of :data:`STROKES` as a 400 px PNG, the way the app's Sketchpad delivers a drawing."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, strokes in STROKES.items():
        img = draw_strokes(
            strokes, size=(400, 400), width=28, ink=(0, 0, 0, 255), paper=(255, 255, 255, 255), mode="RGBA"
        )
        img.save(folder / f"{name}.png")
        paths.append(folder / f"{name}.png")
    return paths


if __name__ == "__main__":
    for path in write_examples(Path(__file__).resolve().parent.parent / "examples"):
        print(path)
