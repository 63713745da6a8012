"""Corrections from visitors ("Wrong? It was a …"), kept as a Hugging Face image-folder dataset.

Each correction is one row of a ``metadata.jsonl`` beside its image, the layout that
``datasets.load_dataset("imagefolder", data_dir=…)`` and the Hub's dataset viewer read
without custom code::

    feedback/data/2026-11-22T14/3f2c….png          the drawing as the visitor made it
    feedback/data/2026-11-22T14/metadata.jsonl     {"file_name": "3f2c….png", "label": "4", "input": [[…]], …}

Rows go into one folder per UTC hour, so a folder that has been pushed never changes
again and can be pruned locally without losing rows on the Hub. With a dataset repo
configured, a ``huggingface_hub.CommitScheduler`` pushes the folder every few minutes and
once more at exit; while the Hub is unreachable the corrections wait on disk.
"""

from __future__ import annotations

import io
import json
import logging
import shutil
import threading
import time
import uuid
from collections import defaultdict, deque
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from huggingface_hub import CommitScheduler
from PIL import Image

from digitrec.constants import CLASS_NAMES, NOT_A_DIGIT
from digitrec.data import METADATA
from digitrec.hub import FEEDBACK_REPO_ENV
from digitrec.inference import Recognition
from digitrec.limits import FEEDBACK_MAX_BYTES, FEEDBACK_PER_MINUTE
from digitrec.preprocess import PreprocessError

log = logging.getLogger(__name__)

LABELS = (*CLASS_NAMES, NOT_A_DIGIT)  # what a visitor may say a drawing was
DIR_ENV, EVERY_ENV = "DIGITREC_FEEDBACK_DIR", "DIGITREC_FEEDBACK_EVERY"
DEFAULT_DIR, DEFAULT_EVERY_MIN = "feedback", 5.0
RATE_SESSIONS = 1024  # sessions remembered for the rate limit before the quiet ones are dropped


class FeedbackError(PreprocessError):
    """A correction that cannot be kept: an unknown label, or too many from one session."""


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

    def __init__(self, folder: str | Path, repo_id: str | None = None, every_minutes: float = DEFAULT_EVERY_MIN):
        self.folder = Path(folder)
        (self.folder / "data").mkdir(parents=True, exist_ok=True)
        self.repo_id, self.every = repo_id, every_minutes
        self.scheduler: CommitScheduler | None = None
        self._lock = threading.Lock()  # when no scheduler holds one
        self._recent: dict[str, deque] = defaultdict(deque)  # each session's corrections in the last minute
        self._rate_lock = threading.Lock()
        if repo_id:
            self._start_scheduler()

    @classmethod
    def from_environment(cls, environ) -> FeedbackStore:
        """The store the app's settings describe (``DIGITREC_FEEDBACK_DIR``, ``_REPO``, ``_EVERY``)."""
        every = float(environ.get(EVERY_ENV) or DEFAULT_EVERY_MIN)
        return cls(environ.get(DIR_ENV) or DEFAULT_DIR, environ.get(FEEDBACK_REPO_ENV) or None, every)

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
    ) -> str:
        """Keep one correction; returns its image's path inside the folder.

        Raises:
            FeedbackError: ``label`` is not a digit or "not a digit", or the session sent too many.
        """
        label = label_of(label)
        self._check_rate(session)
        now = datetime.now(UTC)
        shard = self.folder / "data" / now.strftime("%Y-%m-%dT%H")
        name = f"{uuid.uuid4().hex}.png"
        buf = io.BytesIO()
        drawing.save(buf, format="PNG")
        row = {
            "file_name": name,
            "label": label,
            "predicted": result.digit,
            "is_digit": result.is_digit,
            "probabilities": [round(result.probabilities[c], 6) for c in CLASS_NAMES],
            "input": np.rint(result.input * 255).astype(int).tolist(),  # the 28x28 the model saw, 0-255
            "model": model,
            "model_revision": revision,
            "timestamp": now.isoformat(timespec="seconds"),
        }
        with self._guard():
            shard.mkdir(parents=True, exist_ok=True)
            (shard / name).write_bytes(buf.getvalue())
            with open(shard / METADATA, "a") as f:
                f.write(json.dumps(row) + "\n")
        self._prune()
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

    def _check_rate(self, session: str) -> None:
        now = time.monotonic()
        with self._rate_lock:
            if len(self._recent) > RATE_SESSIONS:  # sessions silent for a minute are forgotten: memory stays bounded
                for quiet in [k for k, times in self._recent.items() if now - times[-1] > 60]:
                    del self._recent[quiet]
            recent = self._recent[session]
            while recent and now - recent[0] > 60:
                recent.popleft()
            if len(recent) >= FEEDBACK_PER_MINUTE:
                raise FeedbackError(f"at most {FEEDBACK_PER_MINUTE} corrections a minute; try again shortly")
            recent.append(now)

    def _prune(self) -> None:
        """Above :data:`FEEDBACK_MAX_BYTES`, delete whole hour folders, those already pushed first, oldest first."""
        with self._guard():
            shards = sorted(p for p in (self.folder / "data").iterdir() if p.is_dir())
            sizes = {s: sum(f.stat().st_size for f in s.iterdir()) for s in shards}
            total = sum(sizes.values())
            if total <= FEEDBACK_MAX_BYTES:
                return
            pushed = set(self.scheduler.last_uploaded) if self.scheduler is not None else set()
            done = [s for s in shards if all(f in pushed for f in s.iterdir())]
            for shard in done + [s for s in shards if s not in done]:
                if total <= FEEDBACK_MAX_BYTES or shard == shards[-1]:  # the current hour stays
                    break
                shutil.rmtree(shard, ignore_errors=True)
                total -= sizes[shard]
