"""Real pen handwriting (UNIPEN): the project's copy, checked, split by writer, drawn as visitors draw.

``data/unipen/`` holds pen trajectories recorded on tablets by writers at 13 institutions
(its README gives the format, the CC BY 4.0 license and the attribution to keep). Each file is
checked against its pinned SHA-256 before it is read. Writers, never rows, are split into
training, validation and test (:func:`split_of`): every institution on every side, and the
test writers are only ever measured, never selected on.

:func:`draw` turns one trajectory into the image a client sends: the app's Sketchpad (its
canvas and brush) or another canvas size and pen width, at a random size and position, slightly
rotated and sheared. Training, fitting and evaluation read it through the one
:func:`digitrec.preprocess.normalize` path (:func:`inputs`).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
from collections import defaultdict
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image

from digitrec.constants import CLASS_NAMES, IMAGE_SIZE, SKETCH_BRUSH, SKETCH_CANVAS
from digitrec.errors import ChecksumError, PreprocessError
from digitrec.preprocess import normalize
from digitrec.render import STYLES, paint, pen_mask

FOLDER = Path(__file__).resolve().parent.parent / "data" / "unipen"
SHA256 = {
    "digits.jsonl.gz": "499d2b55d5f7fc7e5302c15bb6c409e91dc19f02d4a928eb17d8bf14b5563a3c",
    "characters.jsonl.gz": "71e49950dcd422e26d1894d99893a37c6def0f499a3aff64931c779cb1ab79a2",
}
SPLITS = (("train", 0.7), ("val", 0.1), ("test", 0.2))  # shares of each institution's writers
SPLIT_SALT = "digitrec-unipen-1"  # changing it reshuffles who is a test writer: never, once results are out
# Characters some writers make like a digit (O/0, l/1, Z/2, S/5, b/6, T/7, B/8, q/9, ...) and single
# strokes or marks: not examples of "not a digit" (data/unipen/README.md lists them).
DIGIT_LIKE = set("OoQDIlijJTtZzSsBbGgqyaA") | set("/\\|()!',.-_")
APP_SHARE = 0.5  # share of drawings made on the app's own Sketchpad with its brush; the rest on other clients
CANVAS_SIDES = (200, 1000)  # px: other clients' canvases
HEIGHT = (0.35, 0.85)  # a drawing's longer side, as a share of the canvas
PEN = (0.02, 0.12)  # other clients' pen widths, as a share of the drawing's longer side
TURN, SHEAR = 8.0, 0.2  # degrees either way; horizontal shift per unit of height either way
UPRIGHT = 0.75  # an unposed drawing's longer side, as a share of the canvas
# Marks that many hands add and few training writers' digits carry (:func:`marked`): ones with a long
# flag were the commonest misreading of real hands (read as 7), and crossed sevens were flagged.
# A one's flag: its run left from the top, a share of the one's height, and its drop per unit of run (steeper
# than a seven's top bar: a flat flag is one).
FLAG_RUN, FLAG_SLOPE = (0.2, 0.45), (0.7, 1.5)
BAR_Y, BAR_HALF = (0.45, 0.6), (0.2, 0.4)  # a seven's bar: height from the top, half-length (shares of its size)
PLAIN_ONE = 0.3  # a one this much wider than tall already has a flag or a foot


@cache
def load(kind: str = "digits") -> tuple[dict, ...]:
    """The rows of ``data/unipen/{kind}.jsonl.gz`` (``"digits"`` or ``"characters"``), checked by SHA-256.

    Each row is ``{"source", "writer", "category", "label", "strokes"}``; ``strokes`` is a list of
    pen-down strokes, each a list of ``[x, y]`` points in the tablet's units, ``y`` downwards.
    """
    path = FOLDER / f"{kind}.jsonl.gz"
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != SHA256[path.name]:
        raise ChecksumError(
            f"{path.name} has SHA-256 {digest}, expected {SHA256[path.name]}: restore data/unipen/ from the repository"
        )
    return tuple(json.loads(line) for line in gzip.decompress(data).splitlines() if line.strip())


@cache
def writer_splits() -> dict[str, str]:
    """``{writer: "train" | "val" | "test"}`` for every writer. Within each institution, the writers of
    digits are shared out first and the others after them, each in an order fixed by a salted hash,
    so every institution's digits are on every side."""
    digit_writers = {row["writer"] for row in load("digits")}
    writers = (FOLDER / "writers.txt").read_text().split()
    groups = defaultdict(list)
    for writer in writers:
        groups[writer.split("/")[0], writer in digit_writers].append(writer)
    out = {}
    for group in groups.values():
        group.sort(key=lambda w: hashlib.sha256((SPLIT_SALT + w).encode()).hexdigest())
        ends = np.cumsum([share for _, share in SPLITS]) * len(group)
        for i, writer in enumerate(group):
            out[writer] = SPLITS[int(np.searchsorted(ends, i, side="right"))][0]
    return out


def split_of(writer: str) -> str:
    """Which split ``writer`` belongs to."""
    return writer_splits()[writer]


def rows(kind: str, split: str) -> list[dict]:
    """The rows of ``kind`` written by the writers of ``split``; for characters, only those that are
    no digit in anyone's hand (:data:`DIGIT_LIKE` left out)."""
    return [
        row
        for row in load(kind)
        if split_of(row["writer"]) == split and (kind == "digits" or row["label"] not in DIGIT_LIKE)
    ]


