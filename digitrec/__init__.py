"""digitrec: recognize handwritten digits drawn by people, with a CNN trained on MNIST and real pen handwriting.

>>> from digitrec import Recognizer
>>> rec = Recognizer.load()
>>> rec.predict(image)  # {"0": p0, ..., "9": p9}
"""

from digitrec.errors import (
    ChecksumError,
    DigitrecError,
    EmptyImageError,
    FeedbackError,
    HubError,
    ImageTooLargeError,
    InvalidImageError,
    ModelFolderError,
    PreprocessError,
    WeightsNotFoundError,
)
from digitrec.inference import Recognition, Recognizer
from digitrec.preprocess import normalize

__all__ = [
    "ChecksumError",
    "DigitrecError",
    "EmptyImageError",
    "FeedbackError",
    "HubError",
    "ImageTooLargeError",
    "InvalidImageError",
    "ModelFolderError",
    "PreprocessError",
    "Recognition",
    "Recognizer",
    "WeightsNotFoundError",
    "normalize",
]
