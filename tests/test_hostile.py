"""A public Space meets clumsy and hostile input: every limit holds before decoding, memory and disk
stay bounded, bad model references are one clear error, and the server keeps serving."""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from gradio_client import Client, handle_file
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image, ImageFile

from digitrec import Recognizer, WeightsNotFoundError
from digitrec.cache import sweep_cache
from digitrec.errors import EmptyImageError, ImageTooLargeError, InvalidImageError, PreprocessError
from digitrec.limits import MAX_LAYERS, MAX_NUMBER_DIGITS, MAX_PIXELS, MAX_UPLOAD_FILES
from digitrec.preprocess import normalize
from digitrec.render import STROKES, draw_strokes
from digitrec.serving import load_for_app
from digitrec.weights import WEIGHTS
from tests.conftest import sketch

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> str:
    """An 8900x8900 1-bit PNG: about 10 KB on disk, 79 MP (317 MB as RGBA) once decoded."""
    path = tmp_path_factory.mktemp("bombs") / "layer.png"
    Image.new("1", (8900, 8900), 0).save(path, optimize=True)
    assert path.stat().st_size < 100_000
    return str(path)


@pytest.fixture(scope="module")
def digit_png(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("digits") / "three.png"
    draw_strokes(STROKES["3"], size=(400, 400), width=20).save(path)
    return str(path)


@pytest.fixture
def no_decoding(monkeypatch):
    """Fails the test if any image file's pixels are decoded."""

    def refuse(self):
        raise AssertionError(f"decoded a {self.size} image")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)


# ---- the library: limits before decoding, documented errors only ---------------------------------


def test_too_many_layers_are_refused_before_any_is_decoded(bomb, digit_png, no_decoding):
    value = sketch(digit_png, layers=[bomb] * (MAX_LAYERS + 4))
    with pytest.raises(InvalidImageError, match=f"at most {MAX_LAYERS} layers"):
        normalize(value)


def test_layers_over_the_request_budget_are_refused_before_any_is_decoded(tmp_path, no_decoding):
    path = tmp_path / "25mp.png"
    Image.new("1", (5000, 5000), 0).save(path)  # each under the per-image limit, together over the budget
    with pytest.raises(ImageTooLargeError, match="together"):
        normalize({"background": str(path), "layers": [str(path)], "composite": None})


def test_an_oversized_composite_is_refused_before_decoding(bomb, no_decoding):
    with pytest.raises(ImageTooLargeError, match=f"limit (is|of) {MAX_PIXELS:,}"):
        normalize(sketch({"path": bomb}))


def test_a_number_wider_than_the_limit_is_refused_before_the_model_runs(recognizer):
    digits = MAX_NUMBER_DIGITS + 4
    img = draw_strokes(
        [[(i / digits + 0.01, 0.2), (i / digits + 0.04, 0.8)] for i in range(digits)],
        size=(200 * digits, 300),
        width=20,
    )
    with pytest.raises(InvalidImageError, match=f"at most {MAX_NUMBER_DIGITS}"):
        recognizer.predict_number(img)


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.array([["a", "b"], ["c", "d"]]), "dtype"),
        (np.empty((28, 28), object), "dtype"),
        (np.full((28, 28), -5, np.int16), "0-255"),
        (np.full((28, 28), -0.5, np.float32), "negative"),
        ("x" * 1_000_000, "cannot open"),
    ],
    ids=["strings", "objects", "negative int16", "negative float", "1 MB path"],
)
def test_odd_values_raise_the_documented_error_with_a_short_message(bad, message):
    with pytest.raises(InvalidImageError, match=message) as info:
        normalize(bad)
    assert len(str(info.value)) < 300


def test_float_and_16_bit_images_are_scaled_by_their_range(mnist_sample):
    digit = mnist_sample[0][0]
    reference = normalize(digit)
    as_float = Image.fromarray(digit.astype(np.float32) / 255, mode="F")  # PIL mode "F", values in 0-1
    for value in (as_float, digit.astype(np.uint16) * 257, digit.astype(np.int16), digit.astype(np.int32)):
        np.testing.assert_allclose(normalize(value), reference, atol=0.01)


blank_values = st.one_of(
    st.integers(0, 255).map(lambda v: np.full((32, 48), v, np.uint8)),
    st.floats(0, 1).map(lambda v: np.full((40, 40), v, np.float32)),
    st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255)).map(
        lambda c: Image.new("RGB", (60, 30), c)
    ),
    st.integers(0, 255).map(lambda a: Image.new("RGBA", (50, 50), (0, 0, 0, 0))),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blank_values)
