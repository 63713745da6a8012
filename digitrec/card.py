"""The model card (``README.md`` beside the weights), with Hub metadata built from measured metrics."""

from __future__ import annotations

import json
from pathlib import Path

from huggingface_hub import ModelCard, ModelCardData
from huggingface_hub.repocard_data import EvalResult

from digitrec.weights import read_info, read_metrics

BODY = """
# digitrec: handwritten digit recognizer

A small residual CNN ({parameters:,} parameters) trained on MNIST{unipen} to recognize digits
that people draw on a canvas: any size, ink colour, background and stroke width, once
the drawing has gone through digitrec's MNIST-faithful preprocessing
(`digitrec.preprocess.normalize`).

## Results

Measured with `python -m digitrec.evaluate` on the 10,000 MNIST test digits, which were
never used for model selection.

| test set | accuracy |
|---|---|
| MNIST test | {mnist:.2%} ({errors} errors) |
| canvas set (the same digits re-drawn on 300-1000 px canvases, 4 colour schemes, other stroke widths) | {canvas:.2%} |

Per class: {per_class}
{calibration}
![confusion matrix](confusion_matrix.png)

![training curves](training_curves.png)

## Usage

```python
import keras

model = keras.saving.load_model("hf://{repo}")  # input: (n, 28, 28, 1) floats in [0, 1], white on black
```

With preprocessing for any drawing or photo:

```python
from digitrec import Recognizer

rec = Recognizer.load("hf://{repo}")
rec.predict("my_digit.png")  # {{"0": 0.0001, ..., "7": 0.9993, ...}}
```

`Recognizer` runs `model.tflite` on LiteRT (`ai-edge-litert`), without TensorFlow: the same
network with its shifted views, the "not a digit" check's activations and the saliency map
as two signatures, exported from these weights{litert}.

## Training

`python train.py` on the 60,000 MNIST training digits, {val_size:,} of them held out for
validation (early stopping and checkpoint choice), best epoch {best_epoch}, {minutes} minutes
on 2 CPU cores. Settings:

```json
{config}
```
{started_from}"""


def _litert_note(record: dict | None) -> str:
    if not record or "checked" not in record:
        return ""
    same = "the same digit and verdict on every one" if record["same_answers"] else "SOME ANSWERS DIFFER"
    return (
        f"; against Keras on {record['checked']:,} evaluation inputs, {same}, logits within "
        f"{record['max_logit_difference']:.0e}"
    )


def build_model_card(folder: Path, repo_id: str = "USER/digitrec") -> ModelCard:
    """Render the card from ``training.json`` and ``metrics.json`` in ``folder``."""
    folder = Path(folder)
    info = read_info(folder)
    metrics = read_metrics(folder)
    training = info.get("training", {})
    config = info.get("config", {})
    dataset = dict(
        dataset_type="ylecun/mnist",
        dataset_name="MNIST",
        task_type="image-classification",
        task_name="Image classification",
        metric_type="accuracy",
        metric_name="accuracy",
    )
    results = []
    if metrics:
        results = [
            EvalResult(dataset_split="test", metric_value=round(metrics["mnist_test_accuracy"], 4), **dataset),
            EvalResult(
                dataset_split="test (canvas re-rendering)",
                metric_value=round(metrics["canvas_accuracy"], 4),
                **{**dataset, "dataset_name": "MNIST test re-drawn on canvases"},
            ),
        ]
        if "real_pen" in metrics:
            results.append(
                EvalResult(
                    dataset_split="test writers (drawn on canvases)",
                    metric_value=round(metrics["real_pen"]["accuracy"], 4),
                    **{**dataset, "dataset_type": "unipen", "dataset_name": UNIPEN_NAME},
                )
            )
    data = ModelCardData(
        library_name="keras",
        license="mit",
        datasets=["ylecun/mnist"],  # and UNIPEN (Zenodo), credited in the card
        tags=["image-classification", "mnist", "handwritten-digits", "digitrec"],
        pipeline_tag="image-classification",
        model_name="digitrec",
        eval_results=results or None,
    )
    body = BODY.format(
        parameters=info.get("parameters", 0),
        unipen=" and real pen handwriting (UNIPEN)" if config.get("real_pen") else "",
        mnist=metrics.get("mnist_test_accuracy", float("nan")),
        errors=metrics.get("mnist_test_errors", "?"),
        canvas=metrics.get("canvas_accuracy", float("nan")),
        calibration=_calibration_section(metrics.get("calibration")),
        per_class=", ".join(f"{k}: {v:.2%}" for k, v in metrics.get("per_class_accuracy", {}).items()),
        repo=repo_id,
        val_size=config.get("val_size", 0),
        best_epoch=training.get("best_epoch", "?"),
        minutes=training.get("train_minutes", "?"),
        config=json.dumps(config, indent=2),
        started_from=_started_from_section(info.get("started_from")),
        litert=_litert_note(metrics.get("litert")),
    )
    sections = _real_pen_section(metrics) + _styles_section(metrics) + _corrections_section(training)
    credits = UNIPEN_CREDIT if config.get("real_pen") else ""  # only a model trained on it owes the credit
    return ModelCard(f"---\n{data.to_yaml()}\n---\n{body}{sections}{credits}")


