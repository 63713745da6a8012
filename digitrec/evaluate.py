"""Evaluate a trained model: ``python -m digitrec.evaluate [FOLDER]``.

Prints MNIST test accuracy, per-class accuracy and accuracy on the canvas set (the
same test digits re-rendered as a drawing canvas delivers them and passed through
:func:`digitrec.preprocess.normalize`), fits the confidence calibration and the "not a
digit" check (:mod:`digitrec.calibration`) and reports them, then writes
``metrics.json``, the confusion-matrix and training-curve PNGs, and the model card
into the folder.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from PIL import Image

from digitrec.constants import CLASS_NAMES, IMAGE_SIZE, NUM_CLASSES, PIXEL_MAX
from digitrec.inference import BUNDLED_WEIGHTS, Recognizer
from digitrec.preprocess import PreprocessError, normalize
from digitrec.render import STYLES, render_on_canvas
from digitrec.styles import style_test_set

CANVAS_SEED = 2024  # the canvas set is the same every time it is built


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Counts, rows = true class, columns = predicted class."""
    cm = np.zeros((NUM_CLASSES, NUM_CLASSES), np.int64)
    np.add.at(cm, (y_true.astype(int), y_pred.astype(int)), 1)
    return cm


def predict_classes(rec: Recognizer, inputs: np.ndarray) -> np.ndarray:
    probs = np.concatenate([rec.forward(inputs[i : i + 1024]) for i in range(0, len(inputs), 1024)])
    return probs.argmax(1)


def canvas_inputs(digits: np.ndarray, seed: int = CANVAS_SEED, pen: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Normalized model inputs for the canvas set, and the style index of each canvas."""
    rng = np.random.default_rng(seed)
    inputs, styles = [], []
    for i, digit in enumerate(digits):
        style = STYLES[i % len(STYLES)]
        inputs.append(normalize(render_on_canvas(digit, rng, style=style, pen=pen)))
        styles.append(i % len(STYLES))
    return np.stack(inputs), np.array(styles)


def style_set_inputs(x_test: np.ndarray, y_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The whole style test set (:func:`digitrec.styles.style_test_set`) as one batch and its labels."""
    sets = style_test_set(x_test, y_test)
    return np.concatenate([v[0] for v in sets.values()]), np.concatenate([v[1] for v in sets.values()])


def tight_crop_inputs(digits: np.ndarray, scale: int = 1, dark_on_light: bool = False) -> tuple[np.ndarray, int]:
    """Each digit cropped to its ink (ink on all four edges), enlarged ``scale`` times; the inputs and
    how many preprocessing refused (those get a blank input, which the model then gets wrong)."""
    inputs, refused = [], 0
    for digit in digits:
        img = Image.fromarray(PIXEL_MAX - digit if dark_on_light else digit).crop(Image.fromarray(digit).getbbox())
        if scale != 1:
            img = img.resize((img.width * scale, img.height * scale), Image.Resampling.BICUBIC)
        try:
            inputs.append(normalize(img))
        except PreprocessError:
            inputs.append(np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.float32))
            refused += 1
    return np.stack(inputs), refused