def test_fuzz_a_blank_image_is_never_a_digit(value):
    with pytest.raises(EmptyImageError):
        normalize(value)


arrays = hnp.arrays(
    dtype=st.sampled_from([np.uint8, np.uint16, np.int16, np.int32, np.float32, np.float64, np.bool_]),
    shape=st.one_of(
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=40),
        st.tuples(st.integers(1, 30), st.integers(1, 30), st.sampled_from([1, 2, 3, 4, 5])),
        hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=6),
    ),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        arrays,
        st.binary(max_size=200),
        st.text(max_size=50),
        st.integers(),
        st.none(),
        st.dictionaries(
            st.sampled_from(["composite", "layers", "background", "x"]),
            st.one_of(st.none(), st.text(max_size=10), st.lists(st.none(), max_size=3)),
        ),
    )
)
def test_fuzz_normalize_only_raises_documented_errors(value):
    try:
        out = normalize(value)
    except PreprocessError:
        return
    assert out.shape == (28, 28) and out.dtype == np.float32 and np.isfinite(out).all()
    assert out.max() == pytest.approx(1.0)


# ---- model references: one clear error, or the promised fallback --------------------------------


def _broken_folder(tmp_path, name: str, content: bytes | str) -> Path:
    folder = tmp_path / "model"
    folder.mkdir()
    for f in WEIGHTS.iterdir():
        if f.is_file():  # the files a model folder holds, not an empty folder a run may leave
            (folder / f.name).write_bytes(f.read_bytes())
    (folder / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    return folder


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("calibration.npz", b"not an npz at all", "calibration.npz is not a digitrec calibration"),
        ("training.json", "{not json", "training.json is not readable JSON"),
        ("training.json", json.dumps({"class_names": ["a", "b"]}), "class_names must be 10 different strings"),
        ("training.json", json.dumps({"class_names": ["7"] * 10}), "class_names must be 10 different strings"),
        ("training.json", json.dumps({"class_names": ["x" * 2**20, *"123456789"]}), "of 1-32 characters"),
        ("model.weights.h5", (WEIGHTS / "model.weights.h5").read_bytes()[:100_000], "truncated"),
        ("model.tflite", (WEIGHTS / "model.tflite").read_bytes()[:100_000], "is not a digitrec LiteRT model"),
    ],
    ids=[
        "calibration not npz",
        "training.json not json",
        "two class names",
        "one name ten times",
        "1 MB name",
        "cut weights",
        "cut export",
    ],
)
def test_a_broken_model_folder_is_named_in_the_error(tmp_path, name, content, message):
    with pytest.raises(WeightsNotFoundError, match=message):
        Recognizer.load(_broken_folder(tmp_path, name, content))


def test_a_pickled_calibration_is_refused(tmp_path):
    folder = _broken_folder(tmp_path, "training.json", (WEIGHTS / "training.json").read_text())
    np.savez(folder / "calibration.npz", temperature=np.array([{"x": 1}], dtype=object))
    with pytest.raises(WeightsNotFoundError, match="pickled"):
        Recognizer.load(folder)


def test_a_keras_config_with_a_lambda_layer_is_refused(tmp_path):
    folder = _broken_folder(tmp_path, "metadata.json", (WEIGHTS / "metadata.json").read_text())
    config = json.loads((folder / "config.json").read_text())
    config["config"]["layers"].append(
        {
            "module": "keras.layers",
            "class_name": "Lambda",
            "registered_name": None,
            "config": {
                "name": "evil",
                "function": {
                    "class_name": "__lambda__",
                    "config": {"code": "print('pwned')", "defaults": None, "closure": None},
                },
            },
            "inbound_nodes": [],
        }
    )
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(WeightsNotFoundError, match="could not be loaded"):
        Recognizer.load(folder, backend="keras")  # LiteRT never reads config.json


def test_a_bad_model_environment_setting_falls_back_to_the_bundled_weights(capsys):
    rec = load_for_app(configured="hf://../..")
    assert rec.source == str(WEIGHTS)
    assert "serving the bundled weights" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("model", ["hf://../..", "/nonexistent/model"])
def test_a_bad_model_option_is_one_error_line_and_exit_1(model):
    run = subprocess.run(
        [sys.executable, "app.py", "--model", model],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert run.stderr.strip().splitlines()[-1].startswith("error: ")


# ---- the running server -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(server_url):
    return Client(server_url + "/", verbose=False)


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


class PeakRSS:
    """Samples this process's resident memory (the test server runs in it) while the block runs."""

    def __enter__(self):
        self.start, self.peak, self._stop = _rss_mb(), _rss_mb(), threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_mb())
            time.sleep(0.005)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    @property
    def growth(self) -> float:
        return self.peak - self.start


