"""What an epoch of training is made of: MNIST's digits with a validation split carved off, the
renderings of :mod:`digitrec.styles`, the real pen digits of :mod:`digitrec.unipen`, visitors'
corrections repeated to their share, and the augmentation each batch gets on the way in.

Every setting comes from a :class:`digitrec.training.TrainConfig`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from digitrec.preprocess import from_uint8
from digitrec.styles import as_batch, style_inputs
from digitrec.unipen import inputs as pen_inputs
from digitrec.unipen import marked as pen_marked
from digitrec.unipen import rows as pen_rows

if TYPE_CHECKING:  # the settings' type; training is the layer above, and imports this module
    from digitrec.training import TrainConfig


def split_train_val(x: np.ndarray, y: np.ndarray, cfg: TrainConfig):
    """Shuffle once with the config's seed, then carve the validation split off the training set."""
    rng = np.random.default_rng(cfg.seed)
    order = rng.permutation(len(x))
    val, train = order[: cfg.val_size], order[cfg.val_size :]
    if cfg.limit:
        train = train[: cfg.limit]
        val = val[: max(cfg.limit // 10, 1)]
    return (x[train], y[train]), (x[val], y[val])


def to_model_input(x_uint8: np.ndarray) -> np.ndarray:
    """MNIST uint8 images -> the model's ``(n, 28, 28, 1)`` float input, the scale ``normalize`` returns."""
    return from_uint8(x_uint8)[..., None]


def _augmenter(cfg: TrainConfig):
    import keras  # heavy: training pays for TensorFlow, importing this module does not
    import tensorflow as tf
    from keras import layers

    geometric = keras.Sequential(
        [
            layers.RandomRotation(cfg.rotation_deg / 360.0, fill_mode="constant", seed=cfg.seed),
            layers.RandomZoom(cfg.zoom, fill_mode="constant", seed=cfg.seed + 1),
            layers.RandomTranslation(cfg.translate, cfg.translate, fill_mode="constant", seed=cfg.seed + 2),
        ],
        name="augment",
    )

    def thickness(x):
        # Move each image toward its 3x3 erosion (thinner) or through one or two 3x3 dilations
        # (thicker) by a random amount: drawings by mouse, finger or pen differ most in stroke width.
        n = tf.shape(x)[0]
        t = tf.random.uniform((n, 1, 1, 1), -cfg.thinning, cfg.thickening)
        dilated = tf.nn.max_pool2d(x, 3, 1, "SAME")
        dilated2 = tf.nn.max_pool2d(dilated, 3, 1, "SAME")
        eroded = -tf.nn.max_pool2d(-x, 3, 1, "SAME")
        thicker = x + tf.clip_by_value(t, 0, 1) * (dilated - x) + tf.clip_by_value(t - 1, 0, 1) * (dilated2 - dilated)
        thinner = x + tf.clip_by_value(-t, 0, 1) * (eroded - x)
        x = tf.where(t >= 0, thicker, thinner)
        # Keep the brightest pixel at 1, as preprocessing guarantees.
        return x / tf.maximum(tf.reduce_max(x, axis=[1, 2, 3], keepdims=True), 1e-6)

    def augment(x, y):
        return thickness(geometric(x, training=True)), y

    return augment


def style_mix(split, cfg: TrainConfig, share: float = 1.0, seed: int = 100) -> tuple[np.ndarray, np.ndarray] | None:
    """Handwriting styles MNIST lacks, rendered from ``split``'s digits (:mod:`digitrec.styles`):
    ``share`` of the config's counts, drawn with ``cfg.seed + seed``.

    Returns normalized ``(inputs, labels)``, or ``None`` when the config asks for none.
    """
    x, y = split
    asked = (cfg.per_style, cfg.per_mark, cfg.pen_redraws, cfg.pen_retraces, cfg.stretched_scans)
    counts = [round(share * n) for n in asked]
    more_of = {name: round(share * n) for name, n in parse_more_of(cfg.more_of).items()}
    if not any(counts) and not any(more_of.values()):
        return None
    # The marks and the pen re-drawings take digits from the end of the split, the same ones each run.
    per_style, per_mark, pen_count, retraced, stretched = counts
    sets = style_inputs(
        per_style,
        cfg.seed + seed,
        marked=(x[::-1], y[::-1]),
        per_mark=per_mark,
        pen=(x[::-1], y[::-1]),
        pen_count=pen_count,
        retraced=retraced,
        more_of=more_of,
        stretched=stretched,
    )
    inputs, labels = as_batch(sets)
    print(f"handwriting styles: {len(inputs)} renderings in {len(sets)} styles from {len(x)} digits")
    return inputs, labels


# Offsets to the config's seed for drawing each split's real digits, and the training writers' marked ones.
REAL_PEN_SEEDS = {"train": 300, "val": 400, "marks": 500}


def real_pen_mix(split: str, cfg: TrainConfig) -> tuple[np.ndarray, np.ndarray] | None:
    """The real pen digits of ``split``'s writers (:mod:`digitrec.unipen`), each drawn ``cfg.real_pen`` times
    as a client sends it and normalized; ``None`` when the config asks for none. For the training writers,
    their plain ones and one-stroke sevens are also drawn ``cfg.real_pen_marks`` times with a flag or a bar
    (:func:`digitrec.unipen.marked`); validation reads real digits only. A smoke run (``cfg.limit``)
    takes as many digits as it takes MNIST digits."""
    if not cfg.real_pen:
        return None
    samples = pen_rows("digits", split)
    if cfg.limit:
        samples = samples[: cfg.limit if split == "train" else max(cfg.limit // 10, 1)]
    inputs, labels = pen_inputs(samples, cfg.real_pen, cfg.seed + REAL_PEN_SEEDS[split])
    print(f"real pen digits ({split} writers): {len(inputs)} drawings of {len(samples)} digits")
    if split == "train" and cfg.real_pen_marks:
        rng = np.random.default_rng(cfg.seed + REAL_PEN_SEEDS["marks"])
        marks = [
            {**row, "strokes": strokes}
            for row in samples
            if (strokes := pen_marked(row["strokes"], row["label"], rng)) is not None
        ]
        extra = pen_inputs(marks, cfg.real_pen_marks, cfg.seed + REAL_PEN_SEEDS["marks"])
        print(f"real pen digits with a flag or bar: {len(extra[0])} drawings of {len(marks)} ones and sevens")
        inputs, labels = np.concatenate([inputs, extra[0]]), np.concatenate([labels, extra[1]])
    return inputs, labels


def parse_more_of(text: str) -> dict[str, int]:
    """``--more-of``'s ``"name=count,..."`` as ``{name: count}`` (the names are checked by ``style_inputs``)."""
    out = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, count = item.partition("=")
        if not count.strip().isdigit():
            raise ValueError(f"--more-of {text!r}: expected name=count pairs such as flag_one=1200, got {item!r}")
        out[name.strip()] = int(count)
    return out


def _with(inputs: np.ndarray, labels: np.ndarray, extra: tuple[np.ndarray, np.ndarray] | None):
    """Model inputs and int32 labels with ``extra`` normalized ``(n, 28, 28)`` images (if any) after them."""
    labels = labels.astype(np.int32)
    if extra is None:
        return inputs, labels
    return np.concatenate([inputs, extra[0][..., None]]), np.concatenate([labels, extra[1].astype(np.int32)])


def _mix(inputs, labels, extra: tuple[np.ndarray, np.ndarray] | None, share: float):
    """``extra`` repeated so that it makes up about ``share`` of the result."""
    if extra is None or not len(extra[0]):
        return inputs, labels
    repeats = max(1, round(share * len(inputs) / len(extra[0])))
    return _with(inputs, labels, (np.tile(extra[0], (repeats, 1, 1)), np.tile(extra[1], repeats)))


def make_datasets(train, val, cfg: TrainConfig, corrections=None, val_corrections=None):
    import tensorflow as tf  # heavy, as above

    (x_tr, y_tr), (x_val, y_val) = train, val
    inputs, labels = _with(to_model_input(x_tr), y_tr, style_mix(train, cfg))
    inputs, labels = _with(inputs, labels, real_pen_mix("train", cfg))
    # Repeated so that a few hundred real drawings weigh as extra_share of an epoch beside 60,000 digits,
    # and as much in the validation loss that picks the checkpoint.
    inputs, labels = _mix(inputs, labels, corrections, cfg.extra_share)
    train_ds = (
        tf.data.Dataset.from_tensor_slices((inputs, labels))
        .shuffle(len(inputs), seed=cfg.seed, reshuffle_each_iteration=True)
        .batch(cfg.batch_size)
        .map(_augmenter(cfg), num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
    # Validation digits drawn in the same styles (their own seed): the validation loss that picks
    # the checkpoint and stops early then measures drawings, not only MNIST's scans.
    val_inputs, val_labels = _with(to_model_input(x_val), y_val, style_mix(val, cfg, cfg.val_styles, seed=200))
    val_inputs, val_labels = _with(val_inputs, val_labels, real_pen_mix("val", cfg))
    val_inputs, val_labels = _mix(val_inputs, val_labels, val_corrections, cfg.extra_share)
    val_ds = tf.data.Dataset.from_tensor_slices((val_inputs, val_labels)).batch(512)
    return train_ds, val_ds
