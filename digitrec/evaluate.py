"""Measure a trained model and write its report: ``python -m digitrec.evaluate [FOLDER]``.

Fits the calibration (:mod:`digitrec.fitting`), then measures on data no fitting saw:
MNIST test; the canvas set (the same test digits re-drawn as a drawing canvas delivers
them); tight crops of the test digits; test digits photographed on paper; the handwriting-style set; how often "not a
digit" fires on digits and on non-digits; expected calibration error. Writes
``calibration.npz``, ``metrics.json``, the two PNG figures and the model card into the
folder, and exports ``model.tflite`` (:mod:`digitrec.graph`), checked against Keras on every
set: the one place that writes them.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digitrec import card, plots
from digitrec.calibration import expected_calibration_error, softmax
from digitrec.constants import CLASS_NAMES, NUM_CLASSES
from digitrec.data import load_mnist
from digitrec.evalsets import canvas_inputs, non_digit_inputs, photo_inputs, tight_crop_inputs
from digitrec.fitting import FLAG_RATE, fit_for
from digitrec.graph import export
from digitrec.inference import Recognizer
from digitrec.preprocess import from_uint8
from digitrec.render import STYLES
from digitrec.styles import as_batch, style_test_set
from digitrec.unipen import inputs as pen_inputs
from digitrec.unipen import rows as pen_rows
from digitrec.weights import WEIGHTS, read_metrics, write_metrics

PEN_SET = 2_000  # canvas-set digits also drawn in solid pen, for the "not a digit" figures
PHOTO_SET = 2_000  # test digits photographed on paper (noise, light gradient, shadow, JPEG)
# Real pen handwriting of the test writers (digitrec.unipen), which nothing trains or selects on: each
# digit drawn this many times (on the app's Sketchpad or another client), each letter or symbol once.
REAL_PEN_COPIES, REAL_PEN_SEED = 3, 2026


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Counts, rows = true class, columns = predicted class."""
    cm = np.zeros((NUM_CLASSES, NUM_CLASSES), np.int64)
    np.add.at(cm, (y_true.astype(int), y_pred.astype(int)), 1)
    return cm


@dataclass
class Sets:
    """Every evaluation set, built once (rendering them is most of an evaluation's time) and measured on
    both backends: the MNIST test digits and labels, and the normalized inputs made from them and from
    the test writers' real pen drawings."""

    x_test: np.ndarray
    y_test: np.ndarray
    inputs: dict[str, np.ndarray]  # every set :func:`export_and_check` compares, by name
    canvas_style: np.ndarray  # each canvas-set input's colour scheme (an index into STYLES)
    styles: dict[str, tuple[np.ndarray, np.ndarray]]  # the style test set, by style
    styled_y: np.ndarray  # the labels of inputs["style_set"]
    real_rows: list[dict]  # the test writers' digits, as data/unipen holds them
    real_y: np.ndarray  # the labels of inputs["real_pen"]
    non_digits: list[str]  # the names of the sets in inputs that hold no digit


def build_sets(limit: int = 0) -> Sets:
    """Render every evaluation set (on the first ``limit`` test digits, if set)."""
    _, (x_test, y_test) = load_mnist()
    if limit:
        x_test, y_test = x_test[:limit], y_test[:limit]
    canvas, canvas_style = canvas_inputs(x_test)
    styles = style_test_set(x_test, y_test)
    styled, styled_y = as_batch(styles)
    real_rows = pen_rows("digits", "test")
    real_x, real_y = real_pen_inputs(real_rows)
    non_digits = {"real_letters": real_letter_inputs(), **non_digit_inputs()}
    inputs = {
        # MNIST digits are already normalized the MNIST way: only the intensity scale changes.
        "mnist_test": from_uint8(x_test),
        "canvas_set": canvas,
        "photo_set": photo_inputs(x_test[:PHOTO_SET]),
        "style_set": styled,
        "real_pen": real_x,
        **non_digits,
    }
    return Sets(x_test, y_test, inputs, canvas_style, styles, styled_y, real_rows, real_y, list(non_digits))


