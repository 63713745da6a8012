"""Visitors' corrections: kept as an image-folder dataset, pushed to a dataset repo, bounded."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import pytest
from gradio_client import Client, handle_file
from huggingface_hub import constants

from digitrec import feedback
from digitrec.data import read_corrections
from digitrec.feedback import FeedbackError, FeedbackStore
from digitrec.render import STROKES, draw_strokes


@pytest.fixture
def seven(recognizer):
    drawing = draw_strokes(STROKES["7_crossed"], size=(400, 400), width=20)
    return drawing, recognizer.recognize(drawing)


def test_a_correction_is_an_image_folder_row_beside_its_image(tmp_path, seven, recognizer):
    store = FeedbackStore(tmp_path)
    path = store.save(*seven, label="1", model=recognizer.source)
    assert (tmp_path / path).is_file()
    rows = [json.loads(line) for line in (tmp_path / path).with_name("metadata.jsonl").read_text().splitlines()]
    assert rows[0]["file_name"] == (tmp_path / path).name and rows[0]["label"] == "1"
    assert rows[0]["predicted"] == "7" and len(rows[0]["probabilities"]) == 10 and rows[0]["model"]
    assert rows[0]["model_revision"] == "local" and rows[0]["timestamp"].endswith("+00:00")
    read = read_corrections(tmp_path)
    assert read[0]["x"].shape == (28, 28) and abs(read[0]["x"] - seven[1].input).max() < 1 / 255


@pytest.mark.parametrize("label", ["10", "seven", "", "<script>"])
def test_only_digits_and_not_a_digit_are_labels(tmp_path, seven, label):
    with pytest.raises(FeedbackError, match="unknown label"):
        FeedbackStore(tmp_path).save(*seven, label=label, model="m")
    assert FeedbackStore(tmp_path).save(*seven, label="Not a digit", model="m")


def test_a_session_may_send_only_so_many_a_minute(tmp_path, seven):
    store = FeedbackStore(tmp_path)
    for _ in range(feedback.FEEDBACK_PER_MINUTE):
        store.save(*seven, label="7", model="m", session="a")
    with pytest.raises(FeedbackError, match="a minute"):
        store.save(*seven, label="7", model="m", session="a")
    store.save(*seven, label="7", model="m", session="b")  # another visitor is not affected


def test_sessions_that_went_quiet_are_forgotten(tmp_path, monkeypatch):
    # A flood of one-off session ids must not grow the rate limiter's memory without end.
    store, clock = FeedbackStore(tmp_path), [1000.0]
    monkeypatch.setattr(feedback, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    for i in range(feedback.RATE_SESSIONS + 1):
        store._check_rate(f"old-{i}")
    clock[0] += 61
    store._check_rate("new")
    assert len(store._recent) == 1
    for _ in range(feedback.FEEDBACK_PER_MINUTE - 1):
        store._check_rate("new")
    with pytest.raises(FeedbackError, match="a minute"):  # the limit itself still holds
        store._check_rate("new")


def test_above_the_cap_the_oldest_hours_go_first(tmp_path, seven, monkeypatch):
    store = FeedbackStore(tmp_path)
    old = tmp_path / "data" / "2020-01-01T00"
    old.mkdir(parents=True)
    (old / "x.png").write_bytes(bytes(5000))
    monkeypatch.setattr(feedback, "FEEDBACK_MAX_BYTES", 4000)
    store.save(*seven, label="7", model="m")
    assert not old.exists() and len(read_corrections(tmp_path)) == 1


def test_corrections_reach_the_dataset_repo_on_schedule(hub, tmp_path, seven):
    store = FeedbackStore(tmp_path, repo_id="alice/corrections", every_minutes=0.02)
    path = store.save(*seven, label="1", model="m")
    deadline = time.time() + 30
    while time.time() < deadline and path not in hub.files("dataset", "alice/corrections"):
        time.sleep(0.5)
    files = hub.files("dataset", "alice/corrections")
    assert (
        path in files and json.loads(files[path.rsplit("/", 1)[0] + "/metadata.jsonl"].splitlines()[0])["label"] == "1"
    )
    assert hub.state.repos[("dataset", "alice/corrections")].private
    store.scheduler.stop()


def test_an_unreachable_hub_loses_nothing(tmp_path, seven, monkeypatch):
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")  # nothing listens on the discard port
    store = FeedbackStore(tmp_path, repo_id="alice/unreachable", every_minutes=5)
    assert store.scheduler is None  # not created yet; retried later
    store.save(*seven, label="1", model="m")
    store.push_now(timeout=5)
    assert len(read_corrections(tmp_path)) == 1


def test_report_endpoint_keeps_a_correction_and_refuses_bad_ones(server_url, feedback_dir, tmp_path):
    client = Client(server_url + "/", verbose=False)
    path = tmp_path / "seven.png"
    draw_strokes(STROKES["7_plain"], size=(400, 400), width=20).save(path)
    sketch = {"background": None, "layers": [], "composite": handle_file(str(path))}
    before = len(read_corrections(feedback_dir))
    saved = client.predict(sketch, None, "1", api_name="/report")
    assert saved["saved"] == "1" and (feedback_dir / saved["file"]).is_file()
    assert client.predict(None, handle_file(str(path)), "7", api_name="/report")["saved"] == "7"
    assert len(read_corrections(feedback_dir)) == before + 2
    with pytest.raises(Exception, match="unknown label"):
        client.predict(sketch, None, "11", api_name="/report")


@pytest.mark.slow  # a short fine-tune
def test_fine_tuning_on_corrections_raises_accuracy_on_the_held_out_ones(tmp_path, recognizer, mnist_sample):
    import numpy as np
    from PIL import Image

    from digitrec.training import TrainConfig, train
    from digitrec.weights import WEIGHTS, read_info

    # Synthetic corrections of a hand MNIST never shows: mirrored digits (those a mirror changes), as the digit.
    x, y = mnist_sample
    store = FeedbackStore(tmp_path / "feedback")
    for i, (digit, label) in enumerate(zip(x, y, strict=True)):
        if label in (0, 1, 8):
            continue
        for shift in (0, 2):
            mirrored = Image.fromarray(np.roll(np.fliplr(digit), shift, axis=1))
            store.save(mirrored, recognizer.recognize(mirrored), label=str(label), model="m", session=f"{i}-{shift}")
    cfg = TrainConfig(
        epochs=12,
        batch_size=64,
        val_size=40,
        learning_rate=5e-4,
        warmup_epochs=0,
        init_from=str(WEIGHTS),
        extra_data=str(tmp_path / "feedback"),
        extra_share=0.25,
        max_forgetting=100,  # 40 validation digits cannot measure 0.1 points; the blend has its own test
        per_style=0,
        per_mark=0,
        more_of="",
        pen_redraws=0,
        out=str(tmp_path / "tuned"),
    )
    train(cfg, data=((x, y), (x, y)))
    report = read_info(tmp_path / "tuned")["training"]["corrections"]
    assert report["held_out"] >= 20 and report["revision"] == "local folder"
    assert report["after"]["held_out_corrections"] >= report["before"]["held_out_corrections"] + 0.3
    # 160 MNIST digits here, not 54,000, so some forgetting shows: this only guards against a collapse.
    assert report["after"]["mnist_test"] >= 0.85