def _upload(server_url: str, path) -> dict:
    """``path`` uploaded as a client does it, as the FileData a call then names."""
    with open(path, "rb") as f:
        uploaded = httpx.post(server_url + "/gradio_api/upload", files={"files": f}, timeout=30).json()[0]
    return {"path": uploaded, "meta": {"_type": "gradio.FileData"}}


def _predict_ok(client, digit_png):
    result = client.predict(sketch(handle_file(digit_png)), api_name="/predict")
    assert result["label"] == "3"


def test_layer_bombs_are_refused_at_a_small_cost(client, bomb, digit_png):
    value = sketch(handle_file(digit_png), layers=[handle_file(bomb)] * 8)
    client.predict(sketch(handle_file(digit_png)), api_name="/predict")
    with PeakRSS() as rss:
        for api_name in ("/predict", "/recognize", "/predict_number"):
            with pytest.raises(Exception, match=f"at most {MAX_LAYERS} layers"):
                client.predict(value, api_name=api_name)
    assert rss.growth < 50, f"{rss.growth:.0f} MB"
    _predict_ok(client, digit_png)


def test_concurrent_oversized_composites_are_refused_at_a_small_cost(client, bomb, digit_png):
    value = sketch(handle_file(bomb))
    client.predict(sketch(handle_file(digit_png)), api_name="/predict")

    def call(_):
        try:
            client.predict(value, api_name="/predict")
        except Exception as exc:
            return str(exc)
        return "accepted"

    with PeakRSS() as rss, concurrent.futures.ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(call, range(12)))
    assert all(f"limit is {MAX_PIXELS:,}" in a or f"limit of {MAX_PIXELS:,}" in a for a in answers), answers[:2]
    assert rss.growth < 100, f"{rss.growth:.0f} MB"
    _predict_ok(client, digit_png)


def test_a_plain_file_sent_to_predict_points_to_predict_image(server_url, digit_png):

    uploaded = _upload(server_url, digit_png)
    r = httpx.post(f"{server_url}/gradio_api/call/predict", json={"data": [uploaded]}, timeout=30)
    assert r.status_code == 422 and "/predict_image" in r.text


