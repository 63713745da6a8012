"""Shared fixtures (a small shipped sample of real MNIST test digits, the bundled model, the running app)
and helpers (:func:`free_port`, :func:`sketch`)."""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path

import numpy as np
import pytest

TESTS = Path(__file__).resolve().parent


def free_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sketch(composite=None, layers=(), background=None) -> dict:
    """A Sketchpad value as a client sends it (:mod:`digitrec.sketchpad`): by default, an empty canvas."""
    return {"background": background, "layers": list(layers), "composite": composite}


# Training settings that mix none of the project's renderings (digitrec.styles) into training: a test that
# builds a training mix names what it wants on top of these, and a new kind of rendering is turned off here.
NO_RENDERINGS = {"per_style": 0, "per_mark": 0, "more_of": "", "pen_redraws": 0, "stretched_scans": 0}


# No phoning home from tests: CI has no network beyond the package registries.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
# huggingface_hub reads these once, at import: point it at the loopback Hub (tests/hub_server.py)
# with an isolated cache and a dummy token, before anything imports it.
HUB_PORT = free_port()
os.environ["HF_ENDPOINT"] = f"http://127.0.0.1:{HUB_PORT}"
os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="digitrec-hf-home-")
os.environ["HF_TOKEN"] = "hf_digitrec_test_token"
os.environ.pop("HF_HUB_OFFLINE", None)


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
def feedback_dir(tmp_path_factory) -> Path:
    """Where the test server keeps visitors' corrections."""
    return tmp_path_factory.mktemp("feedback")


@pytest.fixture(scope="session")
def server_url(recognizer, feedback_dir):
    """The real app, launched in this process on a free loopback port."""
    from app import build_app, serve
    from digitrec.corrections import FeedbackStore

    demo = build_app(recognizer, FeedbackStore(feedback_dir))
    _, url, _ = serve(demo, prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(), quiet=True)
    yield url.rstrip("/")
    demo.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where tests leave files worth looking at (screenshots); CI keeps this folder."""
    path = TESTS.parent / "artifacts"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def hub():
    """The loopback Hub-compatible server that HF_ENDPOINT points at."""
    from tests.hub_server import HubServer

    server = HubServer(HUB_PORT).start()
    yield server
    server.stop()


@pytest.fixture
def fresh_hub_cache(tmp_path, monkeypatch):
    """An empty huggingface_hub cache for one test."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub-cache"))
    return tmp_path / "hub-cache"
