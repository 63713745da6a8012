"""Training: settings in one frozen dataclass, Keras's ``fit()`` runs the loop.

``train.py`` is the entry point; this module holds the logic so tests can run a
one-step smoke training without a subprocess.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import sys
import tempfile
import time
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from digitrec.calibration import tempered_loss
from digitrec.constants import CLASS_NAMES, IMAGE_SIZE
from digitrec.corrections import corrections_as_digits, load_corrections, screen_corrections, split_corrections
from digitrec.data import load_mnist
from digitrec.mixing import make_datasets, split_train_val, to_model_input
from digitrec.weights import MODEL_FILES, WEIGHTS, load_keras_folder, read_info


@dataclass(frozen=True)
class TrainConfig:
    """Every training setting, with the reason for its value."""

    arch: str = "resnet"  # the product model; "cnn2" and "mlp" are the seed baselines
    width: int = 32  # base channel count: 474k parameters, under the 500k budget
    dropout: float = 0.3  # before the classifier; the conv stack is regularized by BN + augmentation
    epochs: int = 12  # 799 steps each with every mix below; fits 90 min on 2 CPU cores (weights/training.json)
    batch_size: int = 128  # large enough for stable BN statistics, small enough for many updates
    optimizer: str = "adam"  # or "sgd" (momentum 0.9); tried for fine-tunes, it forgot more (benchmarks/README.md)
    learning_rate: float = 2e-3  # Adam peak, reached after one warm-up epoch
    warmup_epochs: int = 1  # avoids early BN/Adam instability at the peak rate
    weight_decay: float = 0.05  # AdamW-style on kernels, times the rate: late epochs overfit less (benchmarks/README)
    clipnorm: float = 1.0  # gradient clipping guards against rare spikes from hard augmentations
    ema: float = 0.999  # validate, keep and ship the moving average of the weights (about 2 epochs); 0 = off
    val_size: int = 6000  # carved from the 60k training digits; the test set never selects anything
    patience: int = 8  # early stopping on the selection loss below
    select: str = "tempered"  # checkpoint on validation loss at its best temperature, as served; "loss": at T = 1
    rotation_deg: float = 12.0  # people tilt digits; MNIST already varies a few degrees
    translate: float = 0.08  # fraction of 28 px (about 2 px): centring by mass is not exact for drawings
    zoom: float = 0.10  # box-fit makes size uniform, but aspect ratios of drawn digits vary
    thinning: float = 0.6  # up to this fraction of one 3x3 erosion: pens and mice draw thin lines
    thickening: float = 1.6  # up to this many 3x3 dilations: fingers and big brushes draw fat ones
    per_style: int = 400  # pen renderings of each handwriting template (digitrec.styles) mixed into training
    per_mark: int = 3000  # zeros, ones and sevens given a slash, flag or bar (each); 1,800 left flag ones at 97-99%
    pen_redraws: int = 4500  # training digits re-drawn with a uniform pen, as a Sketchpad brush draws
    pen_retraces: int = 0  # re-drawn along the centre line, one pen width; 3,000 cost flag ones (benchmarks/README)
    more_of: str = "flag_one=1000"  # extra renderings of templates, "name=count,...": long-flag ones were read as 7
    stretched_scans: int = 4000  # digits stretched to fill a square as some scanned forms store them (README, Results)
    real_pen: int = 4  # drawings of each training writer's real digit (data/unipen): 5,400 digits, 22% of an epoch
    real_pen_marks: int = 2  # drawings of each training writer's plain one with a flag, one-stroke seven with a bar
    val_styles: float = 0.0  # share of the style mix also drawn from validation digits: checkpoints picked on drawings
    extra_data: str = ""  # visitors' corrections to mix in: a folder, or hf://datasets/USER/DATASET[@REV]
    extra_share: float = 0.03  # share of each epoch the corrections make up (repeated to reach it): a few hundred count
    holdout: float = 0.2  # share of corrections held out, fixed by file name, to measure before and after
    extra_per_origin: int = 20  # corrections kept from one origin (a hashed address): one visitor cannot flood them
    extra_top: int = 3  # a correction's digit must be in the current model's top 3, or another origin's; 0 = keep all
    limit: int = 0  # use only this many training digits (0 = all); for smoke runs
    init_from: str = ""  # start from the weights in this folder (fine-tuning) instead of from scratch
    tune_stages: int = 3  # with init_from: train this many last stages (of 3) and the classifier; fewer forgot more
    max_forgetting: float = 0.05  # with init_from: MNIST validation points a fine-tune may lose; test's noise is larger
    seed: int = 42  # one seed for data split, augmentation and initialization
    out: str = str(WEIGHTS)  # where the model, its metadata and its card are written

    @classmethod
    def from_args(cls, argv: list[str] | None = None) -> TrainConfig:
        """Parse command-line overrides: every field is an option (``--batch-size 64``)."""
        return parse_args(argv)[0]

    def to_dict(self) -> dict:
        """The settings as saved beside the weights: where they were written relative to the project (or by
        name only outside it), so that no build machine's path is published with them."""
        return {**dataclasses.asdict(self), "out": _portable(self.out)}