def draw(
    strokes: list,
    rng: np.random.Generator,
    app: bool | None = None,
    pose: bool = True,
    height: tuple[float, float] = HEIGHT,
    brush: int = SKETCH_BRUSH,
) -> Image.Image:
    """One pen trajectory as the image a client sends.

    Args:
        strokes: pen-down strokes of ``[x, y]`` points in any units, ``y`` downwards.
        rng: draws everything random here.
        app: ``True`` for the app's Sketchpad (:data:`SKETCH_CANVAS` px, :data:`SKETCH_BRUSH` px brush,
            black on white); ``False`` for another client's canvas size, pen width and colours;
            ``None`` to pick, the app with probability :data:`APP_SHARE`.
        pose: ``False`` draws it upright, unsheared, centred, its longer side :data:`UPRIGHT` of the
            canvas: as a test draws the same strokes in a browser.
        height: the range of the drawing's longer side, as a share of the canvas.
        brush: the Sketchpad's brush in px (a visitor may pick another with its "Brush Size" button).
    """
    app = rng.random() < APP_SHARE if app is None else app
    angle, shear = math.radians(rng.uniform(-TURN, TURN)), rng.uniform(-SHEAR, SHEAR)
    if not pose:
        angle = shear = 0.0
    moved, low, span = _posed(strokes, angle, shear)
    side = SKETCH_CANVAS if app else int(rng.integers(*CANVAS_SIDES))
    scale = side * (rng.uniform(*height) if pose else UPRIGHT) / span.max()
    width = brush if app else max(2, round(span.max() * scale * rng.uniform(*PEN)))
    room = np.maximum(side - span * scale - width, 0)
    offset = width / 2 + room * (rng.uniform(0, 1, 2) if pose else 0.5)
    mask = pen_mask((side, side), [(p - low) * scale + offset for p in moved], width)
    return paint(mask, "black_on_white" if app else STYLES[int(rng.integers(len(STYLES)))])


def marked(strokes: list, label: str, rng: np.random.Generator) -> list | None:
    """``strokes`` of a plain one with a long flag added at its top, or of a seven in one stroke with a bar
    across its stem; ``None`` for any other digit, or one that may carry such a mark already."""
    pts = np.concatenate([np.asarray(s, np.float64).reshape(-1, 2) for s in strokes])
    low, high = pts.min(0), pts.max(0)
    width, height = high - low
    if height <= 0:
        return None
    if label == "1" and width <= PLAIN_ONE * height:
        top = pts[pts[:, 1].argmin()]
        run = rng.uniform(*FLAG_RUN)
        start = top + height * np.array([-run, run * rng.uniform(*FLAG_SLOPE)])
        return [[start.tolist(), top.tolist()], *strokes]
    if label == "7" and len(strokes) == 1:
        y = low[1] + height * rng.uniform(*BAR_Y)
        line = np.asarray(strokes[0], np.float64).reshape(-1, 2)
        a, b = line[:-1], line[1:]
        crossing = (a[:, 1] - y) * (b[:, 1] - y) <= 0
        if not crossing.any():
            return None
        a, b = a[crossing], b[crossing]
        t = (y - a[:, 1]) / np.where(b[:, 1] == a[:, 1], 1, b[:, 1] - a[:, 1])
        x = float(np.mean(a[:, 0] + t * (b[:, 0] - a[:, 0])))
        span = max(width, 0.4 * height)
        tilt = height * rng.uniform(-0.04, 0.04)
        bar = [[x - span * rng.uniform(*BAR_HALF), y], [x + span * rng.uniform(*BAR_HALF), y + tilt]]
        return [*strokes, bar]
    return None


def unit_strokes(strokes: list) -> list[np.ndarray]:
    """``strokes`` scaled so that their longer side spans 0-1, from the origin: a drawing's shape in the
    0-1 coordinates a browser test draws in, whatever the tablet's units."""
    moved, low, span = _posed(strokes, 0.0, 0.0)
    return [(p - low) / span.max() for p in moved]


def _posed(strokes: list, angle: float, shear: float) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """``strokes`` turned by ``angle`` (radians) and sheared by ``shear`` about their centre; their lowest
    corner and their extent."""
    pts = [np.asarray(s, np.float64).reshape(-1, 2) for s in strokes]
    allpts = np.concatenate(pts)
    centre = (allpts.min(0) + allpts.max(0)) / 2
    cos, sin = math.cos(angle), math.sin(angle)
    moved = []
    for p in pts:
        x, y = p[:, 0] - centre[0] - shear * (p[:, 1] - centre[1]), p[:, 1] - centre[1]
        moved.append(np.stack([cos * x - sin * y, sin * x + cos * y], 1))
    allpts = np.concatenate(moved)
    return moved, allpts.min(0), np.maximum(allpts.max(0) - allpts.min(0), 1e-6)


def inputs(samples: list[dict], copies: int, seed: int, app: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Each sample drawn ``copies`` times (:func:`draw`) and normalized: ``(inputs (n, 28, 28), labels)``.

    Labels are class indices for digits and ``-1`` for other characters; a drawing preprocessing
    refuses (a dot too small to read) is left out."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for _ in range(copies):
        for row in samples:
            try:
                xs.append(normalize(draw(row["strokes"], rng, app)))
            except PreprocessError:
                continue
            ys.append(CLASS_NAMES.index(row["label"]) if row["label"] in CLASS_NAMES else -1)
    if not xs:
        return np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.float32), np.zeros(0, np.int32)
    return np.stack(xs).astype(np.float32), np.array(ys, np.int32)
