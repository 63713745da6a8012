"""The ink map: which pixels are ink, on any paper, in any light, at any polarity.

A drawing, scan or photo (a PIL image from :mod:`digitrec.decode`) becomes an 8-bit map where
255 is full ink and 0 is paper. The paper's colour and noise are read from the image's border;
paper that is not one flat grey (a photo's noise, a light gradient, a shadow) is estimated
around each pixel; a sheet photographed on a darker table is cut out and straightened; strokes
on a transparent canvas are laid on the grey that contrasts with them. :mod:`digitrec.preprocess`
then boxes the ink as MNIST did, and :mod:`digitrec.segment` splits a number's ink into digits.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from PIL import Image, ImageFilter, ImageOps

from digitrec.constants import PIXEL_MAX

# Longer side above which an image is first shrunk by an integer box reduction:
# cheap, and exact area averaging, so the careful steps below work on at most this size.
REDUCE_ABOVE = 1024
# An image whose strongest ink is below MIN_CONTRAST of the paper-to-ink range is blank
# (one colour, faint noise). A pixel counts as ink at half the strongest ink; fewer ink
# pixels than this fraction of the image (or than MIN_INK_PIXELS) is a stray speck.
MIN_CONTRAST = 0.25
MIN_INK_FRACTION = 2e-4
MIN_INK_PIXELS = 4
# The border's noise floor is capped at this many standard deviations of its paper's grey,
# estimated from the distance between its 75th and 90th percentiles (0.607 of a standard
# deviation for normal noise).
NOISE_SIGMAS = 3.0
QUARTILE_TO_P90 = 0.607
# A border whose quartiles lie further apart than this share of the grey scale is split between
# paper and ink (a thin digit cropped to its ink): neither quartile can be trusted to be paper.
SPLIT_BORDER = 0.25
# Paper that is not one flat grey (a photo: sensor noise, a light gradient, a shadow) is
# estimated per pixel, on a grid of at most PAPER_GRID cells a side. A first estimate is the
# bright side's closing with a window of PAPER_WINDOW of the image: wider than any stroke, so
# strokes vanish from it, but it fills a shadow's valley with the brighter paper beside it.
# The cells with ink (darker than that estimate by PAPER_INK of the darkest cell's lack, and
# their neighbours) are then set aside, and the paper is the Gaussian-weighted mean (PAPER_SIGMA
# cells) of the cells that are only paper, which follows a shadow without seeing the strokes.
PAPER_GRID = 64
PAPER_WINDOW = 0.25
PAPER_INK = 0.25
PAPER_SIGMA = 3.0
# Images narrower than this keep the border reading: a window wider than a stroke would cover them.
PAPER_MIN_SIDE = 32
# A split border is paper under light that varies strongly (not paper and ink) when, going round
# the image, its grey (averaged over runs of LOOP_NOISE pixels) stays within SPLIT_BORDER of its
# broad trend (a median over LOOP_TREND of the way round), and the trend never moves that far
# within LOOP_STEP of the way: light changes slowly, the edges of ink steeply.
LOOP_NOISE, LOOP_TREND, LOOP_STEP = 5, 1 / 32, 1 / 64
# A sheet of paper photographed on a darker table reads as one block of light ink. It is read on
# its own when that block's outline (the convex hull of the pixels brighter than SHEET_LEVEL of the
# way from the border's grey, the table, to the block's brightest: low, so that paper in a shadow
# still counts) is large: at least SHEET_AREA of the image; solid: SHEET_FILL of it that bright;
# four-cornered: the four-sided shape between its corners fills SHEET_SQUARE of it (a sheet turned
# by up to SHEET_TURN degrees or photographed at a slant; a fat light digit is large and solid, but
# filled at most 0.88 on 1,400 canvases it covered up to 97% of); and written on: at least SHEET_INK
# of that shape, less SHEET_EDGE of its sides, darker (a filled shape drawn light on a dark canvas is
# blank). That shape is straightened and read as paper lit unevenly.
SHEET_AREA, SHEET_FILL, SHEET_LEVEL, SHEET_INK, SHEET_EDGE = 0.25, 0.8, 0.25, 0.001, 0.02
SHEET_SQUARE, SHEET_TURN = 0.93, 30
SHEET_SPECK = 5  # light specks on the table smaller than this many pixels square are not the sheet
NOISE_LEVELS, NOISY_SHARE = 12, 0.1  # a tenth of the border within 12 greys of the paper's: noisy paper
MAD_TO_SIGMA = 1.4826  # a normal distribution's standard deviation is 1.4826 median absolute deviations


def ink_map(img: Image.Image) -> Image.Image:
    """Return an 8-bit 'L' image where 255 is full ink and 0 is paper, whatever the input's polarity.

    Transparent canvases are flattened over the colour opposite to their strokes; the
    paper colour is read from the border; a noise floor measured on the border is
    removed so photos of paper do not count as ink, and paper that is not one flat grey
    (noise, a light gradient, a shadow) is estimated around each pixel. Images larger than
    :data:`REDUCE_ABOVE` come back reduced; a sheet photographed on a table comes back as the
    sheet alone, straightened, so a number written on it reads along its lines.
    """
    ink, offset, size = ink_region(img)
    full = Image.new("L", size, 0)
    full.paste(ink, offset)
    return full


def ink_region(img: Image.Image) -> tuple[Image.Image, tuple[int, int], tuple[int, int]]:
    """The ink map of a region that holds all the ink, its offset, and the (reduced) image size.

    Only the region gets the per-pixel work: on a canvas the digit covers a fraction of
    the pixels, and everything outside the region is known to be paper.
    """
    img = _reduce(img)
    if img.mode == "P":
        img = img.convert("RGBA")
    if "A" in img.getbands() or "a" in img.getbands():
        img = img if img.mode == "RGBA" else img.convert("RGBA")
        box = img.getbbox()  # of the pixels that are not fully transparent
        if box is None:
            return Image.new("L", (1, 1), 0), (0, 0), img.size  # nothing drawn: _mnist_box says so
        if box != (0, 0, *img.size) or img.getchannel("A").getextrema()[0] < PIXEL_MAX // 2:
            return _transparent_ink(img, box)
    gray = img.convert("L")
    border = np.concatenate([np.asarray(gray.crop(box)).ravel() for box in _edges(gray.size)])
    ink, offset, size = _grayink_region(gray, border)
    sheet = _sheet_of_paper(gray, border, (*offset, offset[0] + ink.width, offset[1] + ink.height))
    if sheet is None:
        return ink, offset, size
    return _uneven_paper_ink(sheet, dark_ink=True)  # the sheet, straightened, is the image from here on


def _grayink_region(gray: Image.Image, border: np.ndarray) -> tuple[Image.Image, tuple[int, int], tuple[int, int]]:
    w, h = gray.size
    levels, split, uneven = _ink_levels(border)
    if min(w, h) >= PAPER_MIN_SIDE:
        if split is not None and _lit_unevenly(border, gray.size):
            uneven = _ink_is_dark(gray)
        if uneven is not None:
            return _uneven_paper_ink(gray, dark_ink=uneven)
    ink = gray.point(levels)
    if split is not None and not digit_found(ink, w * h):
        ink = _split_border_ink(gray, *split) or ink
    box = ink.getbbox() or (0, 0, w, h)
    return ink.crop(box), box[:2], gray.size


def _sheet_of_paper(gray: Image.Image, border: np.ndarray, box: tuple[int, int, int, int]) -> Image.Image | None:
    """The sheet of paper photographed on a darker table (``border``, the strips of :func:`_edges`),
    cut out and made square (turned back, and straightened when photographed at a slant), when
    the ink region ``box`` is one (light on dark, large, solid, four-cornered and written on), or
    ``None``. Its outline is the convex hull of its light pixels (a shadow across an edge does
    not bite into it); its corners are the hull's farthest points along the two diagonals."""
    left, top, right, bottom = box
    if min(gray.size) < PAPER_MIN_SIDE or (right - left) * (bottom - top) < SHEET_AREA * gray.width * gray.height:
        return None
    image = np.asarray(gray)
    table = float(np.median(border))
    cut = table + SHEET_LEVEL * (float(np.percentile(image[top:bottom, left:right], 99)) - table)
    # The whole image, not the box: a corner of the sheet in shadow can fall outside the box.
    light = _opened(image > cut)
    if sum(bool(edge.any()) for edge in (light[0], light[-1], light[:, 0], light[:, -1])) > 1:
        # A sheet may run off one edge of the photo. The light part of a page lit from one side
        # reaches two or three; a light stroke that fills a crop, all four.
        return None
    hull = _hull(light)
    area = _area(hull)
    if area < SHEET_AREA * gray.width * gray.height or light.sum() < SHEET_FILL * area:
        return None
    x, y = hull[:, 0], hull[:, 1]
    corners = [tuple(hull[i]) for i in (np.argmin(x + y), np.argmax(x - y), np.argmax(x + y), np.argmin(x - y))]
    (tl, tr, br, bl) = corners
    turn = math.degrees(math.atan2(tr[1] - tl[1] + br[1] - bl[1], tr[0] - tl[0] + br[0] - bl[0]))
    # The corners lie on the hull, so the four-sided shape between them lies inside it.
    if abs(turn) > SHEET_TURN or _area(np.array(corners)) < SHEET_SQUARE * area:
        return None
    # The sheet's edge is neither paper nor table: keep SHEET_EDGE in from its sides.
    inner = [_blend(corners, u, v) for u, v in ((0, 0), (1, 0), (1, 1), (0, 1))]
    width = (math.dist(inner[0], inner[1]) + math.dist(inner[3], inner[2])) / 2
    height = (math.dist(inner[0], inner[3]) + math.dist(inner[1], inner[2])) / 2
    sheet = warp(gray, (max(1, round(width)), max(1, round(height))), inner)
    if (np.asarray(sheet) <= cut).mean() < SHEET_INK:
        return None
    return sheet


