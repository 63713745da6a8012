"""Split a drawing of several digits side by side into one image per digit.

Works on the ink map from :func:`digitrec.ink.ink_map`, so it shares the
polarity and transparency handling of single digits. Digits are separated at empty
columns of the ink's vertical projection; a digit drawn with several strokes (a 4, a 5
with a detached bar, a crossed 7) stays whole because its strokes overlap horizontally.
A segment much wider than a digit is tall (digits that touch or overlap slightly) is
cut at its thinnest column near the expected boundary. With a recognizer, segments are
then checked against it: one that reads as no digit is tried for a cut between two
digits, and neighbours that read better as one digit (a 4 drawn with a gap) are joined.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image

from digitrec.decode import to_pil
from digitrec.errors import EmptyImageError, InvalidImageError
from digitrec.ink import ink_map
from digitrec.limits import MAX_NUMBER_DIGITS
from digitrec.preprocess import normalize

WORK_HEIGHT = 96  # segmentation runs on the ink scaled to this height: cheap, and detail enough
INK = 0.2  # fraction of the strongest ink that counts as ink when looking for gaps
MAX_ASPECT = 1.6  # wider than this many digit heights is surely more than one digit (a wide 0 reaches 1.5)
PAD = 0.3  # each digit crop gets this much paper around it (as a fraction of its height)


FRAGMENT = 0.55  # a piece shorter than this fraction of the digit height belongs to a neighbour
CONFIDENT = 0.9  # a segment recognized at least this confidently is not re-examined for a hidden boundary...
WIDE = 0.95  # ...unless it is this wide (in digit heights): a 1 touching its neighbour hides in a confident read
NOT_ONE_DIGIT_CUT = 0.9  # the joint confidence a cut needs when the whole segment is not a digit
CUT_CANDIDATES = 16  # evenly spaced cuts tried in such a segment
JOIN_WIDTH = 1.2  # two neighbours are tried as one digit only if together they are at most this wide


def _split_wide(proj: np.ndarray, start: int, stop: int, height: float) -> list[tuple[int, int]]:
    width = stop - start
    if width <= MAX_ASPECT * height:
        return [(start, stop)]
    parts = max(2, round(width / (0.8 * height)))
    # Cut at the thinnest column in the middle half of where the first boundary should be.
    guess = start + width / parts
    lo, hi = int(guess - 0.25 * width / parts), int(guess + 0.25 * width / parts) + 1
    cut = lo + int(np.argmin(proj[lo:hi]))
    return _split_wide(proj, start, cut, height) + _split_wide(proj, cut, stop, height)


def _crop(ink: Image.Image, scale: float, start: int, stop: int) -> Image.Image:
    x0, x1 = int(start / scale), min(int(np.ceil(stop / scale)), ink.width)
    piece = ink.crop((x0, 0, x1, ink.height))
    piece = piece.crop(piece.getbbox() or (0, 0, piece.width, piece.height))
    pad = int(PAD * max(piece.height, piece.width)) + 1
    canvas = Image.new("L", (piece.width + 2 * pad, piece.height + 2 * pad), 0)
    canvas.paste(piece, (pad, pad))
    return canvas


def split_digits(image, classify: Callable[[list[Image.Image]], list[float]] | None = None) -> list[Image.Image]:
    """One 'L' image per digit (white ink on black, padded), left to right.

    Args:
        image: anything :func:`digitrec.decode.to_pil` accepts.
        classify: optional; returns the recognizer's confidence for each crop (0 for a crop
            that is not a digit). With it, a segment recognized with low confidence is tested
            for two touching digits, and cut where both halves are recognized more confidently
            together than the whole; then neighbours that together read more confidently than
            apart are joined.

    Raises:
        EmptyImageError: no ink at all.
    """
    ink = ink_map(to_pil(image))
    bbox = ink.getbbox()
    if bbox is None:
        raise EmptyImageError("no digits found: the image is blank. Draw or upload a number.")
    ink = ink.crop(bbox)
    scale = WORK_HEIGHT / ink.height
    small = np.asarray(
        ink.resize((max(1, round(ink.width * scale)), WORK_HEIGHT), Image.Resampling.BOX), dtype=np.float32
    )
    mask = small >= INK * small.max()
    proj = mask.sum(axis=0).astype(np.float32)
    columns = np.flatnonzero(proj > 0)
    # Runs of inked columns, separated by at least one empty column; specks between digits dropped.
    breaks = np.flatnonzero(np.diff(columns) > 1)
    starts, ends = np.r_[columns[0], columns[breaks + 1]], np.r_[columns[breaks], columns[-1]] + 1
    runs = [(int(a), int(b)) for a, b in zip(starts, ends, strict=True) if mask[:, a:b].sum() >= 0.002 * mask.size]
    if not runs:
        raise EmptyImageError("no digits found: only a few stray marks. Draw a number.")
    heights = [np.ptp(np.flatnonzero(mask[:, a:b].any(axis=1))) + 1 for a, b in runs]
    height = float(max(np.median(heights), 1))  # digits of one number share a height
    runs = _merge_fragments(runs, heights, height)
    segments = [seg for a, b in runs for seg in _split_wide(proj, a, b, height)]
    if len(segments) > MAX_NUMBER_DIGITS:  # each segment may be tried for cuts and joins: bound the work
        raise InvalidImageError(
            f"this drawing holds about {len(segments)} digits; a number may have at most "
            f"{MAX_NUMBER_DIGITS}. Write a shorter number."
        )

    if classify is not None:
        confidence = classify([_crop(ink, scale, a, b) for a, b in segments])
        refined = []
        for (a, b), conf in zip(segments, confidence, strict=True):
            suspect = conf < CONFIDENT or b - a >= WIDE * height
            refined += _try_cut(ink, scale, proj, a, b, conf, height, classify) if suspect else [(a, b)]
        segments = _join_broken(ink, scale, refined, height, classify)
    return [_crop(ink, scale, a, b) for a, b in segments]


def _merge_fragments(runs, heights, height) -> list[tuple[int, int]]:
    """Join pieces much shorter than a digit (a detached bar, a loop's dot) to their nearest neighbour."""
    runs = list(runs)
    heights = list(heights)
    while len(runs) > 1:
        short = [i for i, h in enumerate(heights) if h < FRAGMENT * height]
        if not short:
            break
        i = short[0]
        gap_left = runs[i][0] - runs[i - 1][1] if i > 0 else np.inf
        gap_right = runs[i + 1][0] - runs[i][1] if i + 1 < len(runs) else np.inf
        j = i - 1 if gap_left <= gap_right else i + 1
        lo, hi = min(i, j), max(i, j)
        runs[lo : hi + 1] = [(runs[lo][0], runs[hi][1])]
        heights[lo : hi + 1] = [max(heights[lo], heights[hi])]
    return runs


def _join_broken(ink, scale, segments, height, classify) -> list[tuple[int, int]]:
    """Join neighbours that read better as one digit than as two: a 4, an 8 or a 1 drawn with a gap."""
    segments = list(segments)
    confidence = classify([_crop(ink, scale, a, b) for a, b in segments]) if len(segments) > 1 else []
    i = 0
    while i + 1 < len(segments):
        a, b = segments[i][0], segments[i + 1][1]
        if b - a <= JOIN_WIDTH * height:
            (joined,) = classify([_crop(ink, scale, a, b)])
            # The mirror of a cut: one digit must explain the ink better than two jointly.
            if joined > confidence[i] * confidence[i + 1]:
                segments[i : i + 2], confidence[i : i + 2] = [(a, b)], [joined]
                continue
        i += 1
    return segments


def _try_cut(ink, scale, proj, a, b, conf, height, classify) -> list[tuple[int, int]]:
    width = b - a
    if width < 0.5 * height:
        return [(a, b)]
    # Both halves must be at least a thin digit wide, and both must be recognized confidently:
    # half of a 0 or an 8 easily passes for a confident 1 on its own.
    lo, hi = a + max(int(0.2 * width), int(0.25 * height)), b - max(int(0.2 * width), int(0.25 * height))
    if hi <= lo:
        return [(a, b)]
    if conf > 0:
        cuts = lo + np.argsort(proj[lo:hi], kind="stable")[:3]
        best = max(conf, CONFIDENT)
    else:
        # No digit at all (two digits touching look like none): where they touch need not be
        # the thinnest column, so try cuts across the whole range, and accept a less sure pair.
        cuts = np.unique(np.linspace(lo, hi - 1, CUT_CANDIDATES).astype(int))
        best = NOT_ONE_DIGIT_CUT
    halves = classify(
        [crop for cut in cuts for crop in (_crop(ink, scale, a, int(cut)), _crop(ink, scale, int(cut), b))]
    )
    # Two digits must explain the ink better than one: compare joint confidence with the whole's.
    joint = np.asarray(halves[0::2]) * np.asarray(halves[1::2])
    i = int(np.argmax(joint))
    return [(a, int(cuts[i])), (int(cuts[i]), b)] if joint[i] > best else [(a, b)]


def read_number(image, verdicts: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]) -> list[np.ndarray]:
    """The probabilities of each digit written in ``image``, left to right.

    ``verdicts`` reads a batch of normalized images: their probabilities, and whether each looks like
    a digit (:meth:`digitrec.inference.Recognizer.verdicts`). Each crop is normalized and read once,
    whether segmentation (:func:`split_digits`) or the final answer asks; a crop that does not look
    like a digit (half a digit, two touching ones) scores 0, and a sliver of ink is no digit.
    """
    seen: dict[bytes, tuple[np.ndarray, float] | None] = {}  # crop -> (probabilities, confidence)

    def read(crops) -> list[tuple[np.ndarray, float] | None]:
        keys = [c.tobytes() + bytes(str(c.size), "ascii") for c in crops]
        new = {k: c for k, c in zip(keys, crops, strict=True) if k not in seen}
        inputs = {}
        for key, crop in new.items():
            try:
                inputs[key] = normalize(crop)
            except EmptyImageError:
                seen[key] = None
        if inputs:
            probs, is_digit = verdicts(np.stack(list(inputs.values())))
            for key, p, ok in zip(inputs, probs, is_digit, strict=True):
                seen[key] = (p, float(p.max() * ok))
        return [seen[k] for k in keys]

    def confidence(crops) -> list[float]:
        return [0.0 if r is None else r[1] for r in read(crops)]

    return [r[0] for r in read(split_digits(image, classify=confidence)) if r is not None]
