"""Record, or compare against a record, what a model answers on a fixed set of inputs.

    python -m benchmarks.snapshot_outputs save FILE [--model weights]
    python -m benchmarks.snapshot_outputs compare FILE [--model weights] [--atol 1e-6]

The set: MNIST test digits re-drawn on canvases, pen drawings in the handwriting styles,
letters and shapes (non-digits), numbers, and the same digits as PNG and JPEG file bytes.
For each: the ten probabilities, the "not a digit" verdict, or the error it raised; for
numbers, the number and its digits' probabilities. A refactoring that must not change
behaviour saves a record before and compares after.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

import numpy as np

from benchmarks.common import ROOT, sample_digits
from digitrec import PreprocessError, Recognizer
from digitrec.nondigits import SHAPES, render_letters, render_shape
from digitrec.render import render_number, render_on_canvas
from digitrec.styles import TEMPLATES, render_template


def inputs() -> list[tuple[str, object]]:
    x, _ = sample_digits()
    rng = np.random.default_rng(123)
    out: list[tuple[str, object]] = [(f"canvas_{i}", render_on_canvas(x[i], rng)) for i in range(0, 200, 2)]
    out += [(f"style_{name}_{k}", render_template(name, rng)) for name in TEMPLATES for k in range(4)]
    out += [(f"letter_{letter}_{k}", img) for k, (letter, img) in enumerate(render_letters(rng, per_letter=1))]
    out += [(f"shape_{kind}", render_shape(kind, rng)) for kind in SHAPES]
    for i in range(0, 60, 6):
        img = render_on_canvas(x[i + 1], rng).convert("RGB")
        for fmt in ("PNG", "JPEG"):
            buf = io.BytesIO()
            img.save(buf, format=fmt)
            out.append((f"file_{fmt.lower()}_{i}", buf.getvalue()))
    out += [(f"number_{i}", ("number", render_number(x[i : i + 4], rng))) for i in range(0, 120, 6)]
    out += [("blank", np.zeros((40, 40), np.uint8))]
    return out


def answers(model: str) -> dict:
    rec = Recognizer.load(model)
    record = {}
    for name, value in inputs():
        try:
            if isinstance(value, tuple):
                record[name] = rec.predict_number(value[1])
            else:
                result = rec.recognize(value)
                record[name] = {"probabilities": result.probabilities, "is_digit": result.is_digit}
        except PreprocessError as exc:
            record[name] = {"error": type(exc).__name__}
    return record


def compare(before: dict, after: dict, atol: float) -> list[str]:
    problems = []
    for name, old in before.items():
        new = after.get(name)
        if set(old) != set(new or {}):
            problems.append(f"{name}: {old} became {new}")
        elif "probabilities" in old:
            worst = max(abs(old["probabilities"][k] - new["probabilities"][k]) for k in old["probabilities"])
            if worst > atol or old["is_digit"] != new["is_digit"]:
                problems.append(
                    f"{name}: probabilities differ by {worst:.2e}, is_digit {old['is_digit']} -> {new['is_digit']}"
                )
        elif "number" in old:
            worst = (
                max(abs(a[k] - b[k]) for a, b in zip(old["digits"], new["digits"], strict=True) for k in a)
                if (len(old["digits"]) == len(new["digits"]))
                else np.inf
            )
            if old["number"] != new["number"] or worst > atol:
                problems.append(f"{name}: {old['number']} -> {new['number']}, digits differ by {worst:.2e}")
        elif old != new:
            problems.append(f"{name}: {old} became {new}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["save", "compare"])
    parser.add_argument("file")
    parser.add_argument("--model", default=str(ROOT / "weights"))
    parser.add_argument("--atol", type=float, default=1e-6)
    args = parser.parse_args()
    record = answers(args.model)
    if args.action == "save":
        Path(args.file).write_text(json.dumps(record, indent=1))
        print(f"saved {len(record)} answers to {args.file}")
        return
    problems = compare(json.loads(Path(args.file).read_text()), record, args.atol)
    for line in problems:
        print(line)
    print(f"{len(record)} inputs, {len(problems)} differ by more than {args.atol}")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
