"""The corrections dataset: visitors' corrections ("Wrong? It was a …") as a Hugging Face image-folder
dataset, written, pruned and pushed by the app (:class:`FeedbackStore`), read and screened for training
(:func:`load_corrections`, :func:`screen_corrections`).

Each correction is one row of a ``metadata.jsonl`` beside its image, the layout that
``datasets.load_dataset("imagefolder", data_dir=…)`` and the Hub's dataset viewer read
without custom code::

    feedback/data/2026-11-22T14/3f2c….png          the drawing as the visitor made it
    feedback/data/2026-11-22T14/metadata.jsonl     {"file_name": "3f2c….png", "label": "4", "input": [[…]], …}

Rows go into one folder per UTC hour. A folder is deleted locally only when every file in it has
reached the Hub as it is now; when nothing can go, a new correction is refused rather than
an old one lost. The same drawing sent again from the same address replaces its row's label. With a dataset repo
configured, a ``huggingface_hub.CommitScheduler`` pushes the folder every few minutes and
once more at exit; while the Hub is unreachable the corrections wait on disk.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import secrets
import shutil
import threading
import time
import uuid
from collections import defaultdict, deque
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from huggingface_hub import CommitScheduler
from PIL import Image

from digitrec.constants import CLASS_NAMES, IMAGE_SIZE, NOT_A_DIGIT
from digitrec.errors import FeedbackError, PreprocessError
from digitrec.hub import FEEDBACK_REPO_ENV, pull_dataset
from digitrec.limits import FEEDBACK_IMAGE_SIDE, FEEDBACK_MAX_BYTES, FEEDBACK_PER_MINUTE
from digitrec.preprocess import from_uint8, normalize

if TYPE_CHECKING:  # the app's answer, saved beside the drawing; inference is a layer above this one
    from digitrec.inference import Recognition

log = logging.getLogger(__name__)

METADATA = "metadata.jsonl"  # an image-folder dataset's rows, beside its images
LABELS = (*CLASS_NAMES, NOT_A_DIGIT)  # what a visitor may say a drawing was
DIR_ENV, EVERY_ENV, SALT_ENV = "DIGITREC_FEEDBACK_DIR", "DIGITREC_FEEDBACK_EVERY", "DIGITREC_FEEDBACK_SALT"
DEFAULT_DIR, DEFAULT_EVERY_MIN = "feedback", 5.0
RATE_SESSIONS = 1024  # addresses and sessions remembered for the rate limit before the quiet ones are dropped


def label_of(answer: str) -> str:
    """A visitor's answer as one of :data:`LABELS` (case and spaces ignored).

    Raises:
        FeedbackError: the answer is not a digit or "not a digit".
    """
    label = str(answer).strip().lower()
    if label not in LABELS:
        raise FeedbackError(f"unknown label {label[:20]!r}: send one of 0-9 or {NOT_A_DIGIT!r}")
    return label


class FeedbackStore:
    """Where corrections go: a local folder, pushed to a dataset repo when one is configured.

    Args:
        folder: the local folder (created if missing).
        repo_id: ``USER/DATASET`` to push to, or ``None`` to keep corrections local.
        every_minutes: how often the folder is pushed.
    """

    def __init__(
        self,
        folder: str | Path,
        repo_id: str | None = None,
        every_minutes: float = DEFAULT_EVERY_MIN,
        salt: str | None = None,
    ):
        self.folder = Path(folder)
        (self.folder / "data").mkdir(parents=True, exist_ok=True)
        self.repo_id, self.every = repo_id, every_minutes
        # The salt keeps a row's origin from naming its address: it never goes into the dataset. Without
        # $DIGITREC_FEEDBACK_SALT (a Space secret) it is new each start, and origins match within one run only.
        self._salt = salt or secrets.token_hex(16)
        self.scheduler: CommitScheduler | None = None
        self._lock = threading.Lock()  # when no scheduler holds one
        self._recent: dict[str, deque] = defaultdict(deque)  # each address's and session's corrections
        self._rate_lock = threading.Lock()
        # Where each (origin, drawing) pair is kept, so that the same drawing from the same origin is one row.
        self._rows: dict[tuple[str, str], Path] = {}
        self._bytes = 0
        for shard in self._shards():
            for row in _rows_in(shard):
                self._rows[row.get("origin", ""), row.get("input_sha256", "")] = shard
            self._bytes += _size(shard)
        if repo_id:
            self._start_scheduler()

    @classmethod
    def from_environment(cls, environ) -> FeedbackStore:
        """The store the app's settings describe (``DIGITREC_FEEDBACK_DIR``, ``_REPO``, ``_EVERY``)."""
        every = float(environ.get(EVERY_ENV) or DEFAULT_EVERY_MIN)
        folder, repo = environ.get(DIR_ENV) or DEFAULT_DIR, environ.get(FEEDBACK_REPO_ENV) or None
        return cls(folder, repo, every, environ.get(SALT_ENV) or None)

    @property
    def where(self) -> str:
        return f"the dataset {self.repo_id}" if self.repo_id else f"the folder {self.folder}/ on this server"

    def save(
        self,
        drawing: Image.Image,
        result: Recognition,
        label: str,
        model: str,
        session: str = "",
        revision: str = "local",
        address: str = "",
    ) -> str:
        """Keep one correction; returns its image's path inside the folder.

        The same drawing sent again from the same address replaces its row (the last answer wins).

        Args:
            drawing, result: the drawing as the visitor made it, and what the model made of it.
            label: a digit or "not a digit".
            model, revision: which model answered.
            session: the visitor's session, a second key for the rate limit.
            address: the client's address (as the Space's proxy reports it), the first key for the rate
                limit; stored only as a salted hash, the row's ``origin``.

        Raises:
            FeedbackError: ``label`` is not a digit or "not a digit", the address or session sent too many,
                or the folder is full of corrections not yet pushed.
        """
        label = label_of(label)
        origin = hashlib.sha256((self._salt + address).encode()).hexdigest()[:16]
        self._check_rate("address " + origin, "session " + session)
        drawing = drawing.copy()
        drawing.thumbnail((FEEDBACK_IMAGE_SIDE, FEEDBACK_IMAGE_SIDE))  # a drawing needs no 39 MP image
        buf = io.BytesIO()
        drawing.save(buf, format="PNG")
        pixels = _as_pixels(result.input)
        key = (origin, _pixels_sha256(pixels))
        now = datetime.now(UTC)
        name = f"{uuid.uuid4().hex}.png"
        row = {
            "file_name": name,
            "label": label,
            "predicted": result.digit,
            "is_digit": result.is_digit,
            "probabilities": [round(result.probabilities[c], 6) for c in CLASS_NAMES],
            "input": pixels.astype(int).tolist(),  # the 28x28 the model saw, 0-255
            "input_sha256": key[1],
            "origin": origin,
            "model": model,
            "model_revision": revision,
            "timestamp": now.isoformat(timespec="seconds"),
        }
        with self._guard():
            earlier = self._rows.get(key)
            if earlier is not None and earlier.is_dir():
                return self._relabel(earlier, key, label, now)
            line = json.dumps(row) + "\n"
            self._make_room(len(buf.getvalue()) + len(line))
            shard = self.folder / "data" / now.strftime("%Y-%m-%dT%H")
            shard.mkdir(parents=True, exist_ok=True)
            (shard / name).write_bytes(buf.getvalue())
            with open(shard / METADATA, "a") as f:
                f.write(line)
            self._rows[key] = shard
            self._bytes += len(buf.getvalue()) + len(line)
        return str((shard / name).relative_to(self.folder))

    def _relabel(self, shard: Path, key: tuple[str, str], label: str, now: datetime) -> str:
        """Give the row of ``key`` in ``shard`` the new ``label``; its image's path."""
        rows = _rows_in(shard)
        name = ""
        for row in rows:
            if (row.get("origin", ""), row.get("input_sha256", "")) == key:
                row["label"], row["timestamp"], name = label, now.isoformat(timespec="seconds"), row["file_name"]
        tmp = shard / (METADATA + ".tmp")
        tmp.write_text("".join(json.dumps(row) + "\n" for row in rows))
        os.replace(tmp, shard / METADATA)
        return str((shard / name).relative_to(self.folder))

    def push_now(self, timeout: float = 60) -> None:
        """Push what is waiting (the app calls this at exit); a no-op without a repo or a reachable Hub."""
        if self.scheduler is not None:
            try:
                self.scheduler.trigger().result(timeout=timeout)
            except Exception as exc:  # the Hub is down: the corrections stay on disk for the next push
                log.warning("feedback push failed (%s); corrections stay in %s", exc, self.folder)

    def _start_scheduler(self) -> None:
        try:
            self.scheduler = CommitScheduler(
                repo_id=self.repo_id, repo_type="dataset", folder_path=self.folder, every=self.every, private=True
            )
        except Exception as exc:  # the Hub is unreachable at start: try again later, never block the app
            log.warning("feedback repo %s not reachable (%s); retrying in %s min", self.repo_id, exc, self.every)
            timer = threading.Timer(self.every * 60, self._start_scheduler)
            timer.daemon = True
            timer.start()

    def _guard(self):
        return self.scheduler.lock if self.scheduler is not None else self._lock

    def _check_rate(self, *keys: str) -> None:
        """At most :data:`FEEDBACK_PER_MINUTE` corrections a minute for each of ``keys`` (an address, a session)."""
        now = time.monotonic()
        with self._rate_lock:
            if len(self._recent) > RATE_SESSIONS:  # keys silent for a minute are forgotten: memory stays bounded
                for quiet in [k for k, times in self._recent.items() if now - times[-1] > 60]:
                    del self._recent[quiet]
            for key in keys:
                recent = self._recent[key]
                while recent and now - recent[0] > 60:
                    recent.popleft()
                if len(recent) >= FEEDBACK_PER_MINUTE:
                    raise FeedbackError(f"at most {FEEDBACK_PER_MINUTE} corrections a minute; try again shortly")
            for key in keys:
                self._recent[key].append(now)

    def _shards(self) -> list[Path]:
        return sorted(p for p in (self.folder / "data").iterdir() if p.is_dir())

    def _make_room(self, needed: int) -> None:
        """Keep the folder under :data:`FEEDBACK_MAX_BYTES` with ``needed`` more bytes: delete hours already
        pushed, oldest first; never one that is not. Called with the guard held.

        Raises:
            FeedbackError: still no room; nothing was deleted that has not reached the dataset repo.
        """
        if self._bytes + needed <= FEEDBACK_MAX_BYTES:
            return
        pushed = dict(self.scheduler.last_uploaded) if self.scheduler is not None else {}
        for shard in self._shards():
            if self._bytes + needed <= FEEDBACK_MAX_BYTES:
                break
            # Pushed as it is now: a row relabelled since its push has not reached the repo.
            if all(pushed.get(f.resolve()) == f.stat().st_mtime for f in shard.iterdir()):
                self._bytes -= _size(shard)
                shutil.rmtree(shard, ignore_errors=True)
                self._rows = {k: v for k, v in self._rows.items() if v != shard}
        if self._bytes + needed > FEEDBACK_MAX_BYTES:
            raise FeedbackError("the corrections store is full until it is pushed to the Hub; try again later")


