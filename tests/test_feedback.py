"""Visitors' corrections: kept as an image-folder dataset, pushed to a dataset repo, bounded."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import pytest
from gradio_client import Client, handle_file
from huggingface_hub import constants

from digitrec import corrections
from digitrec.corrections import FeedbackError, FeedbackStore, read_corrections
from digitrec.render import STROKES, draw_strokes
from tests.conftest import NO_RENDERINGS, sketch


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
    for i in range(corrections.FEEDBACK_PER_MINUTE):
        store.save(*seven, label=str(i), model="m", session="a", address=f"10.0.0.{i}")
    with pytest.raises(FeedbackError, match="a minute"):
        store.save(*seven, label="7", model="m", session="a", address="10.0.1.1")
    store.save(*seven, label="7", model="m", session="b", address="10.0.1.1")  # another visitor is not affected


def test_an_address_may_send_only_so_many_a_minute_whatever_session_it_names(tmp_path, seven):
    store = FeedbackStore(tmp_path)
    for i in range(corrections.FEEDBACK_PER_MINUTE):
        store.save(*seven, label=str(i), model="m", session=f"new-{i}", address="203.0.113.9")
    with pytest.raises(FeedbackError, match="a minute"):
        store.save(*seven, label="7", model="m", session="another-new-one", address="203.0.113.9")
    store.save(*seven, label="7", model="m", session="x", address="198.51.100.2")


def test_the_same_drawing_from_the_same_address_keeps_one_row_with_the_last_label(tmp_path, seven):
    store = FeedbackStore(tmp_path, salt="s")
    first = store.save(*seven, label="1", model="m", address="192.0.2.1")
    again = store.save(*seven, label="7", model="m", address="192.0.2.1")
    rows = read_corrections(tmp_path)
    assert first == again and [r["label"] for r in rows] == ["7"]
    assert FeedbackStore(tmp_path, salt="s").save(*seven, label="4", model="m", address="192.0.2.1") == first
    store.save(*seven, label="7", model="m", address="192.0.2.2")  # another visitor's answer is a row of its own
    rows = read_corrections(tmp_path)
    assert sorted(r["label"] for r in rows) == ["4", "7"]
    assert "192.0.2" not in json.dumps([r["origin"] for r in rows]) and rows[0]["origin"] != rows[1]["origin"]


def test_a_huge_drawing_is_kept_at_a_bounded_size(tmp_path, recognizer):
    from PIL import Image

    big = draw_strokes(STROKES["7_plain"], size=(4800, 4800), width=240)
    path = FeedbackStore(tmp_path).save(big, recognizer.recognize(big), label="7", model="m")
    assert max(Image.open(tmp_path / path).size) == corrections.FEEDBACK_IMAGE_SIDE


def test_sessions_that_went_quiet_are_forgotten(tmp_path, monkeypatch):
    # A flood of one-off session ids must not grow the rate limiter's memory without end.
    store, clock = FeedbackStore(tmp_path), [1000.0]
    monkeypatch.setattr(corrections, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    for i in range(corrections.RATE_SESSIONS + 1):
        store._check_rate(f"old-{i}")
    clock[0] += 61
    store._check_rate("new")
    assert len(store._recent) == 1
    for _ in range(corrections.FEEDBACK_PER_MINUTE - 1):
        store._check_rate("new")
    with pytest.raises(FeedbackError, match="a minute"):  # the limit itself still holds
        store._check_rate("new")


def _an_old_hour(folder):
    old = folder / "data" / "2020-01-01T00"
    old.mkdir(parents=True)
    (old / "x.png").write_bytes(bytes(12_000))
    return old


def test_above_the_cap_nothing_unpushed_is_deleted_and_new_corrections_wait(tmp_path, seven, monkeypatch):
    old = _an_old_hour(tmp_path)
    monkeypatch.setattr(corrections, "FEEDBACK_MAX_BYTES", 4000)
    store = FeedbackStore(tmp_path)
    with pytest.raises(FeedbackError, match="full"):
        store.save(*seven, label="7", model="m")
    assert (old / "x.png").is_file() and read_corrections(tmp_path) == []


def test_above_the_cap_pushed_hours_go_to_make_room(tmp_path, seven, monkeypatch):
    old = _an_old_hour(tmp_path)
    monkeypatch.setattr(corrections, "FEEDBACK_MAX_BYTES", 14_000)
    store = FeedbackStore(tmp_path)
    pushed = old / "x.png"
    store.scheduler = SimpleNamespace(last_uploaded={pushed.resolve(): pushed.stat().st_mtime}, lock=store._lock)
    store.save(*seven, label="7", model="m")
    assert not old.exists() and len(read_corrections(tmp_path)) == 1


def test_the_cap_holds_within_the_current_hour(tmp_path, seven, monkeypatch):
    monkeypatch.setattr(corrections, "FEEDBACK_MAX_BYTES", 20_000)
    store, kept = FeedbackStore(tmp_path), 0
    with pytest.raises(FeedbackError, match="full"):
        for i in range(100):
            shifted = seven[0].transform(seven[0].size, 0, (1, 0, -i, 0, 1, 0))  # another drawing each time
            store.save(shifted, seven[1], label="7", model="m", address=f"10.1.{i}.1")
            kept += 1
    total = sum(f.stat().st_size for f in tmp_path.rglob("*") if f.is_file())
    assert 0 < kept < 100 and total <= 20_000


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
    value = sketch(handle_file(str(path)))
    before = len(read_corrections(feedback_dir))
    saved = client.predict(value, None, "1", api_name="/report")
    assert saved["saved"] == "1" and (feedback_dir / saved["file"]).is_file()
    other = tmp_path / "crossed.png"
    draw_strokes(STROKES["7_crossed"], size=(400, 400), width=20).save(other)
    assert client.predict(None, handle_file(str(other)), "7", api_name="/report")["saved"] == "7"
    assert len(read_corrections(feedback_dir)) == before + 2
    # The same drawing again from the same visitor: its row takes the new label, no second row.
    assert client.predict(None, handle_file(str(path)), "7", api_name="/report")["file"] == saved["file"]
    assert len(read_corrections(feedback_dir)) == before + 2
    with pytest.raises(Exception, match="unknown label"):
        client.predict(value, None, "11", api_name="/report")


def test_a_poisoned_corrections_folder_is_screened_before_training(tmp_path, recognizer, mnist_sample):
    import numpy as np
    from PIL import Image

    from digitrec.corrections import load_corrections, screen_corrections

    x, y = mnist_sample
    store = FeedbackStore(tmp_path)
    digits = [Image.fromarray(d) for d in x[:60]]
    results = [recognizer.recognize(d) for d in digits]
    # One address floods 40 wrong labels (a new session each time, one a second, past the rate limit).
    for i in range(40):
        store._recent.clear()
        wrong = str((y[i] + 1) % 10)
        store.save(digits[i], results[i], label=wrong, model="m", session=f"s{i}", address="203.0.113.66")
    # Twenty real visitors correct one digit each with its right label.
    for i in range(40, 60):
        store.save(digits[i], results[i], label=str(y[i]), model="m", session=f"v{i}", address=f"198.51.100.{i}")
    # Two visitors agree on a label the model does not back: they are kept, as each other's support.
    for address in ("192.0.2.1", "192.0.2.2"):
        store.save(digits[0], results[0], label="not a digit", model="m", address=address)
    rows, _ = load_corrections(str(tmp_path))
    probs = recognizer.probabilities(np.stack([r["x"] for r in rows]))
    kept, report = screen_corrections(rows, probs, per_origin=20, top=3)
    flooder = rows[0]["origin"]
    from_flood = [r for r in kept if r["origin"] == flooder]
    assert report["read"] == 62 and report["kept"] == len(kept) == len(from_flood) + 22
    assert report["quarantined"] + report["over_origin_cap"] + len(from_flood) == 40 and len(from_flood) <= 2
    visitors = [r for r in kept if r["origin"] != flooder and r["label"] != "not a digit"]
    assert [r["label"] for r in visitors] == [str(label) for label in y[40:60]]
    assert [r["label"] for r in kept if r["label"] == "not a digit"] == ["not a digit"] * 2


def test_one_origin_adds_at_most_its_cap_even_with_right_labels(recognizer, mnist_sample):
    from digitrec.corrections import screen_corrections
    from digitrec.preprocess import from_uint8

    x, y = mnist_sample
    rows = [{"origin": "a", "label": str(label), "x": from_uint8(d)} for d, label in zip(x[:30], y[:30], strict=True)]
    rows.append(dict(rows[0]))  # a repeat of the first
    kept, report = screen_corrections(rows, recognizer.probabilities(from_uint8(x[:31])), per_origin=20, top=3)
    assert len(kept) == 20 and report["over_origin_cap"] == 10 and report["duplicates"] == 1


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
            result = recognizer.recognize(mirrored)
            store.save(mirrored, result, label=str(label), model="m", session=f"{i}-{shift}", address=f"{i}-{shift}")
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
        **NO_RENDERINGS,
        real_pen=0,
        extra_top=0,  # a hand the model cannot read yet: its labels are outside the model's top 3 by design
        out=str(tmp_path / "tuned"),
    )
    train(cfg, data=((x, y), (x, y)))
    report = read_info(tmp_path / "tuned")["training"]["corrections"]
    assert report["held_out"] >= 20 and report["revision"] == "local folder"
    assert report["after"]["held_out_corrections"] >= report["before"]["held_out_corrections"] + 0.3
    # 160 MNIST digits here, not 54,000, so some forgetting shows: this only guards against a collapse.
    assert report["after"]["mnist_test"] >= 0.85