def evaluate(rec: Recognizer, limit: int = 0) -> dict:
    """Accuracy figures for ``rec`` on MNIST test and on the canvas set (first ``limit`` digits if set)."""
    from digitrec.data import load_mnist

    _, (x_test, y_test) = load_mnist()
    if limit:
        x_test, y_test = x_test[:limit], y_test[:limit]
    # MNIST digits are already normalized the MNIST way: only the intensity scale changes.
    pred = predict_classes(rec, x_test.astype(np.float32) / PIXEL_MAX)
    cm = confusion_matrix(y_test, pred)
    start = time.time()
    canvas_x, canvas_style = canvas_inputs(x_test)
    canvas_pred = predict_classes(rec, canvas_x)
    canvas_correct = canvas_pred == y_test
    tight = {}
    for name, scale, dark in (("tight_crops", 1, False), ("tight_crops_6x_dark_on_light", 6, True)):
        inputs, refused = tight_crop_inputs(x_test, scale, dark)
        tight[name] = {"accuracy": float((predict_classes(rec, inputs) == y_test).mean()), "refused": refused}
    styles = {name: float((predict_classes(rec, inputs) == labels).mean())
              for name, (inputs, labels) in style_test_set(x_test, y_test).items()}
    return {
        "mnist_test_accuracy": float((pred == y_test).mean()),
        "mnist_test_errors": int((pred != y_test).sum()),
        "per_class_accuracy": {CLASS_NAMES[c]: float(cm[c, c] / cm[c].sum()) for c in range(NUM_CLASSES)},
        "confusion_matrix": cm.tolist(),
        "canvas_accuracy": float(canvas_correct.mean()),
        "canvas_accuracy_by_style": {
            style: float(canvas_correct[canvas_style == i].mean()) for i, style in enumerate(STYLES)
        },
        **tight,
        "style_accuracy": styles,
        "canvas_seconds": round(time.time() - start, 1),
        "test_digits": int(len(y_test)),
        "parameters": int(rec.model.count_params()),
    }


def evaluate_and_report(folder: str | Path = BUNDLED_WEIGHTS, limit: int = 0) -> dict:
    """Evaluate the model in ``folder``, print the figures, and write metrics, PNGs and the model card there."""
    from digitrec import card, plots

    folder = Path(folder)
    rec = Recognizer.load(folder)
    metrics = evaluate(rec, limit)
    print(f"MNIST test accuracy: {metrics['mnist_test_accuracy']:.2%} ({metrics['mnist_test_errors']} errors)")
    print("per class:", "  ".join(f"{k}: {v:.2%}" for k, v in metrics["per_class_accuracy"].items()))
    print(f"canvas-set accuracy: {metrics['canvas_accuracy']:.2%}")
    print("canvas by style:", "  ".join(f"{k}: {v:.2%}" for k, v in metrics["canvas_accuracy_by_style"].items()))
    for name in ("tight_crops", "tight_crops_6x_dark_on_light"):
        print(f"{name}: {metrics[name]['accuracy']:.2%}, {metrics[name]['refused']} refused")
    print("handwriting styles:", "  ".join(f"{k}: {v:.2%}" for k, v in metrics["style_accuracy"].items()))
    if not limit:  # calibration needs the full splits; a quick look at a few digits skips it
        from digitrec import calibration

        fitted = calibration.fit_for_folder(folder)
        print(f"calibration: temperature {fitted.temperature:.3f}, written to {calibration.FILE}")
        metrics["calibration"] = calibration.report(folder)
        print_calibration(metrics["calibration"])
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=2))
    plots.confusion_matrix_png(np.array(metrics["confusion_matrix"]), folder / "confusion_matrix.png")
    history = rec.info.get("history")
    if history:
        plots.training_curves_png(history, folder / "training_curves.png")
    card.write_model_card(folder)
    print(f"wrote metrics.json, PNGs and README.md (model card) to {folder}")
    return metrics


def print_calibration(figures: dict) -> None:
    print(f"ECE on MNIST test: {figures['ece_mnist_test_before']:.2%} before temperature scaling, "
          f"{figures['ece_mnist_test']:.2%} after (T = {figures['temperature']:.2f}); canvas set "
          f"{figures['ece_canvas_set']:.2%}, style set {figures['ece_style_set']:.2%}")
    for name, share in figures["flagged"].items():
        print(f"flagged 'not a digit': {name:14s} {share:7.2%} of {figures['set_sizes'].get(name, 10_000):,}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", default=str(BUNDLED_WEIGHTS), help="model folder (default: weights/)")
    parser.add_argument("--limit", type=int, default=0, help="evaluate on the first N test digits only")
    args = parser.parse_args(argv)
    evaluate_and_report(args.folder, args.limit)


if __name__ == "__main__":
    main()