def test_an_unreadable_file_in_a_sketchpad_gets_a_clear_message(client, tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("not an image")
    with pytest.raises(Exception, match="not a readable image") as info:
        client.predict(sketch(handle_file(str(path))), api_name="/predict")
    assert "Could not preprocess" not in str(info.value) and str(tmp_path) not in str(info.value)


@pytest.mark.parametrize("path", ["/etc/passwd", "../../../../etc/passwd", "some/relative.png", "a\x00b"])
def test_paths_outside_the_cache_are_refused_without_naming_server_paths(server_url, path):
    value = sketch({"path": path, "meta": {"_type": "gradio.FileData"}})
    r = httpx.post(f"{server_url}/gradio_api/call/predict", json={"data": [value]}, timeout=30)
    assert r.status_code == 400 and "/gradio_api/upload" in r.text
    assert "root:" not in r.text and str(ROOT) not in r.text and "null byte" not in r.text
    for path in ("/etc/passwd", "../../../../etc/passwd"):
        r = httpx.get(f"{server_url}/gradio_api/file={path}", timeout=10)
        assert r.status_code in (403, 404) and "root:" not in r.text


def test_uploads_with_too_many_files_are_refused(server_url, client, digit_png):
    files = [("files", (f"{i}.png", b"\x89PNG" + bytes(100), "image/png")) for i in range(MAX_UPLOAD_FILES + 1)]
    r = httpx.post(server_url + "/gradio_api/upload", files=files, timeout=30)
    assert r.status_code == 413 and "too many files" in r.text
    many = [("files", (f"{i}.png", b"x", "image/png")) for i in range(200)]
    assert httpx.post(server_url + "/gradio_api/upload", files=many, timeout=30).status_code == 413
    _predict_ok(client, digit_png)


def test_hostile_upload_filenames_stay_inside_the_cache(server_url):
    from gradio.utils import get_upload_folder

    r = httpx.post(
        server_url + "/gradio_api/upload",
        files={"files": ("../../../../tmp/evil.png", b"\x89PNG" + bytes(10), "image/png")},
        timeout=30,
    )
    stored = Path(r.json()[0]).resolve()
    assert stored.is_relative_to(Path(get_upload_folder()).resolve())


def test_a_sketchpad_blob_with_a_huge_layer_index_is_refused(server_url, client, digit_png):
    data = {
        "component_id": "1",
        "session_hash": "s",
        "fn_name": "accept_blobs",
        "type": "layer",
        "index": str(10**9),
        "id": "x",
    }
    r = httpx.post(
        server_url + "/gradio_api/component_server",
        data=data,
        files={"file": ("blob", b"\x89PNG" + bytes(10), "image/png")},
        timeout=30,
    )
    assert r.status_code == 400 and f"at most {MAX_LAYERS} layers" in r.text
    _predict_ok(client, digit_png)


def test_the_cache_sweep_expires_old_files_and_keeps_under_its_cap(tmp_path):
    import gradio as gr

    with gr.Blocks() as blocks:
        kept = gr.Image()
    now = time.time()
    paths = []
    for i, age in enumerate([3600, 30, 20, 10, 0]):
        path = tmp_path / f"h{i}" / "f.png"
        path.parent.mkdir()
        path.write_bytes(bytes(1000))
        os.utime(path, (now - age, now - age))
        paths.append(path)
    kept.keep_in_cache.add(str(paths[0]))  # an example's file: Gradio must keep it
    assert sweep_cache(blocks, tmp_path, max_age_s=600, max_bytes=3500) == 1  # over the cap: the oldest goes
    assert paths[0].exists() and not paths[1].exists() and all(p.exists() for p in paths[2:])
    assert not paths[1].parent.exists()
    sweep_cache(blocks, tmp_path, max_age_s=15, max_bytes=10**9)
    assert [p.exists() for p in paths] == [True, False, False, True, True]


def test_heavy_endpoints_get_their_own_small_worker_group(recognizer):
    import gradio as gr

    import app

    demo = app.build_app(recognizer)
    groups = {fn.api_name: (fn.concurrency_id, fn.concurrency_limit) for fn in demo.fns.values()}
    assert groups["predict"] == groups["predict_image"] == groups["recognize"]
    assert groups["predict_number"][0] != groups["predict"][0] and groups["predict_number"][1] == 1
    # Every listener that takes a drawing or an upload gets Gradio's raw payload: nothing is decoded
    # before the limits (a gr.File is only a path).
    takes_images = [fn for fn in demo.fns.values() if any(isinstance(b, (gr.Sketchpad, gr.Image)) for b in fn.inputs)]
    assert len(takes_images) >= 8 and not any(fn.preprocess for fn in takes_images)


@pytest.mark.slow  # waits past uvicorn's default keep-alive
def test_an_idle_keep_alive_connection_outlives_a_client_pool_expiry(server_url):
    # httpx drops pooled connections after 5 s idle, uvicorn's own default: reusing one just as the
    # server closes it was a connection reset under load. The server now keeps them far longer.
    import socket
    from urllib.parse import urlparse

    address = urlparse(server_url)
    request = f"GET /gradio_api/info HTTP/1.1\r\nHost: {address.hostname}\r\n\r\n".encode()
    with socket.create_connection((address.hostname, address.port), timeout=10) as conn:
        conn.sendall(request)
        assert conn.recv(65536).startswith(b"HTTP/1.1 200")
        time.sleep(6)
        conn.sendall(request)
        assert conn.recv(65536).startswith(b"HTTP/1.1 200")


@pytest.mark.parametrize("body", [{"data": []}, {}, {"data": None}])
def test_a_call_without_its_input_says_what_to_send(server_url, body):
    r = httpx.post(f"{server_url}/gradio_api/call/predict", json=body, timeout=30)
    assert r.status_code == 422 and "Sketchpad value" in r.text and "gradio.templates" not in r.text


def test_a_huge_call_body_is_refused_and_a_long_path_is_not_echoed(server_url):
    r = httpx.post(f"{server_url}/gradio_api/call/predict", json={"data": ["x" * 2_000_000]}, timeout=30)
    assert r.status_code == 413
    path = {"path": "/x" * 5_000, "meta": {"_type": "gradio.FileData"}}
    r = httpx.post(f"{server_url}/gradio_api/call/predict_image", json={"data": [path]}, timeout=30)
    assert r.status_code == 400 and "characters" in r.text and len(r.text) < 300


@pytest.mark.slow  # 300 calls at once, then the queue drains
def test_calls_past_the_queue_are_refused_cleanly_and_the_server_keeps_serving(
    server_url, client, digit_png, monkeypatch
):
    import asyncio

    monkeypatch.setenv("DIGITREC_RATE_LIMITS", "off")  # many visitors at once: the queue itself must hold

    from digitrec.limits import QUEUE_SIZE

    number = Path(digit_png).with_name("number.png")
    draw_strokes([[(i / 8 + 0.02, 0.2), (i / 8 + 0.08, 0.8)] for i in range(8)], size=(1600, 300), width=20).save(
        number
    )
    uploaded = _upload(server_url, number)
    data = {"data": [sketch(uploaded)]}

    async def flood() -> list[int]:
        async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=400)) as http:
            calls = [
                http.post(f"{server_url}/gradio_api/call/predict_number", json=data) for _ in range(QUEUE_SIZE + 44)
            ]
            return [r.status_code for r in await asyncio.gather(*calls)]

    statuses = asyncio.run(flood())
    assert set(statuses) <= {200, 503} and statuses.count(503) >= 1, sorted(set(statuses))
    _predict_ok(client, digit_png)


