"""Every error digitrec raises lives in digitrec.errors, under one base, beside the built-in a caller catches."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import digitrec
from digitrec import errors

PACKAGE = Path(digitrec.__file__).parent


def test_every_exception_class_is_defined_in_errors_py():
    defined = {}
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and any(
                getattr(base, "id", getattr(base, "attr", "")).endswith(("Error", "Exception")) for base in node.bases
            ):
                defined[node.name] = path.name
    assert defined and set(defined.values()) == {"errors.py"}, defined


@pytest.mark.parametrize(
    "error, builtin",
    [
        (errors.PreprocessError, ValueError),
        (errors.EmptyImageError, ValueError),
        (errors.FeedbackError, ValueError),
        (errors.ModelFolderError, FileNotFoundError),
        (errors.HubError, RuntimeError),
        (errors.ChecksumError, RuntimeError),
    ],
)
def test_each_error_is_a_digitrec_error_and_the_builtin_a_caller_would_catch(error, builtin):
    assert issubclass(error, errors.DigitrecError) and issubclass(error, builtin)
    assert getattr(digitrec, error.__name__) is error


def test_a_refused_correction_is_not_an_image_error_and_the_old_name_still_works():
    assert not issubclass(errors.FeedbackError, errors.PreprocessError)
    assert digitrec.WeightsNotFoundError is errors.ModelFolderError
