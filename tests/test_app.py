"""The app's API through real HTTP: gradio_client and the raw /gradio_api/call routes."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import httpx
import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from digitrec.render import STROKES, draw_strokes, render_on_canvas
from tests.conftest import sketch


@pytest.fixture(scope="module")
def client(server_url):
    return Client(server_url + "/", verbose=False)


def save(img: Image.Image, path) -> str:
    img.save(path)
    return str(path)


def drawn(path: str) -> dict:
    """The value the Sketchpad sends for a drawing file: the drawing is the composite."""
    return sketch(handle_file(path))


def check_label(result: dict, digit: str) -> None:
    assert result["label"] == digit
    confidences = {c["label"]: c["confidence"] for c in result["confidences"]}
    assert sorted(confidences) == [str(d) for d in range(10)]
    assert sum(confidences.values()) == pytest.approx(1.0, abs=1e-6)


def test_predict_answers_a_transparent_sketchpad_drawing(client, tmp_path):
    img = draw_strokes(
        STROKES["1_flag"], size=(400, 400), width=20, ink=(0, 0, 0, 255), paper=(0, 0, 0, 0), mode="RGBA"
    )
    check_label(client.predict(drawn(save(img, tmp_path / "d.png")), api_name="/predict"), "1")


def test_predict_recognizes_mnist_digits_on_a_canvas(client, tmp_path, mnist_sample):
    x, y = mnist_sample
    rng = np.random.default_rng(3)
    for i in range(0, 200, 40):
        img = render_on_canvas(x[i], rng, canvas=400, style="transparent")
        check_label(client.predict(drawn(save(img, tmp_path / f"{i}.png")), api_name="/predict"), str(y[i]))


def test_predict_image_takes_a_photo_like_file(client, tmp_path, mnist_sample):
    x, y = mnist_sample
    rng = np.random.default_rng(4)
    img = render_on_canvas(x[11], rng, canvas=900, style="blue_on_cream").convert("RGB")
    check_label(client.predict(handle_file(save(img, tmp_path / "photo.jpg")), api_name="/predict_image"), str(y[11]))


def corrupt_png(tmp_path) -> str:
    buf = io.BytesIO()
    Image.new("L", (300, 300), 255).save(buf, format="PNG")
    path = tmp_path / "corrupt.png"
    path.write_bytes(buf.getvalue()[:60])
    return str(path)


def bomb_png(tmp_path) -> str:
    path = tmp_path / "bomb.png"
    Image.new("1", (7000, 7000), 1).save(path)  # a few kB on disk, 49 MP decoded
    return str(path)


@pytest.mark.parametrize(
    "make_args, api_name, message",
    [
        (lambda t: (sketch(),), "/predict", "no digit found"),
        (
            lambda t: (drawn(save(Image.new("RGBA", (400, 400), "white"), t / "erased.png")),),
            "/predict",
            "no digit found",
        ),
        (
            lambda t: (handle_file(save(Image.new("RGB", (64, 64), "white"), t / "blank.png")),),
            "/predict_image",
            "no digit found",
        ),
        (
            lambda t: (handle_file(str((t / "notes.txt").write_text("hello") and t / "notes.txt")),),
            "/predict_image",
            "not a readable image",
        ),
        (lambda t: (handle_file(corrupt_png(t)),), "/predict_image", "not a readable image"),
        (lambda t: (handle_file(bomb_png(t)),), "/predict_image", "limit"),
        (lambda t: ("just a string",), "/predict", "validation error"),
    ],
    ids=["empty canvas", "erased canvas", "blank upload", "text file", "corrupt png", "over pixel limit", "bad dict"],
)
def test_bad_input_gets_a_clear_error_and_the_server_keeps_serving(client, tmp_path, make_args, api_name, message):
    with pytest.raises(Exception, match=message):
        client.predict(*make_args(tmp_path), api_name=api_name)
    img = draw_strokes(STROKES["3"], size=(400, 400), width=20)
    check_label(client.predict(handle_file(save(img, tmp_path / "ok.png")), api_name="/predict_image"), "3")


def test_uploads_over_the_size_limit_are_refused(client, server_url, tmp_path):
    big = tmp_path / "big.png"
    big.write_bytes(b"\x89PNG" + bytes(11 * 1024 * 1024))
    with open(big, "rb") as f:
        r = httpx.post(server_url + "/gradio_api/upload", files={"files": ("big.png", f, "image/png")}, timeout=60)
    assert r.status_code == 413 and "size" in r.text.lower()
    img = draw_strokes(STROKES["2"], size=(400, 400), width=20)
    check_label(client.predict(handle_file(save(img, tmp_path / "ok.png")), api_name="/predict_image"), "2")


def call_route(server_url: str, api_name: str, data: list, session: str | None = None) -> tuple[str, object]:
    """What the README's curl example does: POST /gradio_api/call/NAME, then read the event stream."""
    body = {"data": data} if session is None else {"data": data, "session_hash": session}
    r = httpx.post(f"{server_url}/gradio_api/call/{api_name}", json=body, timeout=30)
    r.raise_for_status()
    event_id = r.json()["event_id"]
    stream = httpx.get(f"{server_url}/gradio_api/call/{api_name}/{event_id}", timeout=30).text
    lines = stream.strip().splitlines()
    event = [line for line in lines if line.startswith("event:")][-1].split(":", 1)[1].strip()
    payload = json.loads([line for line in lines if line.startswith("data:")][-1].split(":", 1)[1])
    return event, payload