# ---- parse, then check: spellings, idle bodies, floods, state -------------------------------------


def _raw_post(server_url: str, path: str, head: bytes, body: bytes = b"", read: bool = True) -> bytes:
    """A hand-written HTTP request on a fresh socket (the spellings httpx would normalize stay as sent)."""
    import socket
    from urllib.parse import urlparse

    url = urlparse(server_url)
    sock = socket.create_connection((url.hostname, url.port), timeout=30)
    sock.sendall(b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n" + head + b"\r\n" + body)
    if not read:
        return sock
    reply = b""
    while not _complete(reply):
        chunk = sock.recv(65536)
        if not chunk:
            break
        reply += chunk
    sock.close()
    return reply


def _complete(reply: bytes) -> bool:
    """Whether ``reply`` holds a whole response: its headers and as many body bytes as they announce (the
    body may come in a later packet than the headers, as it does on a busy machine)."""
    head, sep, body = reply.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return True


def _form(fields: list[tuple[bytes, bytes]], boundary: bytes = b"b0und") -> tuple[bytes, bytes]:
    body = b"".join(
        b"--" + boundary + b"\r\n" + disposition + b"\r\n\r\n" + value + b"\r\n" for disposition, value in fields
    )
    body += b"--" + boundary + b"--\r\n"
    head = b"Content-Type: multipart/form-data; boundary=" + boundary + b"\r\nContent-Length: %d\r\n" % len(body)
    return head, body


@pytest.mark.parametrize("spelling", [b'name="index"', b'Name="index"', b'NAME="index"', b"name=index"])
def test_a_layer_index_is_refused_however_its_field_name_is_spelled(server_url, client, digit_png, spelling):
    fields = [
        (b'Content-Disposition: form-data; name="component_id"', b"1"),
        (b'Content-Disposition: form-data; name="session_hash"', b"s"),
        (b'Content-Disposition: form-data; name="fn_name"', b"accept_blobs"),
        (b'Content-Disposition: form-data; name="type"', b"layer"),
        (b"content-disposition: form-data; " + spelling, b"20000000"),
        (b'Content-Disposition: form-data; name="id"', b"x"),
        (b'Content-Disposition: form-data; name="file"; filename="blob"\r\nContent-Type: image/png', b"\x89PNG"),
    ]
    head, body = _form(fields)
    with PeakRSS() as rss:
        reply = _raw_post(server_url, "/gradio_api/component_server", head, body)
    assert reply.startswith(b"HTTP/1.1 400") and f"at most {MAX_LAYERS} layers".encode() in reply
    assert rss.growth < 50, f"{rss.growth:.0f} MB"
    _predict_ok(client, digit_png)


@pytest.mark.parametrize("spelling", [b"filename", b"FileName", b"FILENAME"])
def test_files_are_counted_however_their_header_is_spelled(server_url, spelling):
    fields = [
        (b'Content-Disposition: form-data; name="files"; ' + spelling + b'="%d.png"' % i, b"x") for i in range(200)
    ]
    reply = _raw_post(server_url, "/gradio_api/upload", *_form(fields))
    assert reply.startswith(b"HTTP/1.1 413") and b"too many files" in reply


def test_the_blob_store_is_bounded_by_entries_and_inserts_stay_cheap():
    from gradio.components.image_editor import EditorDataBlobs

    from digitrec.limits import BLOB_STORE_ENTRIES
    from digitrec.payloads import BlobStore

    store = BlobStore()
    for i in range(BLOB_STORE_ENTRIES * 3):
        store[i] = EditorDataBlobs(background=None, layers=[b"x" * 10], composite=b"y" * 10)
    assert len(store) == BLOB_STORE_ENTRIES and 0 not in store and BLOB_STORE_ENTRIES * 3 - 1 in store
    assert store.pop(BLOB_STORE_ENTRIES * 3 - 1) is not None and len(store._sizes) == len(store)


def test_idle_upload_sockets_claim_nothing_and_are_cut_off(server_url, client, digit_png, monkeypatch):
    from digitrec import bounds

    monkeypatch.setattr(bounds, "BODY_IDLE_S", 2.0)
    head = b"Content-Type: multipart/form-data; boundary=b0und\r\nContent-Length: 33554432\r\n"
    idle = [_raw_post(server_url, "/gradio_api/upload", head, read=False) for _ in range(4)]
    try:
        with open(digit_png, "rb") as f:
            r = httpx.post(server_url + "/gradio_api/upload", files={"files": f}, timeout=30)
        assert r.status_code == 200, r.text  # four 32 MB claims that send nothing hold none of the budget
        _predict_ok(client, digit_png)
        idle[0].settimeout(10)
        assert idle[0].recv(4096).startswith(b"HTTP/1.1 408")  # and they are cut off
    finally:
        for sock in idle:
            sock.close()


def test_every_route_caps_its_body_and_its_values(server_url, client, digit_png):
    session = {"fn_index": 0, "session_hash": "big", "event_data": None, "trigger_id": 1}
    block = b"x" * 2**20  # a 100 MB body is sent as this block again and again, never built whole
    with PeakRSS() as rss:
        head = b"Content-Type: application/json\r\nContent-Length: %d\r\n" % (100 * 2**20)
        for route in ("/gradio_api/queue/join", "/gradio_api/call/report"):
            assert _raw_post(server_url, route, head, b'{"data": ["' + block).startswith(b"HTTP/1.1 413")
        assert _raw_post(server_url, "/gradio_api/run/predict", head, b'{"data": ["' + block).startswith(
            b"HTTP/1.1 413"
        )
        undeclared = httpx.post(server_url + "/gradio_api/queue/join", content=iter([b'{"data": ["'] + [block] * 100))
        assert undeclared.status_code == 413  # chunked, with no length to refuse it by
        label = {"data": [None, None, "x" * 60_000], **session}  # under the body cap, over the value cap
        r = httpx.post(server_url + "/gradio_api/queue/join", json=label, timeout=30)
        assert r.status_code == 400 and "characters" in r.text and len(r.text) < 300
    assert rss.growth < 50, f"{rss.growth:.0f} MB"
    _predict_ok(client, digit_png)


def test_run_serves_only_the_pages_unqueued_events(server_url, digit_png):
    # /gradio_api/run/ skips the queue: an API endpoint called there would skip its workers and queue too.
    uploaded = _upload(server_url, digit_png)
    for name in ("read_digit", "predict_image"):
        r = httpx.post(f"{server_url}/gradio_api/run/{name}", json={"data": [uploaded]}, timeout=30)
        assert r.status_code == 404 and "/gradio_api/call/" in r.text


def test_deeply_nested_json_is_a_clear_400_and_the_connection_keeps_serving(server_url):
    deep = "[" * 2000 + "]" * 2000
    with httpx.Client(timeout=30) as http:
        body = '{"data": ' + deep + "}"
        r = http.post(
            server_url + "/gradio_api/call/predict", content=body, headers={"content-type": "application/json"}
        )
        assert r.status_code == 400 and "nested too deeply" in r.text
        assert http.get(server_url + "/gradio_api/info").status_code == 200  # the same keep-alive connection


def test_one_address_cannot_fill_the_queue_and_other_visitors_are_served(server_url, client, digit_png, monkeypatch):
    import asyncio

    from digitrec.limits import EVENT_BURST_PER_ADDRESS, QUEUE_SIZE

    uploaded = _upload(server_url, digit_png)
    value = sketch(uploaded)

    async def flood() -> list[int]:
        async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=400)) as http:
            calls = [
                http.post(f"{server_url}/gradio_api/call/predict", json={"data": [value], "session_hash": f"s{i}"})
                for i in range(QUEUE_SIZE + 44)
            ]
            return [r.status_code for r in await asyncio.gather(*calls)]

    statuses = asyncio.run(flood())
    # A burst is accepted, and what the bucket refilled while the flood was sent; heavy work an earlier test
    # queued may still fill the queue (503), but this address alone is refused long before it could.
    accepted = statuses.count(200)
    assert 429 in statuses and set(statuses) <= {200, 429, 503} and accepted < QUEUE_SIZE, (accepted, set(statuses))
    assert accepted <= EVENT_BURST_PER_ADDRESS + QUEUE_SIZE // 4
    time.sleep(0.5)
    _predict_ok(client, digit_png)