def _portable(path: str) -> str:
    resolved, project = Path(path).resolve(), WEIGHTS.parent
    return str(resolved.relative_to(project)) if resolved.is_relative_to(project) else Path(path).name


def parse_args(argv: list[str] | None = None) -> tuple[TrainConfig, str | None]:
    """``train.py``'s command line: the settings, and the Hub repo to push to (if any)."""
    parser = argparse.ArgumentParser(
        description="Train the digitrec CNN on MNIST and write weights/ with its model card.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    comments = _field_comments()
    for f in fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        # argparse expands "%" in help strings; a reason such as "97-99%" must reach it as "%%".
        help_text = comments.get(f.name, "").replace("%", "%%")
        parser.add_argument(flag, type=type(f.default), default=f.default, help=help_text)
    parser.add_argument("--push-to-hub", metavar="USER/REPO", help="after training, upload weights/ to this model repo")
    args = vars(parser.parse_args(argv))
    push = args.pop("push_to_hub")
    return TrainConfig(**args), push


def _field_comments() -> dict[str, str]:
    """The reasons written beside each field above, reused as ``--help`` text."""
    comments = {}
    for line in inspect.getsource(TrainConfig).splitlines():
        line = line.strip()
        if ":" in line and "#" in line and not line.startswith("#"):
            name = line.split(":", 1)[0].strip()
            comments[name] = line.split("#", 1)[1].strip()
    return comments


SELECTIONS = {"loss": "val_loss", "tempered": "val_tempered_loss"}  # --select: what picks the checkpoint


def _selection(cfg: TrainConfig) -> str:
    if cfg.select not in SELECTIONS:
        raise ValueError(f"unknown --select {cfg.select!r}: expected one of {', '.join(SELECTIONS)}")
    return SELECTIONS[cfg.select]


def _tempered_loss(val_ds):
    """A callback that adds ``val_tempered_loss`` to each epoch's logs: the validation loss at the temperature
    that suits that epoch's weights (:func:`digitrec.calibration.tempered_loss`). The app serves probabilities
    through a temperature fitted after training, so overconfidence the temperature takes out does not count."""
    import keras  # heavy, as above

    inputs = np.concatenate([batch[0].numpy() for batch in val_ds])
    labels = np.concatenate([batch[1].numpy() for batch in val_ds])

    class TemperedLoss(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            probs = self.model.predict(inputs, batch_size=512, verbose=0)  # the averaged weights, swapped in
            logs["val_tempered_loss"] = tempered_loss(np.log(probs + 1e-30), labels)  # logs: logits up to a shift
            print(f"epoch {epoch + 1}: val_tempered_loss {logs['val_tempered_loss']:.4f}")

    return TemperedLoss()


def train(cfg: TrainConfig, data=None) -> dict:
    """Train a model, save the best validation checkpoint to ``cfg.out``, return the history.

    Args:
        cfg: the settings.
        data: ``((x_train, y_train), (x_test, y_test))`` uint8 MNIST; loaded offline when omitted.
    """
    import keras  # heavy: training pays for TensorFlow, importing this module does not

    from digitrec.model import build_model  # imports Keras

    print("training config:", json.dumps(cfg.to_dict(), indent=2))
    monitor = _selection(cfg)
    keras.utils.set_random_seed(cfg.seed)

    (x_train, y_train), (x_test, y_test) = data if data is not None else load_mnist()
    train_split, val_split = split_train_val(x_train, y_train, cfg)
    print(f"train {len(train_split[0])} digits, validation {len(val_split[0])} digits")
    corrections = val_corrections = None
    if cfg.extra_data:
        rows, revision = load_corrections(cfg.extra_data)
        reference = load_keras_folder(cfg.init_from or WEIGHTS)  # the model whose answers the labels are checked by
        probs = reference.predict(np.stack([r["x"] for r in rows])[..., None], batch_size=512, verbose=0)
        rows, screened = screen_corrections(rows, probs, cfg.extra_per_origin, cfg.extra_top)
        print(f"corrections screened: {json.dumps(screened)}")
        fitted, held_out = split_corrections(rows, cfg.holdout)
        fitted, checking = split_corrections(fitted, cfg.holdout, salt="validation")
        corrections, held = corrections_as_digits(fitted), corrections_as_digits(held_out)
        val_corrections = corrections_as_digits(checking)
        print(
            f"corrections from {cfg.extra_data} ({revision}): {len(rows)}; {len(held_out)} held out to measure, "
            f"{len(checking)} for validation"
        )
    train_ds, val_ds = make_datasets(train_split, val_split, cfg, corrections, val_corrections)

    kwargs = {"width": cfg.width, "dropout": cfg.dropout} if cfg.arch == "resnet" else {}
    model = build_model(cfg.arch, **kwargs)
    if cfg.init_from:
        model.load_weights(Path(cfg.init_from) / "model.weights.h5")
        # A fine-tune keeps the batch statistics the model was trained with: a few hundred
        # corrections in a short run would otherwise shift them for every digit.
        # So do the earlier stages: the features every digit is read with stay as they were.
        pools = [i for i, layer in enumerate(model.layers) if isinstance(layer, keras.layers.MaxPooling2D)]
        first = pools[len(pools) - cfg.tune_stages] if 0 < cfg.tune_stages <= len(pools) else 0
        for i, layer in enumerate(model.layers):
            if i < first or isinstance(layer, keras.layers.BatchNormalization):
                layer.trainable = False
        print(
            f"starting from the weights in {cfg.init_from}: batch normalization and the layers before "
            f"{model.layers[first].name} frozen"
        )
    model.summary()
    initial = model.get_weights() if cfg.init_from else None  # what a fine-tune is blended back toward
    if corrections is not None:
        before = _accuracies(model, held, (x_test, y_test))

    steps = int(train_ds.cardinality())  # batches per epoch, renderings and corrections included
    warmup = min(cfg.warmup_epochs * steps, max(cfg.epochs * steps - 1, 0))
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=cfg.learning_rate / 20,
        decay_steps=max(cfg.epochs * steps - warmup, 1),
        warmup_target=cfg.learning_rate,
        warmup_steps=warmup,
        alpha=0.01,
    )
    model.compile(
        optimizer=_optimizer(cfg, schedule),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )

    with tempfile.TemporaryDirectory() as tmp:
        best = str(Path(tmp) / "best.weights.h5")
        # The averaged weights are swapped in for validation and the checkpoint, so they are what ships.
        swap = [keras.callbacks.SwapEMAWeights(swap_on_epoch=True)] if cfg.ema > 0 else []
        tempered = [_tempered_loss(val_ds)] if monitor == "val_tempered_loss" else []
        callbacks = [
            *swap,
            *tempered,
            keras.callbacks.ModelCheckpoint(
                best, monitor=monitor, mode="min", save_best_only=True, save_weights_only=True
            ),
            keras.callbacks.EarlyStopping(monitor=monitor, mode="min", patience=cfg.patience),
        ]
        start = time.time()
        history = model.fit(
            train_ds,
            validation_data=val_ds,
            epochs=cfg.epochs,
            callbacks=callbacks,
            verbose=1 if sys.stdout.isatty() else 2,
        )
        minutes = (time.time() - start) / 60
        model.load_weights(best)

    blend = _blend_back(model, initial, val_split, cfg.max_forgetting) if cfg.init_from else None
    val_loss, val_acc = model.evaluate(val_ds, verbose=0)
    best_epoch = int(np.argmin(history.history[monitor])) + 1
    print(f"best epoch {best_epoch}: validation accuracy {val_acc:.4%}, trained {minutes:.1f} min")
    summary = {
        "val_accuracy": float(val_acc),
        "val_loss": float(val_loss),
        "best_epoch": best_epoch,
        "selected_on": monitor,
        "train_minutes": round(minutes, 1),
    }
    if corrections is not None:
        after = _accuracies(model, held, (x_test, y_test))
        summary["corrections"] = {
            "source": cfg.extra_data,
            "revision": revision,
            "screened": screened,
            "trained_on": len(corrections[0]),
            "held_out": len(held[0]),
            "blend": blend,
            "before": before,
            "after": after,
        }
        print(
            f"held-out corrections: {before['held_out_corrections']:.2%} before, "
            f"{after['held_out_corrections']:.2%} after; MNIST test {before['mnist_test']:.2%} before, "
            f"{after['mnist_test']:.2%} after"
        )
    save(model, cfg, history.history, summary)
    return history.history


def _optimizer(cfg: TrainConfig, schedule):
    import keras  # heavy, as above

    common = {
        "use_ema": cfg.ema > 0,
        "ema_momentum": cfg.ema or 0.99,
        "clipnorm": cfg.clipnorm,
        "weight_decay": cfg.weight_decay or None,
    }
    if cfg.optimizer == "sgd":
        optimizer = _averaging(keras.optimizers.SGD)(learning_rate=schedule, momentum=0.9, **common)
    elif cfg.optimizer == "adam":
        optimizer = _averaging(keras.optimizers.Adam)(learning_rate=schedule, **common)
    else:
        raise ValueError(f"unknown optimizer {cfg.optimizer!r}: expected adam or sgd")
    # Batch normalization's scale and shift and the biases set levels, not feature detectors: not decayed.
    optimizer.exclude_from_weight_decay(var_names=["gamma", "beta", "bias"])
    return optimizer


def _averaging(optimizer_class):
    """``optimizer_class`` whose weight average warms up (momentum ``step / (step + 10)`` until it
    reaches ``ema_momentum``), like TensorFlow's ExponentialMovingAverage with ``num_updates``:
    Keras's own starts at full momentum, so the average of a short run (a fine-tune, a smoke
    test) would still be mostly the initial weights."""
    from keras import ops

    class Averaging(optimizer_class):
        def _update_model_variables_moving_average(self, trainable_variables):
            if not self.use_ema:
                return
            step = ops.cast(self.iterations, "float32")
            momentum = ops.minimum(self.ema_momentum, step / (step + 10.0))  # 0 at the first step: a copy
            for var, average in zip(trainable_variables, self._model_variables_moving_average, strict=True):
                if average is not None:
                    m = ops.cast(momentum, var.dtype)
                    average.assign(m * average + (1 - m) * var)

    return Averaging


BLENDS = np.linspace(1.0, 0.0, 11)  # share of the fine-tune's change kept, most first


def _blend_back(model, start: list[np.ndarray], val: tuple[np.ndarray, np.ndarray], max_forgetting: float) -> float:
    """Move a fine-tuned ``model`` back toward its ``start`` weights, by the smallest step on
    :data:`BLENDS` that brings MNIST validation accuracy within ``max_forgetting`` points of
    where it began; return the share of the change kept.

    Averaging the weights before and after a fine-tune keeps most of what it learned and wins
    back most of what it forgot (Wortsman et al., "Robust fine-tuning of zero-shot models",
    2022): the two lie in one basin, since batch normalization and its statistics stayed frozen.
    """
    tuned = model.get_weights()
    x, y = to_model_input(val[0]), val[1]

    def blend(share):
        model.set_weights([s + share * (t - s) for s, t in zip(start, tuned, strict=True)])
        return model

    floor = _accuracy(blend(0.0), x, y) - max_forgetting / 100
    share = next((float(b) for b in BLENDS if _accuracy(blend(b), x, y) >= floor), 0.0)
    blend(share)
    print(f"kept {share:.0%} of the fine-tune's change: MNIST validation within {max_forgetting} points of the start")
    return share


def _accuracy(model, x: np.ndarray, y: np.ndarray) -> float:
    return float((model.predict(x, batch_size=1024, verbose=0).argmax(1) == y).mean()) if len(x) else float("nan")


def _accuracies(model, held: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray]) -> dict:
    return {
        "held_out_corrections": _accuracy(model, held[0][..., None], held[1]),
        "mnist_test": _accuracy(model, to_model_input(test[0]), test[1]),
    }


