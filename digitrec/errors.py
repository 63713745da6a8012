"""Every error digitrec raises, in one place.

Each subclasses :class:`DigitrecError` and the built-in a caller would catch anyway: bad input is a
``ValueError``, a missing or broken model folder a ``FileNotFoundError``, a data file or Hub problem a
``RuntimeError``. Messages say what was expected, what arrived, and how to fix it.
"""

from __future__ import annotations


class DigitrecError(Exception):
    """Base of every error digitrec raises."""


class PreprocessError(DigitrecError, ValueError):
    """The input cannot be turned into a digit image; the message says why and what to do."""


class EmptyImageError(PreprocessError):
    """The image holds no digit: blank, erased, one colour, or a few stray pixels."""


class ImageTooLargeError(PreprocessError):
    """The image has more pixels than ``digitrec.limits.MAX_PIXELS``."""


class InvalidImageError(PreprocessError):
    """The input is not an image digitrec understands (corrupt file, wrong type or shape)."""


class FeedbackError(DigitrecError, ValueError):
    """A correction that cannot be kept: an unknown label, too many from one visitor, or a full store."""


class ModelFolderError(DigitrecError, FileNotFoundError):
    """No loadable model at the requested location, or its files disagree; the message names the file."""


WeightsNotFoundError = ModelFolderError  # its earlier name, kept for callers that catch it


class HubError(DigitrecError, RuntimeError):
    """A Hub operation failed; the message names the repo and says what to do."""


class ChecksumError(DigitrecError, RuntimeError):
    """A data file (MNIST, UNIPEN) does not match its pinned digest."""