def test_a_new_session_per_report_does_not_lift_the_corrections_limit(server_url, feedback_dir, digit_png, monkeypatch):
    from digitrec.corrections import read_corrections
    from digitrec.limits import FEEDBACK_PER_MINUTE

    # One visitor behind a proxy that reports its address, as a Space's does.
    monkeypatch.setenv("DIGITREC_TRUST_PROXY", "1")
    visitor = {"X-Forwarded-For": "203.0.113.7, 10.0.0.1"}

    before = len(read_corrections(feedback_dir))
    saved = 0
    for i in range(3 * FEEDBACK_PER_MINUTE):
        img = draw_strokes(STROKES["3"], size=(400, 400), width=8 + i)  # another drawing each time
        path = Path(digit_png).with_name(f"report-{i}.png")
        img.save(path)
        c = Client(server_url + "/", verbose=False, headers=visitor)  # a new session each time
        try:
            c.predict(None, handle_file(str(path)), "3", api_name="/report")
            saved += 1
        except Exception as exc:
            assert "a minute" in str(exc)
    assert saved <= FEEDBACK_PER_MINUTE and len(read_corrections(feedback_dir)) - before == saved


def test_two_sweeps_at_once_do_not_crash_and_many_files_are_capped(tmp_path):
    import gradio as gr

    with gr.Blocks() as blocks:
        gr.Image()
    for i in range(300):
        folder = tmp_path / f"f{i}"
        folder.mkdir()
        (folder / "x.png").write_bytes(b"x")
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: sweep_cache(blocks, tmp_path, max_files=100), range(8)))
    assert sum(results) == 200 and len(list(tmp_path.rglob("*.png"))) == 100