def test_curl_routes_round_trip(server_url, tmp_path):
    path = save(draw_strokes(STROKES["7_crossed"], size=(400, 400), width=20), tmp_path / "seven.png")
    with open(path, "rb") as f:
        uploaded = httpx.post(server_url + "/gradio_api/upload", files={"files": f}, timeout=30).json()[0]
    file_data = {"path": uploaded, "meta": {"_type": "gradio.FileData"}}
    event, payload = call_route(server_url, "predict_image", [file_data])
    assert event == "complete" and payload[0]["label"] == "7"
    event, payload = call_route(server_url, "predict", [sketch(file_data)])
    assert event == "complete" and payload[0]["label"] == "7"
    event, payload = call_route(server_url, "predict", [sketch()])
    assert event == "error" and "no digit found" in json.dumps(payload)


def test_curl_calls_can_keep_one_session(server_url, tmp_path):
    # The README's tip for scripts: the same session_hash on every call, good and bad ones alike.
    path = save(draw_strokes(STROKES["4_open"], size=(400, 400), width=20), tmp_path / "four.png")
    with open(path, "rb") as f:
        uploaded = httpx.post(server_url + "/gradio_api/upload", files={"files": f}, timeout=30).json()[0]
    four = sketch({"path": uploaded, "meta": {"_type": "gradio.FileData"}})
    for data in (four, sketch(), four):
        event, payload = call_route(server_url, "predict", [data], session="my-script")
        if data["composite"] is None:
            assert event == "error" and "no digit found" in json.dumps(payload)
        else:
            assert event == "complete" and payload[0]["label"] == "4"


@pytest.mark.slow
def test_the_server_process_is_tuned_and_tests_are_not():
    # tune_process() changes the whole interpreter, so only `python app.py` calls it, in its own process.
    code = (
        "import sys, gc; from digitrec.serving import tune_process; before = sys.getswitchinterval(); "
        "tune_process(); print(before, sys.getswitchinterval(), gc.get_freeze_count() > 0, "
        "sys.modules.get('matplotlib', 'absent'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["0.005", "0.0005", "True", "None"]
    assert sys.getswitchinterval() == 0.005  # this test process, which runs the app too, is left alone


def test_api_page_lists_the_seven_endpoints(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    old = {"/predict", "/predict_image", "/predict_number", "/recognize", "/report"}
    assert set(endpoints) == old | {"/read_digit", "/read_number"}


def test_predict_number_reads_digits_side_by_side(client, tmp_path, mnist_sample):
    from digitrec.render import render_number

    x, y = mnist_sample
    rng = np.random.default_rng(5)
    picks = [3, 47, 101, 150]
    img = render_number(x[picks], rng, style="transparent")
    result = client.predict(drawn(save(img, tmp_path / "number.png")), api_name="/predict_number")
    assert result["number"] == "".join(str(y[i]) for i in picks)
    assert len(result["digits"]) == 4 and all(len(d) == 10 for d in result["digits"])
    with pytest.raises(Exception, match="no digit"):
        client.predict(sketch(), api_name="/predict_number")


def test_recognize_endpoint_gives_a_verdict(client, tmp_path):
    digit = client.predict(drawn(save(draw_strokes(STROKES["3"]), tmp_path / "3.png")), api_name="/recognize")
    assert digit["is_digit"] is True and digit["digit"] == "3"
    assert len(digit["probabilities"]) == 10
    from digitrec.nondigits import render_shape

    grid = client.predict(
        drawn(save(render_shape("grid", np.random.default_rng(0)), tmp_path / "grid.png")), api_name="/recognize"
    )
    assert grid["is_digit"] is False and grid["digit"] is None
    assert sum(grid["probabilities"].values()) == pytest.approx(1.0)