def _rows_in(shard: Path) -> list[dict]:
    metadata = shard / METADATA
    if not metadata.is_file():
        return []
    return [json.loads(line) for line in metadata.read_text().splitlines() if line.strip()]


def _size(shard: Path) -> int:
    return sum(f.stat().st_size for f in shard.iterdir() if f.is_file())


# ---- reading the dataset: what training takes from it ---------------------------------------------


def _as_input(row: dict) -> np.ndarray:
    """A correction's model input made anew from the drawing as the visitor made it, through the one
    ``normalize`` path every drawing takes; the stored 28x28 input only where the image is gone."""
    try:
        return normalize(row["path"])
    except (OSError, PreprocessError):
        return from_uint8(np.asarray(row["input"], np.uint8))


def read_corrections(folder: str | Path) -> list[dict]:
    """Visitors' corrections (:mod:`digitrec.corrections`): every row of every ``metadata.jsonl`` under
    ``folder``, with ``"path"``, its image, and ``"x"``, that image normalized as floats."""
    rows = []
    for metadata in sorted(Path(folder).rglob(METADATA)):
        for line in metadata.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                row["path"] = str(metadata.parent / row["file_name"])
                row["x"] = _as_input(row)
                rows.append(row)
    return rows


def load_corrections(source: str) -> tuple[list[dict], str]:
    """Visitors' corrections (:mod:`digitrec.corrections`) from a folder or ``hf://datasets/USER/DATASET[@REV]``;
    the rows and the revision they came from."""
    if source.startswith("hf://"):
        folder, revision = pull_dataset(source)
    else:
        folder, revision = Path(source), "local folder"
    rows = read_corrections(folder)
    if not rows:
        raise ValueError(f"no corrections in {source}: expected metadata.jsonl files from digitrec's feedback folder")
    return rows, revision


