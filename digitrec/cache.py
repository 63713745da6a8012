"""Gradio's upload and result cache, kept bounded: files expire, and a cap on bytes and files holds
within the expiry too (the numbers are in :mod:`digitrec.limits`)."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import threading
import time
from pathlib import Path

import gradio as gr

from digitrec.limits import CACHE_MAX_AGE_S, CACHE_MAX_BYTES, CACHE_MAX_FILES, CACHE_SWEEP_S

log = logging.getLogger(__name__)

_SWEEPING = threading.Lock()  # one sweep at a time: two would race to delete the same files


def sweep_cache(
    blocks: gr.Blocks,
    folder: str | Path,
    max_age_s: float = CACHE_MAX_AGE_S,
    max_bytes: int = CACHE_MAX_BYTES,
    max_files: int = CACHE_MAX_FILES,
) -> int:
    """Delete uploads and results older than ``max_age_s``, then the oldest until at most ``max_bytes`` and
    ``max_files`` remain. Files Gradio must keep (examples, default values) stay. Returns how many were
    deleted; 0 at once when another sweep is running.

    This is ``gr.Blocks(delete_cache=(frequency, age))`` with a cap on bytes and files, which Gradio 6's
    own sweep lacks: a flood of uploads inside the age limit would otherwise fill the disk.
    """
    if not _SWEEPING.acquire(blocking=False):
        return 0
    try:
        return _sweep(blocks, folder, max_age_s, max_bytes, max_files)
    finally:
        _SWEEPING.release()


def _sweep(blocks, folder, max_age_s: float, max_bytes: int, max_files: int) -> int:
    keep = set()
    for block in blocks.blocks.values():
        keep.update(str(p) for p in getattr(block, "keep_in_cache", ()))
    files = []
    # os.walk skips a folder that vanishes under it (another process, Gradio itself), where Path.rglob raises.
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            try:
                stat = os.lstat(path)
            except OSError:
                continue
            if path not in keep and not os.path.islink(path):
                files.append((stat.st_mtime, stat.st_size, path))
    files.sort()
    release_freed_memory()
    now, total, count, deleted = time.time(), sum(size for _, size, _ in files), len(files), 0
    for mtime, size, path in files:
        if now - mtime <= max_age_s and total <= max_bytes and count <= max_files:
            break
        with contextlib.suppress(OSError):
            os.unlink(path)
            total, count, deleted = total - size, count - 1, deleted + 1
            with contextlib.suppress(OSError):
                os.rmdir(os.path.dirname(path))  # Gradio keeps each file in a folder of its own
    return deleted


def release_freed_memory() -> None:
    """Hand memory that Python has freed back to the system (glibc's ``malloc_trim``).

    After a flood of uploads, glibc keeps the freed heap for reuse, so the server's resident
    memory stays at its peak; trimming returns it. A no-op where there is no glibc.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def start_cache_sweeper(blocks: gr.Blocks, folder: str | Path, every_s: float = CACHE_SWEEP_S) -> threading.Thread:
    """Sweep the cache every ``every_s`` seconds in a daemon thread (see :func:`sweep_cache`)."""

    def run():
        while True:
            time.sleep(every_s)
            try:
                sweep_cache(blocks, folder)
            except Exception:  # never let housekeeping take the server down
                log.exception("cache sweep failed")

    thread = threading.Thread(target=run, name="digitrec-cache-sweeper", daemon=True)
    thread.start()
    return thread