def _hull(mask: np.ndarray) -> np.ndarray:
    """The convex hull of ``mask``'s pixels (each the square it covers), as its corners in order."""
    rows = np.flatnonzero(mask.any(1))
    first = mask[rows].argmax(1)
    last = mask.shape[1] - mask[rows, ::-1].argmax(1)
    spans = zip(rows, first, last, strict=True)
    points = sorted((float(x), float(y)) for r, f, e in spans for x in (f, e) for y in (r, r + 1))

    def chain(pts):  # Andrew's monotone chain: one side of the hull
        out = []
        for p in pts:
            while len(out) >= 2 and _cross(out[-2], out[-1], p) <= 0:
                out.pop()
            out.append(p)
        return out[:-1]

    return np.array(chain(points) + chain(points[::-1]), np.float64).reshape(-1, 2)  # empty: no corners


def _cross(o, a, b) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def _area(polygon: np.ndarray) -> float:
    """The area a polygon's corners (in order) enclose (the shoelace formula)."""
    x, y = polygon[:, 0], polygon[:, 1]
    return abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))) / 2


def _blend(corners, u: float, v: float) -> tuple[float, float]:
    """The point at ``(u, v)`` across a four-cornered outline, SHEET_EDGE in from its sides."""
    u, v = SHEET_EDGE + (1 - 2 * SHEET_EDGE) * u, SHEET_EDGE + (1 - 2 * SHEET_EDGE) * v
    weights = ((1 - u) * (1 - v), u * (1 - v), u * v, (1 - u) * v)
    return tuple(sum(w * c for w, c in zip(weights, axis, strict=True)) for axis in zip(*corners, strict=True))


