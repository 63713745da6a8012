"""The offline MNIST loader never trusts bytes it has not verified."""

from __future__ import annotations

import gzip
import io
import os
import pickle

import numpy as np
import pytest

from digitrec import data


def test_unpickler_rebuilds_numpy_arrays():
    arrays = (np.arange(6, dtype=np.float32).reshape(2, 3), np.array([1, 2]))
    loaded = data._NumpyOnlyUnpickler(io.BytesIO(pickle.dumps(arrays, protocol=2))).load()
    np.testing.assert_array_equal(loaded[0], arrays[0])


def test_unpickler_refuses_code():
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        data._NumpyOnlyUnpickler(io.BytesIO(pickle.dumps(Evil()))).load()


def test_unverified_pickle_is_never_unpickled(monkeypatch):
    monkeypatch.setattr(data, "_NumpyOnlyUnpickler", None)  # would crash if reached
    fake = gzip.compress(pickle.dumps(((np.zeros((1, 784)), np.zeros(1)),) * 3))
    with pytest.raises(data.ChecksumError, match="expected"):
        data.convert_pickle(fake)


def test_cached_arrays_are_checked(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITREC_CACHE", str(tmp_path))
    zeros = np.zeros((1, 28, 28), np.uint8)
    np.savez(tmp_path / "mnist.npz", x_train=zeros, y_train=zeros[:, 0, 0], x_test=zeros, y_test=zeros[:, 0, 0])
    with pytest.raises(data.ChecksumError):
        data.load_mnist()