def screen_corrections(rows: list[dict], probs: np.ndarray, per_origin: int, top: int) -> tuple[list[dict], dict]:
    """The corrections worth training on, and a report of what was left out and why.

    * a repeat of an earlier row's drawing from the same origin goes (the store keeps one; a folder
      edited by hand may not);
    * at most ``per_origin`` rows from one origin (rows recorded before origins were: one origin);
    * a row whose label the model does not back is quarantined unless another origin gave the same
      drawing the same label: a digit outside the model's ``top`` guesses (``probs``, one row each), or
      "not a digit" for a drawing the model read as a digit. ``top`` 0 keeps every label.
    """
    seen, per, kept = set(), defaultdict(int), []
    report = {"read": len(rows), "duplicates": 0, "over_origin_cap": 0, "quarantined": 0}
    votes = defaultdict(set)  # (drawing, label) -> origins that sent it
    for row in rows:
        votes[_drawing_key(row), row["label"]].add(row.get("origin", ""))
    for row, p in zip(rows, probs, strict=True):
        origin, drawing = row.get("origin", ""), _drawing_key(row)
        if (origin, drawing) in seen:
            report["duplicates"] += 1
            continue
        seen.add((origin, drawing))
        if per[origin] >= per_origin:
            report["over_origin_cap"] += 1
            continue
        backed = len(votes[drawing, row["label"]]) > 1
        if row["label"] in CLASS_NAMES:
            agrees = CLASS_NAMES.index(row["label"]) in np.argsort(p)[::-1][:top]
        else:
            agrees = not row.get("is_digit", True)
        if top and not (agrees or backed):
            report["quarantined"] += 1
            continue
        per[origin] += 1
        kept.append(row)
    report["kept"] = len(kept)
    return kept, report


