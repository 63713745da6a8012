"""Model construction and a real (tiny) training run through train.py's code path."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from digitrec.constants import NUM_CLASSES
from digitrec.mixing import make_datasets, parse_more_of, split_train_val, style_mix, to_model_input
from digitrec.model import ARCHITECTURES, build_model
from digitrec.styles import TEMPLATES
from digitrec.training import TrainConfig, train
from tests.conftest import NO_RENDERINGS

# A quick training run: a few MNIST digits, none of the rendered styles the defaults mix in.
SMALL = {"limit": 160, "val_size": 40, "batch_size": 32, **NO_RENDERINGS}


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_models_map_a_digit_to_ten_probabilities(arch):
    model = build_model(arch)
    out = np.asarray(model(np.zeros((2, 28, 28, 1), np.float32)))
    assert out.shape == (2, 10)
    np.testing.assert_allclose(out.sum(1), 1.0, rtol=1e-5)


def test_product_model_fits_the_parameter_budget():
    model = build_model("resnet")
    assert model.count_params() <= 500_000
    assert any(layer.__class__.__name__ == "Add" for layer in model.layers)  # residual connections
    assert any(layer.__class__.__name__ == "BatchNormalization" for layer in model.layers)


def test_unknown_architecture_is_refused():
    with pytest.raises(ValueError, match="expected one of"):
        build_model("transformer")


@pytest.mark.slow
def test_smoke_training_writes_a_loadable_model(tmp_path, mnist_sample):
    from digitrec import Recognizer

    x, y = mnist_sample
    cfg = TrainConfig(
        epochs=1,
        limit=160,
        val_size=40,
        batch_size=32,
        per_style=2,
        per_mark=3,
        more_of="flag_one=2",
        pen_redraws=10,
        pen_retraces=5,
        out=str(tmp_path / "w"),
    )
    history = train(cfg, data=((x, y), (x, y)))
    assert len(history["loss"]) == 1 and np.isfinite(history["loss"][0])
    rec = Recognizer.load(tmp_path / "w")
    assert rec.info["config"]["epochs"] == 1
    assert len(rec.predict(x[0])) == 10


@pytest.mark.slow
def test_the_checkpoint_can_be_picked_on_the_tempered_validation_loss(tmp_path, mnist_sample):
    from digitrec import Recognizer

    x, y = mnist_sample
    cfg = TrainConfig(**SMALL, epochs=3, select="tempered", out=str(tmp_path / "w"))
    history = train(cfg, data=((x, y), (x, y)))
    tempered = history["val_tempered_loss"]
    assert len(tempered) == 3
    # At its own best temperature the loss is never above the loss at temperature 1.
    assert all(t <= v + 1e-6 for t, v in zip(tempered, history["val_loss"], strict=True)), (tempered, history)
    training = Recognizer.load(tmp_path / "w").info["training"]
    assert training["selected_on"] == "val_tempered_loss"
    assert training["best_epoch"] == int(np.argmin(tempered)) + 1


def test_an_unknown_checkpoint_selection_is_refused_before_any_training():
    with pytest.raises(ValueError, match="unknown --select 'accuracy': expected one of loss, tempered"):
        train(TrainConfig(select="accuracy"), data=((None, None), (None, None)))


@pytest.mark.slow
def test_fine_tuning_changes_only_the_last_stage_and_the_classifier(tmp_path, mnist_sample):
    import keras

    from digitrec.weights import WEIGHTS

    x, y = mnist_sample
    cfg = TrainConfig(
        **SMALL, epochs=1, init_from=str(WEIGHTS), tune_stages=1, max_forgetting=100, out=str(tmp_path / "w")
    )
    train(cfg, data=((x, y), (x, y)))
    # The fine-tune's record says how the weights it started from were trained.
    shipped = json.loads((WEIGHTS / "training.json").read_text())
    started = json.loads((tmp_path / "w" / "training.json").read_text())["started_from"]
    assert started["config"] == shipped["config"] and started["training"] == shipped["training"]
    before, after = build_model("resnet"), build_model("resnet")
    before.load_weights(WEIGHTS / "model.weights.h5")
    after.load_weights(tmp_path / "w" / "model.weights.h5")
    last_pool = max(i for i, layer in enumerate(before.layers) if isinstance(layer, keras.layers.MaxPooling2D))
    for i, (old, new) in enumerate(zip(before.layers, after.layers, strict=True)):
        if not old.weights:
            continue
        changed = any(not np.array_equal(a, b) for a, b in zip(old.get_weights(), new.get_weights(), strict=True))
        learns = i > last_pool and not isinstance(old, keras.layers.BatchNormalization)
        assert changed == learns, old.name


@pytest.mark.parametrize("share", [0.0, 0.5])
def test_validation_holds_the_validation_digits_and_their_drawings(mnist_sample, share):
    x, y = mnist_sample
    cfg = TrainConfig(**{**SMALL, "per_style": 4, "pen_redraws": 10}, val_styles=share, real_pen=0)
    train_split, (x_val, y_val) = split_train_val(x, y, cfg)
    _, val_ds = make_datasets(train_split, (x_val, y_val), cfg)
    inputs = np.concatenate([b[0].numpy() for b in val_ds])
    labels = np.concatenate([b[1].numpy() for b in val_ds])
    drawings = round(share * 4) * len(TEMPLATES) + round(share * 10)  # templates, then digits re-drawn in pen
    assert len(labels) == len(x_val) + drawings
    np.testing.assert_array_equal(inputs[: len(x_val)], to_model_input(x_val))
    np.testing.assert_array_equal(labels[: len(x_val)], y_val)
    # The pen re-drawings are the last validation digits, drawn anew: same labels, other pixels.
    redrawn = round(share * 10)
    pen = slice(len(labels) - redrawn, len(labels))
    np.testing.assert_array_equal(labels[pen], y_val[::-1][:redrawn])
    originals = to_model_input(x_val[::-1][:redrawn])
    assert not any(np.array_equal(a, b) for a, b in zip(inputs[pen], originals, strict=True))


def test_training_and_validation_hold_real_pen_digits_of_their_own_writers(mnist_sample):
    from digitrec import unipen

    x, y = mnist_sample
    cfg = TrainConfig(**SMALL, real_pen=2, real_pen_marks=0)
    train_split, (x_val, y_val) = split_train_val(x, y, cfg)
    train_ds, val_ds = make_datasets(train_split, (x_val, y_val), cfg)
    val_labels = np.concatenate([b[1].numpy() for b in val_ds])
    real_val = unipen.rows("digits", "val")[: cfg.limit // 10]
    assert len(val_labels) == len(x_val) + 2 * len(real_val)
    expected = [int(r["label"]) for r in real_val] * 2
    np.testing.assert_array_equal(val_labels[len(x_val) :], expected)
    train_count = sum(len(b[1]) for b in train_ds)
    assert train_count == len(train_split[0]) + 2 * cfg.limit


def test_only_training_writers_ones_and_sevens_are_also_drawn_with_a_flag_or_bar():
    from digitrec.mixing import real_pen_mix

    cfg = TrainConfig(limit=400, real_pen=2, real_pen_marks=3)
    _, labels = real_pen_mix("train", cfg)
    marked = labels[2 * cfg.limit :]
    assert len(marked) >= 3 * 20 and set(marked) == {1, 7}  # every marked one and seven, three times over
    _, val_labels = real_pen_mix("val", cfg)
    assert len(val_labels) == 2 * (cfg.limit // 10)  # validation reads the writers' own digits only


def test_a_fine_tune_that_forgets_is_blended_back_toward_its_start(mnist_sample):
    from digitrec.training import _blend_back
    from digitrec.weights import WEIGHTS

    x, y = mnist_sample
    model = build_model("resnet")
    model.load_weights(WEIGHTS / "model.weights.h5")
    start = model.get_weights()

    def accuracy():
        return (model.predict(to_model_input(x), verbose=0).argmax(1) == y).mean()

    reference = accuracy()
    # A "fine-tune" that taught the classifier every digit as the next one: it has forgotten them all.
    scrambled = [np.roll(w, 1, axis=-1) if w.shape[-1] == NUM_CLASSES else w for w in start]
    model.set_weights(scrambled)
    assert accuracy() < reference - 0.2
    share = _blend_back(model, start, (x, y), max_forgetting=0.0)
    assert 0 <= share < 1 and accuracy() >= reference
    model.set_weights(scrambled)
    assert _blend_back(model, start, (x, y), max_forgetting=100) == 1.0
    assert accuracy() < reference - 0.2


def test_weight_decay_shrinks_kernels_and_leaves_normalization_and_biases_alone():
    from digitrec.training import _optimizer

    model = build_model("resnet")
    optimizer = _optimizer(TrainConfig(weight_decay=0.5, ema=0), 0.1)
    rng = np.random.default_rng(0)
    for v in model.trainable_variables:  # none at zero (biases start there), where decay could not show
        v.assign(rng.uniform(0.5, 1.5, v.shape).astype("float32"))
    before = {v.path: v.numpy().copy() for v in model.trainable_variables}
    # Zero gradients: Adam itself moves nothing, so any change is the decay.
    optimizer.apply_gradients([(np.zeros(v.shape, "float32"), v) for v in model.trainable_variables])
    for v in model.trainable_variables:
        decayed = v.path.endswith("kernel")
        np.testing.assert_allclose(v.numpy(), before[v.path] * (1 - 0.5 * 0.1 if decayed else 1), rtol=1e-5)


def test_command_line_overrides_every_setting():
    cfg = TrainConfig.from_args(["--epochs", "3", "--batch-size", "64", "--arch", "cnn2", "--limit", "100"])
    assert (cfg.epochs, cfg.batch_size, cfg.arch, cfg.limit) == (3, 64, "cnn2", 100)
    assert cfg.learning_rate == TrainConfig().learning_rate


def test_help_lists_every_setting_with_its_reason(capsys):
    with pytest.raises(SystemExit) as exit_:
        TrainConfig.from_args(["--help"])
    assert exit_.value.code == 0
    shown = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    for f in dataclasses.fields(TrainConfig):
        assert "--" + f.name.replace("_", "-") in shown
    assert "1,800 left flag ones at 97-99%" in shown  # a reason with a per cent sign in it, as written


def test_more_of_is_read_from_the_command_line_as_name_count_pairs():
    cfg = TrainConfig.from_args(["--more-of", "flag_one=1200, crossed_seven=40"])
    assert parse_more_of(cfg.more_of) == {"flag_one": 1200, "crossed_seven": 40}
    assert parse_more_of("") == {}
    with pytest.raises(ValueError, match="expected name=count pairs such as flag_one=1200, got 'flag_one'"):
        parse_more_of("flag_one")


def test_more_of_alone_still_mixes_its_renderings_into_training(mnist_sample):
    cfg = TrainConfig(**{**NO_RENDERINGS, "more_of": "flag_one=3"})
    inputs, labels = style_mix(mnist_sample, cfg)
    assert inputs.shape == (3, 28, 28) and (labels == 1).all()
    assert style_mix(mnist_sample, cfg, share=0.0) is None  # validation's default share: nothing drawn


def test_stretched_scans_join_the_training_mix_only_when_asked(mnist_sample):
    _, y = mnist_sample
    cfg = TrainConfig(**{**NO_RENDERINGS, "stretched_scans": 5})
    inputs, labels = style_mix(mnist_sample, cfg)
    assert inputs.shape == (5, 28, 28) and np.array_equal(labels, y[::-1][:5])
    assert style_mix(mnist_sample, dataclasses.replace(cfg, stretched_scans=0)) is None


def test_train_py_with_no_options_repeats_the_shipped_run():
    from digitrec.weights import WEIGHTS

    shipped = json.loads((WEIGHTS / "training.json").read_text())["config"]
    assert shipped == TrainConfig().to_dict()  # a setting changed without retraining says so here


def test_the_model_card_of_a_fine_tune_gives_every_stage_with_its_settings(tmp_path):
    from digitrec.card import build_model_card

    def stage(epoch, per_mark):
        return {"config": {"per_mark": per_mark}, "training": {"best_epoch": epoch, "train_minutes": 9}}

    info = {"parameters": 1, "config": {"init_from": "runs/b"}, "training": {"best_epoch": 1}}
    info["started_from"] = {**stage(14, 3000), "started_from": stage(18, 1800)}
    (tmp_path / "training.json").write_text(json.dumps(info))
    card = str(build_model_card(tmp_path))
    first, second = card.index("(best epoch\n14, 9 minutes"), card.index("(best epoch\n18, 9 minutes")
    assert first < card.index('"per_mark": 3000') < second < card.index('"per_mark": 1800')