def test_the_installable_app_serves_its_own_icon_in_two_sizes_only(server_url):
    # pwa=True: a phone's browser reads manifest.json to install the app. Gradio's /pwa_icon/N resizes the
    # icon to N×N for any N; 40000 would take the server gigabytes, so only the manifest's sizes are served.
    import io

    from digitrec.limits import PWA_ICON_SIZES
    from digitrec.serving import TITLE

    base = server_url.rstrip("/")
    manifest = httpx.get(f"{base}/manifest.json", timeout=10).json()
    assert manifest["name"] == TITLE and manifest["display"] == "standalone"
    assert [icon["sizes"] for icon in manifest["icons"]] == [f"{n}x{n}" for n in PWA_ICON_SIZES]
    for icon, n in zip(manifest["icons"], PWA_ICON_SIZES, strict=True):
        reply = httpx.get(base + icon["src"], timeout=10)
        assert reply.status_code == 200 and Image.open(io.BytesIO(reply.content)).size == (n, n)
    for size in ("40000", "193", "-1", "x"):
        reply = httpx.get(f"{base}/pwa_icon/{size}", timeout=10)
        assert reply.status_code == 404 and "192 and 512 px" in reply.text, size


def test_a_flood_from_one_address_does_not_hold_up_another_visitors_drawing(server_url, tmp_path, monkeypatch):
    """The queue takes addresses in turn: a visitor's number goes ahead of twelve queued from another address,
    where first come, first served would put it after all twelve (the order of answers, not their times)."""
    import asyncio

    from PIL import Image

    monkeypatch.setenv("DIGITREC_TRUST_PROXY", "1")  # each address as a Space's proxy reports it
    number = Image.new("RGB", (1600, 200), "white")
    for i, d in enumerate(["7_plain", "4_open", "0_slashed", "1_plain", "3", "2", "7_crossed", "1_flag"]):
        number.paste(draw_strokes(STROKES[d], size=(200, 200), width=12), (i * 200, 0))
    path = tmp_path / "number.png"
    number.save(path)
    value = sketch(_upload(server_url, path))
    finished: list[str] = []

    async def run():
        async with httpx.AsyncClient(timeout=120, base_url=server_url) as http:

            async def post(who: str, i: int) -> str:
                r = await http.post(
                    "/gradio_api/call/predict_number",
                    json={"data": [value], "session_hash": f"{who}{i}"},
                    headers={"X-Forwarded-For": "203.0.113.50" if who == "flood" else "198.51.100.50"},
                )
                assert r.status_code == 200, r.text
                return r.json()["event_id"]

            async def result(who: str, event_id: str) -> None:
                r = await http.get(f"/gradio_api/call/predict_number/{event_id}")
                assert "event: complete" in r.text, r.text
                finished.append(who)

            waits = [asyncio.create_task(result("flood", await post("flood", i))) for i in range(12)]
            await asyncio.sleep(0.1)  # the answers already given are read
            done_when_sent = len(finished)
            visitor = await post("visitor", 0)
            await asyncio.gather(result("visitor", visitor), *waits)
            return done_when_sent

    done_when_sent = asyncio.run(run())
    assert done_when_sent <= 6  # most of the flood was still queued when the visitor drew
    # One worker serves numbers: the visitor waits for the flood's running number, and for those the worker
    # took while the visitor's request was on its way; first come, first served would answer it last.
    assert finished.index("visitor") <= done_when_sent + 3, finished


