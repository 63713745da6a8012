"""Weights on the Hub, exercised with the real huggingface_hub client against tests/hub_server.py."""

from __future__ import annotations

import json
import shutil
import sys

import numpy as np
import pytest
from huggingface_hub import constants

from digitrec import Recognizer, WeightsNotFoundError
from digitrec.hub import HubError, main, pull, push
from digitrec.serving import load_for_app
from digitrec.weights import WEIGHTS


@pytest.fixture(scope="module")
def pushed(hub):
    info = push("alice/digits", WEIGHTS, message="first upload")
    return info


def test_push_uploads_the_keras_layout_with_a_model_card(hub, pushed):
    files = hub.files("model", "alice/digits")
    keras_layout = {"config.json", "metadata.json", "model.weights.h5"}
    assert keras_layout | {"model.tflite", "README.md", "metrics.json", "calibration.npz"} <= set(files)
    card = files["README.md"].decode()
    for expected in (
        "library_name: keras",
        "license: mit",
        "ylecun/mnist",
        "model-index",
        "accuracy",
        'keras.saving.load_model("hf://alice/digits")',
    ):
        assert expected in card
    metrics = json.loads(files["metrics.json"])
    assert f"{metrics['mnist_test_accuracy']:.4g}"[:5] in card
    assert pushed.oid == hub.state.repos[("model", "alice/digits")].branches["main"]


def test_round_trip_gives_identical_predictions(pushed, fresh_hub_cache, recognizer, mnist_sample):
    x, _ = mnist_sample
    pulled = Recognizer.load("hf://alice/digits")
    assert any(fresh_hub_cache.rglob("model.weights.h5"))  # downloaded, not borrowed from another cache
    assert len(pulled.revision) == 40  # the commit served, which corrections record
    assert pulled.backend == "litert"  # the export travels with the weights
    a = recognizer.predict_batch(list(x[:50]))
    b = pulled.predict_batch(list(x[:50]))
    np.testing.assert_allclose([list(p.values()) for p in a], [list(p.values()) for p in b], atol=1e-6)


def test_keras_itself_loads_the_pushed_repo(pushed, fresh_hub_cache):
    import keras

    model = keras.saving.load_model("hf://alice/digits", compile=False)
    assert model.output_shape == (None, 10)


def test_pinned_revision_survives_a_newer_push(hub, pushed, tmp_path, fresh_hub_cache):
    newer = tmp_path / "newer"
    shutil.copytree(WEIGHTS, newer)
    info = json.loads((newer / "training.json").read_text())
    info["training"]["note"] = "second"
    (newer / "training.json").write_text(json.dumps(info))
    second = push("alice/digits", newer, message="second upload")
    old = Recognizer.load(f"hf://alice/digits@{pushed.oid}")
    new = Recognizer.load("hf://alice/digits")
    assert "note" not in old.info["training"] and new.info["training"]["note"] == "second"
    assert pull("alice/digits", revision=second.oid).name == second.oid


def test_offline_with_a_warm_cache_works(pushed, fresh_hub_cache, monkeypatch, mnist_sample):
    Recognizer.load("hf://alice/digits")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    rec = Recognizer.load("hf://alice/digits")
    x, y = mnist_sample
    assert max(rec.predict(x[0]).items(), key=lambda kv: kv[1])[0] == str(y[0])


def test_offline_with_a_cold_cache_errors_or_falls_back(pushed, fresh_hub_cache, monkeypatch, capsys):
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(HubError, match="alice/digits is not in the local cache"):
        load_for_app(requested="hf://alice/digits")
    rec = load_for_app(configured="hf://alice/digits")
    assert rec.source == str(WEIGHTS)
    assert "serving the bundled weights" in capsys.readouterr().err


def test_unreachable_hub_falls_back_for_the_app(fresh_hub_cache, monkeypatch, capsys):
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")  # nothing listens on the discard port
    rec = load_for_app(configured="hf://alice/digits")
    assert rec.source == str(WEIGHTS)
    assert "cannot be reached" in capsys.readouterr().err


@pytest.mark.parametrize(
    "ref, message",
    [
        ("hf://alice/no-such-model", "alice/no-such-model not found"),
        ("hf://alice/digits@no-such-branch", "revision not found"),
        ("hf://not a repo", "not a Hub model reference"),
    ],
)
def test_missing_repo_and_bad_revision_are_named(pushed, fresh_hub_cache, ref, message):
    with pytest.raises(HubError, match=message):
        Recognizer.load(ref)


def test_private_repo_without_token_and_gated_repo(hub, pushed, fresh_hub_cache, monkeypatch):
    push("alice/secret", WEIGHTS, private=True)
    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", "/nonexistent/token")
    with pytest.raises(HubError, match="private and no valid token"):
        pull("alice/secret")
    hub.state.repos[("model", "alice/digits")].gated = True
    try:
        with pytest.raises(HubError, match="gated"):
            pull("alice/digits")
    finally:
        hub.state.repos[("model", "alice/digits")].gated = False


def test_corrupt_download_is_refused(hub, fresh_hub_cache, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(WEIGHTS, broken)
    (broken / "model.weights.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    push("alice/broken", broken)
    with pytest.raises(WeightsNotFoundError, match=r"hf://alice/broken.*could not be loaded"):
        Recognizer.load("hf://alice/broken")


def test_cli_pull_into_a_folder(pushed, fresh_hub_cache, tmp_path, capsys):
    main(["pull", "alice/digits", "--to", str(tmp_path / "w")])
    assert (tmp_path / "w" / "model.weights.h5").is_file()
    assert Recognizer.load(tmp_path / "w").info["class_names"][0] == "0"


def test_app_refuses_an_unknown_hub_model_with_a_clear_message(hub, fresh_hub_cache, monkeypatch):
    import app

    monkeypatch.setattr(sys, "argv", ["app.py", "--model", "hf://alice/no-such-model"])
    with pytest.raises(SystemExit, match="alice/no-such-model not found"):
        app.main()


def test_train_push_to_hub_uploads_what_training_wrote(hub, tmp_path, monkeypatch):
    import train

    out = tmp_path / "trained"
    # Stand-ins for the long steps: "training" writes the bundled weights, evaluation is skipped.
    monkeypatch.setattr(train, "train", lambda cfg: shutil.copytree(WEIGHTS, cfg.out))
    monkeypatch.setattr(train, "evaluate_and_report", lambda folder: None)
    monkeypatch.setattr(sys, "argv", ["train.py", "--out", str(out), "--push-to-hub", "alice/from-train"])
    train.main()
    files = hub.files("model", "alice/from-train")
    assert files["model.weights.h5"] == (WEIGHTS / "model.weights.h5").read_bytes()
    assert "hf_digitrec_test_token" not in "".join(hub.state.requests)


def test_an_older_repo_without_model_tflite_is_served_by_its_keras_weights(hub, fresh_hub_cache, tmp_path, capfd):
    older = tmp_path / "older"
    shutil.copytree(WEIGHTS, older)
    (older / "model.tflite").unlink()
    push("alice/older-digits", older)
    rec = Recognizer.load("hf://alice/older-digits")
    assert rec.backend == "keras" and "has no model.tflite" in capfd.readouterr().err
    assert rec.predict(np.load(WEIGHTS.parent / "tests" / "mnist_sample.npz")["x"][0])