def started_from(folder: str) -> dict | None:
    """How the weights a fine-tune starts from were trained (their settings and summary, and what *they*
    started from), so that a fine-tuned model's card tells every stage; ``None`` without a record."""
    prior = read_info(folder) if folder else {}
    return {k: prior[k] for k in ("config", "training", "started_from") if k in prior} or None


def save(model, cfg: TrainConfig, history: dict, summary: dict) -> Path:
    """Write the Keras directory layout plus the metadata that travels with the weights."""
    import keras  # heavy, as above

    out = Path(cfg.out)
    if out.exists():  # what described the previous model goes too: evaluation writes it anew
        for name in MODEL_FILES:
            if name != "README.md":  # a folder's README might not be a model card
                (out / name).unlink(missing_ok=True)
    # A fresh uncompiled copy: the shipped file holds no optimizer state.
    clean = keras.Model.from_config(model.get_config())
    clean.set_weights(model.get_weights())
    clean.save(out, zipped=False)
    info = {
        "arch": cfg.arch,
        "input_shape": [IMAGE_SIZE, IMAGE_SIZE, 1],
        "class_names": list(CLASS_NAMES),
        "parameters": int(model.count_params()),
        "training": summary,
        "config": cfg.to_dict(),
        "history": {k: [float(v) for v in vals] for k, vals in history.items()},
    }
    started = started_from(cfg.init_from)
    if started:
        info["started_from"] = started
    (out / "training.json").write_text(json.dumps(info, indent=2))
    return out