def test_the_queue_runs_at_most_two_events_of_one_address_and_takes_the_least_busy_first(monkeypatch):
    from types import SimpleNamespace

    import gradio as gr
    from gradio import queueing

    from digitrec.fairness import make_fair
    from digitrec.limits import WORKERS_PER_ADDRESS

    monkeypatch.delenv("DIGITREC_RATE_LIMITS", raising=False)
    with gr.Blocks() as demo:
        box = gr.Textbox()
        box.submit(lambda s: s, box, box, concurrency_limit=8)
    demo.queue(max_size=64)
    queue = make_fair(demo)
    fn = next(iter(demo.fns.values()))
    queue.create_event_queue_for_fn(fn)

    def event(address: str):
        request = SimpleNamespace(headers={}, client=SimpleNamespace(host=address))
        e = queueing.Event(None, fn, request, None)
        queue.event_queue_per_concurrency_id[e.concurrency_id].queue.append(e)
        return e

    flood = [event("203.0.113.9") for _ in range(6)]
    taken = [queue.get_events()[0][0] for _ in range(WORKERS_PER_ADDRESS)]
    assert taken == flood[:WORKERS_PER_ADDRESS]
    assert queue.get_events() is None  # the flood's others wait, though workers are free
    visitor = event("198.51.100.9")
    assert queue.get_events()[0] == [visitor]
    assert queue.get_events() is None
    # A flood event that leaves the queue (its client went away) as another visitor's arrives: as many wait
    # as before, and the visitor's is still seen.
    queue.event_queue_per_concurrency_id[visitor.concurrency_id].queue.remove(flood[-1])
    other = event("198.51.100.10")
    assert queue.get_events()[0] == [other]
    monkeypatch.setenv("DIGITREC_RATE_LIMITS", "off")
    assert queue.get_events()[0][0] is flood[WORKERS_PER_ADDRESS]  # a private server: no cap


def test_one_address_cannot_take_the_whole_upload_budget(server_url, digit_png, monkeypatch):
    import socket
    from urllib.parse import urlparse

    from digitrec.limits import IN_FLIGHT_BYTES, IN_FLIGHT_BYTES_PER_ADDRESS, UPLOAD_BODY_BYTES

    monkeypatch.setenv("DIGITREC_TRUST_PROXY", "1")
    part = 12 * 2**20  # slow uploads of one address, each stalled 12 MB into its body
    assert 3 * part <= IN_FLIGHT_BYTES_PER_ADDRESS < 4 * part <= IN_FLIGHT_BYTES
    url = urlparse(server_url)
    head = b"POST /gradio_api/upload HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.60\r\n"
    head += b"Content-Type: multipart/form-data; boundary=b0und\r\nContent-Length: %d\r\n\r\n" % UPLOAD_BODY_BYTES
    slow = []
    try:
        for _ in range(4):
            sock = socket.create_connection((url.hostname, url.port), timeout=30)
            slow.append(sock)
            with contextlib.suppress(OSError):  # refused while sending
                sock.sendall(head + bytes(part))
            time.sleep(0.5)  # received by the server
        slow[-1].settimeout(10)
        assert slow[-1].recv(4096).startswith(b"HTTP/1.1 503"), "36 MB in flight: the fourth is one too many"
        with open(digit_png, "rb") as f:  # another visitor uploads as usual meanwhile
            r = httpx.post(
                server_url + "/gradio_api/upload",
                files={"files": f},
                headers={"X-Forwarded-For": "198.51.100.60"},
                timeout=30,
            )
        assert r.status_code == 200, r.text
    finally:
        for sock in slow:
            sock.close()