def warp(img: Image.Image, size: tuple[int, int], corners, onto=None) -> Image.Image:
    """``img`` seen through a perspective: an image of ``size`` whose corners ``onto`` (by default
    its own, top left first, clockwise) show the points ``corners`` of ``img``."""
    w, h = size
    onto = onto or [(0, 0), (w, 0), (w, h), (0, h)]
    rows = []
    for (x, y), (u, v) in zip(onto, corners, strict=True):
        rows.append(([x, y, 1, 0, 0, 0, -u * x, -u * y], u))
        rows.append(([0, 0, 0, x, y, 1, -v * x, -v * y], v))
    a, b = np.array([r for r, _ in rows], np.float64), np.array([c for _, c in rows], np.float64)
    data = tuple(float(c) for c in np.linalg.solve(a, b))
    return img.transform(size, Image.Transform.PERSPECTIVE, data, Image.Resampling.BILINEAR, fillcolor=0)


def _opened(mask: np.ndarray) -> np.ndarray:
    """``mask`` without specks smaller than SHEET_SPECK pixels square (noise on a table lit nearly
    as light as paper), and otherwise as it was: eroded, then dilated back, along columns then rows."""
    for combine in (np.logical_and, np.logical_or):
        for _ in range(2):  # down the columns, then (turned over) along the rows, then back
            padded = np.pad(mask, ((SHEET_SPECK // 2, SHEET_SPECK // 2), (0, 0)))  # outside is not light
            out = padded[: len(mask)]
            for k in range(1, SHEET_SPECK):
                out = combine(out, padded[k : k + len(mask)])
            mask = out.T
    return mask


def _uneven_paper_ink(gray: Image.Image, dark_ink: bool) -> tuple[Image.Image, tuple[int, int], tuple[int, int]]:
    """:func:`ink_region` for paper that varies (a photo): each pixel's ink strength is measured
    against the paper around it, as the share of the paper's light it lacks (shadows dim paper
    and ink alike); the noise floor is the border's median strength plus NOISE_SIGMAS of its
    spread; the region is the box of the pixels at half the strongest ink or more, so specks of
    noise scattered over the page do not stretch it."""
    paper_side = gray if dark_ink else ImageOps.invert(gray)  # paper on the bright side
    strength = np.clip(1 - np.asarray(paper_side, np.float32) / np.maximum(_paper_surface(paper_side), 1), 0, 1)
    edge = np.concatenate([strength[top:bottom, left:right].ravel() for left, top, right, bottom in _edges(gray.size)])
    median = float(np.median(edge))
    floor = min(median + NOISE_SIGMAS * MAD_TO_SIGMA * float(np.median(np.abs(edge - median))), 1 - MIN_CONTRAST)
    ink = Image.fromarray(np.rint(np.clip((strength - floor) / (1 - floor), 0, 1) * PIXEL_MAX).astype(np.uint8))
    half = (ink.getextrema()[1] + 1) // 2
    box = ink.point([0] * half + [PIXEL_MAX] * (PIXEL_MAX + 1 - half)).getbbox() or (0, 0, *gray.size)
    return ink.crop(box), box[:2], gray.size


def _paper_surface(bright: Image.Image) -> np.ndarray:
    """The paper's grey at every pixel, estimated on a coarse grid and enlarged back.

    The first estimate closes the grid (brightest then darkest over a window wider than a
    stroke, so the strokes disappear); the grid is first extended by point reflection, which
    continues a light gradient past the edges instead of letting the window drag the brighter
    inside onto a darker edge. The cells that are darker than it (ink, and one cell around)
    are left out, and the paper is the Gaussian-weighted mean of the remaining cells: the
    closing alone would lift a shadow's floor to the paper beside it and leave a haze around the digit.
    """
    w, h = bright.size
    grid, window = _paper_grid(bright)
    small = np.asarray(grid, np.float32)
    pad = min(window // 2, min(small.shape) - 1)
    padded = Image.fromarray(np.pad(small, pad, mode="reflect", reflect_type="odd"), "F")
    closed = np.asarray(padded.filter(ImageFilter.MaxFilter(window)).filter(ImageFilter.MinFilter(window)))
    closed = closed[pad : closed.shape[0] - pad, pad : closed.shape[1] - pad]
    lack = np.clip(1 - small / np.maximum(closed, 1), 0, 1)
    ink = Image.fromarray(np.where(lack >= PAPER_INK * lack.max(), PIXEL_MAX, 0).astype(np.uint8))
    paper = (np.asarray(ink.filter(ImageFilter.MaxFilter(3))) == 0).astype(np.float32)
    rows, cols = _gaussian_weights(small.shape[0]), _gaussian_weights(small.shape[1])
    # Normalized convolution: weights that reach past the grid's edge or onto ink cells drop out of both sums.
    weight = rows @ paper @ cols.T
    mean = rows @ (small * paper) @ cols.T / np.maximum(weight, 1e-6)
    # Where no paper cell lies within about 2.5 PAPER_SIGMA (a digit filling the frame), the closing stays.
    surface = np.where(weight > 0.05, mean, closed).astype(np.float32)
    return np.asarray(Image.fromarray(surface, "F").resize((w, h), Image.Resampling.BILINEAR))


def _paper_grid(img: Image.Image) -> tuple[Image.Image, int]:
    """The image on the paper estimate's grid (at most PAPER_GRID cells a side), and its window in cells."""
    small = img.reduce(max(1, math.ceil(max(img.size) / PAPER_GRID)))
    return small, 2 * round(PAPER_WINDOW * max(small.size) / 2) + 1


def _lit_unevenly(border: np.ndarray, size: tuple[int, int]) -> bool:
    """Whether a border (the strips of :func:`_edges`, in order) split between light and dark is
    paper under uneven light rather than paper and ink cut by the edge (see :data:`LOOP_TREND`)."""
    w, h = size
    top, bottom, left, right = np.split(border.astype(np.float32), [w, 2 * w, 2 * w + h])
    loop = np.concatenate([top, right[1:], bottom[-2::-1], left[-2:0:-1]])  # clockwise from the top left
    loop = loop[: len(loop) // LOOP_NOISE * LOOP_NOISE].reshape(-1, LOOP_NOISE).mean(1)  # noise averaged out
    half = max(1, round(LOOP_TREND * len(loop) / 2))
    wrapped = np.concatenate([loop[-half:], loop, loop[:half]])
    trend = np.median(np.lib.stride_tricks.sliding_window_view(wrapped, 2 * half + 1), axis=1)
    step = max(1, round(LOOP_STEP * len(loop)))
    limit = SPLIT_BORDER * PIXEL_MAX
    return bool(np.abs(loop - trend).max() < limit and np.abs(np.roll(trend, -step) - trend).max() < limit)


def _ink_is_dark(gray: Image.Image) -> bool:
    """The polarity of paper lit unevenly all round, where the border's median cannot say it: ink
    stands further from the grey around it (the grid's median over the paper window) on its side
    than the light's unevenness does on the other."""
    grid, window = _paper_grid(gray)
    off = np.asarray(grid, np.float32) - np.asarray(grid.filter(ImageFilter.MedianFilter(window)), np.float32)
    return bool(-off.min() >= off.max())


def _gaussian_weights(n: int) -> np.ndarray:
    """(n, n): row i weighs the cells of a line by a Gaussian of PAPER_SIGMA cells around cell i."""
    i = np.arange(n)
    return np.exp(-0.5 * ((i[:, None] - i[None]) / PAPER_SIGMA) ** 2).astype(np.float32)


def _split_border_ink(gray: Image.Image, median_says_dark: bool, p10: float, p90: float) -> Image.Image | None:
    """The ink of an image whose border is as much ink as paper (a digit a few pixels wide cropped to
    its ink), or ``None``: each polarity in turn, the border's median's first, with the paper at the
    border's extreme on that side (its 90th or 10th percentile) and no noise floor (the border's
    spread is ink, not noise)."""
    for dark_ink in (median_says_dark, not median_says_dark):
        ink = gray.point(_table(_strength(p90 if dark_ink else p10, dark_ink)[0]))
        if digit_found(ink, gray.width * gray.height):
            return ink
    return None


def _transparent_ink(img: Image.Image, box: tuple[int, int, int, int]):
    """Strokes on a transparent canvas, laid on the grey that contrasts with them.

    ``box`` holds every pixel that is not fully transparent; outside it is paper.
    """
    crop = img.crop(box)
    gray, crop_alpha = crop.convert("L"), crop.getchannel("A")
    # The strokes' median grey over their opaque pixels tells dark ink from light ink.
    opaque = crop_alpha.point([0] * (PIXEL_MAX // 2) + [PIXEL_MAX] * (PIXEL_MAX + 1 - PIXEL_MAX // 2))
    hist = np.cumsum(gray.histogram(mask=opaque))
    stroke_dark = hist[-1] == 0 or int(np.searchsorted(hist, hist[-1] / 2)) < PIXEL_MAX / 2
    paper = PIXEL_MAX if stroke_dark else 0

    def flatten(part: Image.Image) -> Image.Image:
        return Image.composite(part.convert("L"), Image.new("L", part.size, paper), part.getchannel("A"))

    # The border statistics must see the whole image's border, strokes that reach it included.
    w, h = img.size
    if box[0] > 0 and box[1] > 0 and box[2] < w and box[3] < h:
        # Nothing drawn reaches the border, which is all paper: skip 12 image operations.
        levels = _flat_paper_levels(paper)
    else:
        border = np.concatenate([np.asarray(flatten(img.crop(edge))).ravel() for edge in _edges(img.size)])
        levels = _ink_levels(border)[0]
    ink = Image.composite(gray, Image.new("L", crop.size, paper), crop_alpha).point(levels)
    return ink, box[:2], img.size


@functools.cache
def _flat_paper_levels(paper: int) -> tuple[int, ...]:
    """:func:`_ink_levels`'s table for a border that is all paper of one grey, the same for every such canvas
    (most drawings): worked out once, not in each request's share of the GIL (``benchmarks.serving_stages``)."""
    return tuple(_ink_levels(np.full(4, paper, np.uint8))[0])


def _edges(size: tuple[int, int]) -> list[tuple[int, int, int, int]]:
    w, h = size
    return [(0, 0, w, 1), (0, h - 1, w, h), (0, 0, 1, h), (w - 1, 0, w, h)]


def _ink_levels(border: np.ndarray) -> tuple[list[int], tuple[bool, float, float] | None, bool | None]:
    """Lookup table grey -> ink strength (0-255), from the paper colour and noise seen on the border;
    when the border is split between paper and ink (:data:`SPLIT_BORDER`), what
    :func:`_split_border_ink` reads it with: the median's polarity and the 10th and 90th percentiles;
    and when it is not split but its paper is not one flat grey, whether the ink is dark (``None``
    for flat paper: drawings and scans are read with the table)."""
    # The border's median says which side is paper. Ink that touches the edge (a tight crop, a
    # form cell) covers part of the border, so the paper's colour and noise come from the paper
    # side's outer quartiles: right as long as a quarter of the border is paper.
    p10, p25, median, p75, p90 = np.percentile(border, (10, 25, 50, 75, 90))
    dark_ink = float(median) >= PIXEL_MAX / 2
    q = (p75, p90) if dark_ink else (p25, p10)
    strength, span = _strength(float(q[0]), dark_ink)
    # Noise floor: what the border's paper already reads as ink, its 95th percentile, capped
    # at NOISE_SIGMAS of the paper's own spread so that ink on the border is not called noise.
    sigma = abs(float(q[1] - q[0])) / QUARTILE_TO_P90
    noise = min(float(np.percentile(strength[border], 95)), NOISE_SIGMAS * sigma / span)
    if noise < 1:
        strength = np.clip((strength - noise) / (1 - noise), 0, 1)
    split = (dark_ink, float(p10), float(p90)) if p75 - p25 > SPLIT_BORDER * PIXEL_MAX else None
    # Paper varies when its grey goes beyond the paper-side quartile (noise, a gradient), or when a
    # share of the border lies a few levels off it (noise clipped at white); ink's edges give a few.
    off_paper = np.abs(border.astype(np.float32) - float(q[0]))
    flat = (
        float(border.max() if dark_ink else border.min()) == float(q[0])
        and float(np.mean((off_paper > 0) & (off_paper <= NOISE_LEVELS))) < NOISY_SHARE
    )
    uneven = None if flat or split is not None else dark_ink
    return _table(strength), split, uneven


def _table(strength: np.ndarray) -> list[int]:
    """Ink strengths 0-1 as the 0-255 lookup table ``Image.point`` takes."""
    return np.rint(strength * PIXEL_MAX).astype(np.uint8).tolist()


def _strength(paper: float, dark_ink: bool) -> tuple[np.ndarray, float]:
    """Ink strength 0-1 of each grey level on this paper, and the paper-to-ink span it is measured in."""
    levels = np.arange(PIXEL_MAX + 1, dtype=np.float32)
    span = max(paper if dark_ink else PIXEL_MAX - paper, 1.0)
    return np.clip((paper - levels) / span if dark_ink else (levels - paper) / span, 0, 1), span


def digit_found(ink: Image.Image, area: int) -> bool:
    """Whether an ink map holds more than blank paper, faint noise or a few stray specks."""
    hist = ink.histogram()
    strongest = max(level for level, count in enumerate(hist) if count)
    inked = sum(hist[(strongest + 1) // 2 :])
    return strongest >= MIN_CONTRAST * PIXEL_MAX and inked >= max(MIN_INK_PIXELS, MIN_INK_FRACTION * area)


def _reduce(img: Image.Image) -> Image.Image:
    factor = math.ceil(max(img.size) / REDUCE_ABOVE)
    if factor <= 1:
        return img
    if img.mode not in ("L", "LA", "RGB", "RGBA"):
        img = img.convert("RGBA")
    return img.reduce(factor)
