"""The command line: ``python -m digitrec IMAGE ...`` (or the ``digitrec`` command) reads digits in image files.

One line per file: the digit and its probability, or "not a digit"; ``--json`` prints everything,
``--number`` reads a whole number, ``--model`` serves another model. A file that cannot be read
gets one line on stderr, and the exit status is 1; a model that cannot be loaded, 2.
"""

from __future__ import annotations

import argparse
import json
import sys

from digitrec.errors import PreprocessError
from digitrec.hub import HubError
from digitrec.inference import Recognizer
from digitrec.weights import WeightsNotFoundError


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="digitrec", description="Read the handwritten digit in each image file (PNG, JPEG, WebP, ...)."
    )
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image files: a drawing, scan or photo of a digit")
    parser.add_argument("--json", action="store_true", help="print one JSON object per file, every probability")
    parser.add_argument("--number", action="store_true", help="read several digits side by side as one number")
    parser.add_argument("--model", help="a model folder or hf://USER/REPO[@REV] (default: the bundled weights/)")
    return parser.parse_args(argv)


def read(rec: Recognizer, path: str, number: bool) -> dict:
    """What ``rec`` makes of the image at ``path``: the JSON a line is printed from."""
    if number:
        return {"file": path, **rec.predict_number(path)}
    return {"file": path, **rec.recognize(path).summary()}


def line(answer: dict) -> str:
    """One human-readable line for ``answer``."""
    if "number" in answer:
        return f"{answer['file']}: {answer['number']}"
    if not answer["is_digit"]:
        return f"{answer['file']}: not a digit (closest: {answer['best_guess']}, {answer['probability']:.1%})"
    return f"{answer['file']}: {answer['digit']} ({answer['probability']:.1%})"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        rec = Recognizer.load(args.model)
    except (WeightsNotFoundError, HubError) as exc:
        print(f"digitrec: error: {exc}", file=sys.stderr)
        return 2
    failed = False
    for path in args.images:
        try:
            answer = read(rec, path, args.number)
        except (PreprocessError, OSError) as exc:
            failed = True
            message = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            if args.json:
                print(json.dumps({"file": path, "error": message}))
            else:
                print(f"{path}: error: {message}", file=sys.stderr)
            continue
        print(json.dumps(answer) if args.json else line(answer), flush=True)
    return 1 if failed else 0