def evaluate(rec: Recognizer, limit: int = 0, sets: Sets | None = None) -> dict:
    """Every figure for ``rec`` (on the first ``limit`` test digits, if set, or on ``sets`` already
    built); the calibration figures only when ``rec`` has a calibration. Each set goes through the
    model once (MNIST test once more, for its confidences before temperature scaling)."""
    sets = sets or build_sets(limit)
    x_test, y_test = sets.x_test, sets.y_test
    start = time.time()
    judged = {"mnist_test": (*rec.verdicts(sets.inputs["mnist_test"]), y_test)}
    pred = judged["mnist_test"][0].argmax(1)
    cm = confusion_matrix(y_test, pred)
    judged["canvas_set"] = (*rec.verdicts(sets.inputs["canvas_set"]), y_test)
    canvas_correct = judged["canvas_set"][0].argmax(1) == y_test
    metrics = {
        "mnist_test_accuracy": float((pred == y_test).mean()),
        "mnist_test_errors": int((pred != y_test).sum()),
        "per_class_accuracy": {CLASS_NAMES[c]: float(cm[c, c] / cm[c].sum()) for c in range(NUM_CLASSES)},
        "confusion_matrix": cm.tolist(),
        "canvas_accuracy": float(canvas_correct.mean()),
        "canvas_accuracy_by_style": {
            s: float(canvas_correct[sets.canvas_style == i].mean()) for i, s in enumerate(STYLES)
        },
    }
    for name, scale, dark in (("tight_crops", 1, False), ("tight_crops_6x_dark_on_light", 6, True)):
        inputs, refused = tight_crop_inputs(x_test, scale, dark)
        metrics[name] = {"accuracy": float((rec.probabilities(inputs).argmax(1) == y_test).mean()), "refused": refused}
    judged["photo_set"] = (*rec.verdicts(sets.inputs["photo_set"]), y_test[:PHOTO_SET])
    metrics["photo_accuracy"] = float((judged["photo_set"][0].argmax(1) == y_test[:PHOTO_SET]).mean())
    judged["style_set"] = (*rec.verdicts(sets.inputs["style_set"]), sets.styled_y)
    correct = judged["style_set"][0].argmax(1) == sets.styled_y
    ends = np.cumsum([len(y) for _, y in sets.styles.values()])
    metrics["style_accuracy"] = {
        name: float(correct[end - len(y) : end].mean())
        for (name, (_, y)), end in zip(sets.styles.items(), ends, strict=True)
    }
    metrics["real_pen"], judged["real_pen"] = real_pen_figures(
        rec, (sets.real_rows, sets.inputs["real_pen"], sets.real_y)
    )
    metrics.update(
        test_digits=len(y_test),
        parameters=int(rec.model.count_params() if rec.model is not None else rec.info.get("parameters", 0)),
        seconds=round(time.time() - start, 1),
    )
    if rec.calibration is not None:
        metrics["calibration"] = _calibration_figures(rec, sets, judged)
    return metrics