def _started_from_section(started: dict | None) -> str:
    """The earlier stages of a fine-tuned model, newest first, each with its settings."""
    sections = []
    while started:
        training = started.get("training", {})
        sections.append(
            f"""
It started from weights trained by `python train.py` with the settings below (best epoch
{training.get("best_epoch", "?")}, {training.get("train_minutes", "?")} minutes on 2 CPU cores):

```json
{json.dumps(started.get("config", {}), indent=2)}
```
"""
        )
        started = started.get("started_from")
    return "".join(sections)


UNIPEN_NAME = "real pen handwriting (UNIPEN, test writers)"
UNIPEN_CREDIT = """
## Real pen handwriting: credit

Half of UNIPEN's writers, under CC BY 4.0:
Consortium (1999). Unipen data set of on-line (vectorial) handwriting - train_r01_v07 (December 1999)
[Data set]. Zenodo. https://doi.org/10.5281/zenodo.1195803; I. Guyon, L. Schomaker, R. Plamondon,
M. Liberman and S. Janet, "UNIPEN project of on-line data exchange and recognizer benchmarks,"
Proc. 12th IAPR ICPR, 1994, pp. 29-33.
"""


def _real_pen_section(metrics: dict) -> str:
    real = metrics.get("real_pen")
    if not real:
        return ""
    flagged = metrics.get("calibration", {}).get("flagged", {})
    rows = "\n".join(f"| {source} | {acc:.2%} |" for source, acc in real["by_source"].items())
    flags = ""
    if "real_pen" in flagged:
        flags = (
            f' {flagged["real_pen"]:.2%} of the drawings are called "not a digit"; of the same writers\' '
            f"letters and symbols (those no hand makes like a digit), {flagged['real_letters']:.2%} are."
        )
    return f"""
## {UNIPEN_NAME}

Pen trajectories by {real["writers"]} writers whose digits nothing trained on or selected with,
from {len(real["by_source"])} institutions: each of their {real["digits"]:,} digits drawn as clients
draw it (the app's Sketchpad, other canvas sizes, pen widths and colours), {real["drawings"]:,} drawings in
all: **{real["accuracy"]:.2%}** read right.{flags}

| institution | accuracy |
|---|---|
{rows}
"""


def _styles_section(metrics: dict) -> str:
    styles = metrics.get("style_accuracy")
    if not styles:
        return ""
    rows = "\n".join(f"| {name.replace('_', ' ')} | {acc:.2%} |" for name, acc in styles.items())
    tight = metrics.get("tight_crops", {})
    return f"""
## Handwriting styles and tight crops

Renderings by `digitrec.styles` with seeds, canvases and MNIST test digits that training
never used; tight crops are the MNIST test digits cropped to their ink
({tight.get("accuracy", float("nan")):.2%}, {tight.get("refused", "?")} refused); photos are
MNIST test digits written on paper and photographed with noise, a light gradient and shadows
({metrics.get("photo_accuracy", float("nan")):.2%}).

| style | accuracy |
|---|---|
{rows}
"""


def _corrections_section(training: dict) -> str:
    corrections = training.get("corrections")
    if not corrections:
        return ""
    before, after = corrections["before"], corrections["after"]
    blend = corrections.get("blend")
    kept = f" The weights keep {blend:.0%} of the fine-tune's change (WiSE-FT)." if blend is not None else ""
    return f"""
## Fine-tuned on visitors' corrections

{corrections["trained_on"]} corrections from `{corrections["source"]}` at revision `{corrections["revision"]}`.{kept}
On the {corrections["held_out"]} held out: {before["held_out_corrections"]:.2%} before,
{after["held_out_corrections"]:.2%} after. MNIST test: {before["mnist_test"]:.2%} before,
{after["mnist_test"]:.2%} after.
"""


def _calibration_section(figures: dict | None) -> str:
    if not figures:
        return ""
    flagged = figures["flagged"]
    rows = "\n".join(f"| {name.replace('_', ' ')} | {share:.2%} |" for name, share in flagged.items())
    rate = figures.get("flag_rate", 0.01)  # folders evaluated before the rate was recorded used 1%
    return f"""
## Calibrated confidences and "not a digit"

`calibration.npz` holds a temperature (T = {figures["temperature"]:.2f}, fitted on the
validation split) and a "not a digit" detector: five one-hidden-layer networks, averaged, over
how the ink fills its box, the pooled activations of each stage, their Mahalanobis distance to
the nearest digit class and the probabilities, trained on digits against rendered letters (in a
font and written by hand), shapes, speckles and digit pairs (never on Fashion-MNIST); threshold
at {rate:.1%} of each kind of validation digit.
Expected calibration error on MNIST test: {figures["ece_mnist_test_before"]:.2%} before
scaling, {figures["ece_mnist_test"]:.2%} after.

| set | flagged "not a digit" |
|---|---|
{rows}
"""


def write_model_card(folder: Path, repo_id: str = "USER/digitrec") -> Path:
    """Write ``README.md`` (the model card) into ``folder``."""
    path = Path(folder) / "README.md"
    build_model_card(folder, repo_id).save(path)
    return path
