"""Shared fixtures: a small shipped sample of real MNIST test digits, and the bundled model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

TESTS = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def mnist_sample() -> tuple[np.ndarray, np.ndarray]:
    """200 real MNIST test digits (20 per class), uint8 white on black, and their labels."""
    with np.load(TESTS / "mnist_sample.npz") as d:
        return d["x"], d["y"]


@pytest.fixture(scope="session")
def recognizer():
    from digitrec import Recognizer

    return Recognizer.load()


@pytest.fixture(scope="session")
def server_url(recognizer):
    """The real app, launched in this process on a free loopback port."""
    import socket

    from app import build_app, serve

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo = build_app(recognizer)
    _, url, _ = serve(demo, prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    yield url.rstrip("/")
    demo.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where tests leave files worth looking at (screenshots); CI keeps this folder."""
    path = TESTS.parent / "artifacts"
    path.mkdir(exist_ok=True)
    return path
