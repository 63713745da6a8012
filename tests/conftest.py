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