def real_pen_figures(
    rec: Recognizer, drawn: tuple[list[dict], np.ndarray, np.ndarray] | None = None
) -> tuple[dict, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Accuracy on the real pen digits of the test writers (:mod:`digitrec.unipen`), overall and per
    institution; and ``(probabilities, is_digit, labels)`` of every drawing. ``drawn``: the rows, inputs
    and labels :func:`build_sets` made, else they are drawn here."""
    if drawn is None:
        real = pen_rows("digits", "test")
        drawn = (real, *real_pen_inputs(real))
    real, real_x, real_y = drawn
    probs, is_digit = rec.verdicts(real_x)
    correct = probs.argmax(1) == real_y
    sources = np.array([row["source"] for row in real] * REAL_PEN_COPIES)
    figures = {
        "accuracy": float(correct.mean()),
        "by_source": {s: float(correct[sources == s].mean()) for s in sorted(set(sources))},
        "digits": len(real),
        "writers": len({row["writer"] for row in real}),
        "drawings": len(real_y),
    }
    return figures, (probs, is_digit, real_y)


def real_letters_flagged(rec: Recognizer) -> np.ndarray:
    """Whether each of the test writers' letters and symbols (those no hand makes like a digit) is a digit."""
    return rec.verdicts(real_letter_inputs())[1]


def real_pen_inputs(rows: list[dict] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The test writers' digits, each drawn :data:`REAL_PEN_COPIES` times, and their labels."""
    return pen_inputs(pen_rows("digits", "test") if rows is None else rows, REAL_PEN_COPIES, REAL_PEN_SEED)


def real_letter_inputs() -> np.ndarray:
    """The test writers' letters and symbols (those no hand makes like a digit), each drawn once."""
    return pen_inputs(pen_rows("characters", "test"), 1, REAL_PEN_SEED + 1)[0]


def _calibration_figures(rec: Recognizer, sets: Sets, judged: dict) -> dict:
    """ECE and "not a digit" shares; ``judged`` holds each measured set's (probabilities, is_digit, labels)."""
    figures = {
        "temperature": round(rec.calibration.temperature, 4),
        "flag_rate": FLAG_RATE,  # the share of each kind of validation digit the threshold may flag
        "ece_mnist_test_before": expected_calibration_error(
            softmax(rec.outputs(sets.inputs["mnist_test"]).logits), judged["mnist_test"][2]
        ),
        **{f"ece_{name}": expected_calibration_error(probs, labels) for name, (probs, _, labels) in judged.items()},
        "flagged": {},
        "set_sizes": {},
    }
    is_digit = {
        "mnist_test": judged["mnist_test"][1],
        "canvas_set": judged["canvas_set"][1],
        "canvas_set_pen": rec.verdicts(canvas_inputs(sets.x_test[:PEN_SET], pen=True)[0])[1],
        "style_set": judged["style_set"][1],
        "photo_set": judged["photo_set"][1],
        "real_pen": judged["real_pen"][1],
        **{name: rec.verdicts(sets.inputs[name])[1] for name in sets.non_digits},
    }
    for name, ok in is_digit.items():
        figures["flagged"][name] = float((~ok).mean())
        figures["set_sizes"][name] = len(ok)
    return figures


def evaluate_and_report(folder: str | Path = WEIGHTS, limit: int = 0) -> dict:
    """Fit the calibration of the model in ``folder``, measure it, print the figures, and write
    ``calibration.npz``, ``metrics.json``, the PNGs and the model card there."""
    folder = Path(folder)
    rec = Recognizer.load(folder, calibration=False, backend="keras")
    if not limit:  # calibration needs the full splits; a quick look at a few digits skips it
        rec.calibration = fit_for(rec)
        rec.calibration.save(folder)
        print(f"calibration: temperature {rec.calibration.temperature:.3f}, written to {folder / 'calibration.npz'}")
    sets = build_sets(limit)
    metrics = evaluate(rec, sets=sets)
    metrics["litert"] = export_and_check(folder, sets=sets)
    print_metrics(metrics)
    write_metrics(folder, metrics)
    plots.confusion_matrix_png(np.array(metrics["confusion_matrix"]), folder / "confusion_matrix.png")
    history = rec.info.get("history")
    if history:
        plots.training_curves_png(history, folder / "training_curves.png")
    card.write_model_card(folder)
    print(f"wrote metrics.json, PNGs and README.md (model card) to {folder}")
    return metrics


def export_and_check(folder: str | Path = WEIGHTS, limit: int = 0, sets: Sets | None = None) -> dict:
    """Export ``model.tflite`` from the weights in ``folder``, then check that LiteRT answers as Keras
    does on every evaluation set (on the first ``limit`` test digits, if set, or ``sets``): the largest logit
    difference, and whether every digit and every "not a digit" verdict is the same. Returns the
    record ``metrics.json`` keeps under ``"litert"``."""
    folder = Path(folder)
    keras_rec = Recognizer.load(folder, backend="keras")
    record = export(keras_rec.model, folder, check=from_uint8(load_mnist()[1][0][:256]))
    lite_rec = Recognizer.load(folder, backend="litert")
    record["sets"] = {}
    for name, inputs in (sets or build_sets(limit)).inputs.items():
        k_out, l_out = keras_rec.outputs(inputs), lite_rec.outputs(inputs)
        (k_taps, k_logits, _), (l_taps, l_logits, _) = k_out, l_out
        (k_probs, k_ok), (l_probs, l_ok) = keras_rec.verdicts_of(k_out), lite_rec.verdicts_of(l_out)
        record["sets"][name] = {
            "checked": len(inputs),
            "max_logit_difference": float(np.abs(k_logits - l_logits).max()),
            "max_tap_difference": float(max(np.abs(a - b).max() for a, b in zip(k_taps, l_taps, strict=True))),
            "different_digits": int((k_probs.argmax(1) != l_probs.argmax(1)).sum()),
            "different_verdicts": int((k_ok != l_ok).sum()),
        }
    sets = record["sets"].values()
    record["max_logit_difference"] = max(s["max_logit_difference"] for s in sets)
    record["checked"] = sum(s["checked"] for s in sets)
    record["same_answers"] = not any(s["different_digits"] or s["different_verdicts"] for s in sets)
    print(
        f"model.tflite: {record['bytes']:,} bytes; against Keras on {record['checked']:,} inputs, largest logit "
        f"difference {record['max_logit_difference']:.1e}, "
        f"{'the same' if record['same_answers'] else 'DIFFERENT'} answers"
    )
    return record


def print_metrics(metrics: dict) -> None:
    print(f"MNIST test accuracy: {metrics['mnist_test_accuracy']:.2%} ({metrics['mnist_test_errors']} errors)")
    print("per class:", "  ".join(f"{k}: {v:.2%}" for k, v in metrics["per_class_accuracy"].items()))
    print(f"canvas-set accuracy: {metrics['canvas_accuracy']:.2%}")
    print("canvas by style:", "  ".join(f"{k}: {v:.2%}" for k, v in metrics["canvas_accuracy_by_style"].items()))
    for name in ("tight_crops", "tight_crops_6x_dark_on_light"):
        print(f"{name}: {metrics[name]['accuracy']:.2%}, {metrics[name]['refused']} refused")
    if "photo_accuracy" in metrics:
        print(f"photos of paper: {metrics['photo_accuracy']:.2%}")
    real = metrics.get("real_pen")
    if real:
        print(f"real pen drawings ({real['writers']} test writers): {real['accuracy']:.2%}")
        print("by source:", "  ".join(f"{k}: {v:.2%}" for k, v in real["by_source"].items()))
    print("handwriting styles:", "  ".join(f"{k}: {v:.2%}" for k, v in metrics["style_accuracy"].items()))
    figures = metrics.get("calibration")
    if figures:
        print(
            f"ECE: MNIST test {figures['ece_mnist_test_before']:.2%} before temperature scaling, "
            f"{figures['ece_mnist_test']:.2%} after (T = {figures['temperature']:.2f}); canvas set "
            f"{figures['ece_canvas_set']:.2%}; style set {figures['ece_style_set']:.2%}"
        )
        for name, share in figures["flagged"].items():
            print(f"flagged 'not a digit': {name:14s} {share:7.2%} of {figures['set_sizes'][name]:,}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", default=str(WEIGHTS), help="model folder (default: weights/)")
    parser.add_argument("--limit", type=int, default=0, help="evaluate on the first N test digits only (no fitting)")
    parser.add_argument(
        "--export-only",
        action="store_true",
        help="only export model.tflite, check it against Keras on the evaluation sets (metrics.json 'litert') "
        "and rewrite the model card",
    )
    args = parser.parse_args(argv)
    if args.export_only:
        metrics = read_metrics(args.folder)
        metrics["litert"] = export_and_check(args.folder, args.limit)
        write_metrics(args.folder, metrics)
        card.write_model_card(Path(args.folder))  # the card quotes the check
    else:
        evaluate_and_report(args.folder, args.limit)


if __name__ == "__main__":
    main()