def _drawing_key(row: dict) -> str:
    return row.get("input_sha256") or _pixels_sha256(_as_pixels(row["x"]))


def _as_pixels(x: np.ndarray) -> np.ndarray:
    """A 28x28 model input (0-1) as the 0-255 pixels a row stores in ``input``."""
    return np.rint(x * 255).astype(np.uint8)


def _pixels_sha256(pixels: np.ndarray) -> str:
    """A row's ``input_sha256``: the same drawing from the same origin is one row."""
    return hashlib.sha256(pixels.tobytes()).hexdigest()


def split_corrections(rows: list[dict], holdout: float, salt: str = "") -> tuple[list[dict], list[dict]]:
    """``(kept, held_out)``: each row's side is fixed by its file name, so it never changes between runs."""

    def held(row):
        return int(hashlib.sha1((salt + row["file_name"]).encode()).hexdigest()[:8], 16) % 1000 < holdout * 1000

    return [r for r in rows if not held(r)], [r for r in rows if held(r)]


def corrections_as_digits(rows: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """The corrections that name a digit, as model inputs and labels ("not a digit" rows go to the detector)."""
    digits = [r for r in rows if r["label"] in CLASS_NAMES]
    if not digits:
        return np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.float32), np.zeros(0, np.int32)
    return np.stack([r["x"] for r in digits]), np.array([CLASS_NAMES.index(r["label"]) for r in digits], np.int32)
