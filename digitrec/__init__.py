"""digitrec: recognize handwritten digits drawn by people, with a CNN trained on MNIST.

>>> from digitrec import Recognizer
>>> rec = Recognizer.load()
>>> rec.predict(image)  # {"0": p0, ..., "9": p9}
"""

from digitrec.inference import Recognition, Recognizer
from digitrec.preprocess import (
    EmptyImageError,
    ImageTooLargeError,
    InvalidImageError,
    PreprocessError,
    normalize,
)
from digitrec.weights import WeightsNotFoundError

__all__ = [
    "EmptyImageError",
    "ImageTooLargeError",
    "InvalidImageError",
    "PreprocessError",
    "Recognition",
    "Recognizer",
    "WeightsNotFoundError",
    "normalize",
]
