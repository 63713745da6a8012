"""What floods of hostile requests cost the app: server memory and /predict latency, on this machine.

    python -m benchmarks.hostile_load [--rounds 3]

Starts ``python app.py``, measures ``/predict`` p50 at idle (the baseline of the same run),
then runs each flood while a probe client keeps calling ``/predict``:

* layer bombs: a normal drawing plus 8 layers of an 8900x8900 1-bit PNG (10 KB each), 8 at once;
* oversized composites: a 79 MP PNG as the drawing, 12 at once;
* uploads: 30 requests of 3 files of 3 MB each (over the limits: refused), then of 1 file;
* heavy numbers: 16 ``/predict_number`` calls at once on a 2400x400 row of touching 7s;
* a Sketchpad layer index of 20,000,000 with its field name spelled ``Name=``, 8 at once;
* uploads while 8 idle sockets hold headers that declare 32 MB bodies and send nothing;
* ``/report`` with a new session each time, from one address;
* 100 MB bodies to ``/gradio_api/queue/join``, declared and sent, 4 at once;
* uploads of 200 files named with ``FileName=``;
* JSON nested 2,000 deep;
* 300 drawings at once from one address (the queue holds 256);
* 24 MP photos (the largest accepted) to ``/predict_image``, 8 at once.

The server trusts ``X-Forwarded-For`` here (``DIGITREC_TRUST_PROXY=1``, as on a Space): the probe is
one visitor at its own address, drawing five strokes a second; the floods come from others.

For each it reports the server's peak RSS during the flood and its settled RSS 5 s after,
the answers the flood got, and the probe's ``/predict`` p50 next to the idle one.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
from gradio_client import Client, handle_file
from PIL import Image, ImageDraw

from benchmarks.common import connect, rss_mb, start_server, write_results
from digitrec.render import STROKES, draw_strokes

IDLE_HEAD = b"Content-Type: multipart/form-data; boundary=b0und\r\nContent-Length: 33554432\r\n"


def raw_request(url: str, path: str, head: bytes, body: bytes = b"", chunks: int = 0, read: bool = True):
    """A hand-written POST on a fresh socket, so that spellings stay as sent; with ``chunks``, ``body`` is
    sent that many times under a declared length of all of them. Returns the reply's first bytes, or the
    open socket when not ``read``."""
    address = httpx.URL(url)
    sock = socket.create_connection((address.host, address.port), timeout=60)
    if chunks:
        head += b"Content-Length: %d\r\n" % (len(body) * chunks)
    sock.sendall(
        b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.3\r\n" + head + b"\r\n"
    )
    if not read:
        return sock
    try:
        for _ in range(max(chunks, 1)):
            sock.sendall(body)
    except OSError:
        pass  # refused before the body was all sent: the reply says why
    reply = sock.recv(4096)
    sock.close()
    return reply


def form(fields: list[tuple[bytes, bytes]]) -> tuple[bytes, bytes]:
    """A multipart form's head and body, each field's disposition written as given."""
    body = b"".join(b"--b0und\r\nContent-Disposition: form-data; " + d + b"\r\n\r\n" + v + b"\r\n" for d, v in fields)
    body += b"--b0und--\r\n"
    return b"Content-Type: multipart/form-data; boundary=b0und\r\nContent-Length: %d\r\n" % len(body), body


def make_inputs(tmp: Path) -> dict[str, Path]:
    paths = {name: tmp / f"{name}.png" for name in ("digit", "bomb", "number", "photo")}
    photo = Image.new("L", (5700, 4280), 235)  # 24.4 MP, as a phone saves a photo by default
    ImageDraw.Draw(photo).line([(2000, 1000), (3800, 1000), (2600, 3300)], fill=20, width=180)
    photo.save(paths["photo"])
    draw_strokes(STROKES["3"], size=(400, 400), width=20).save(paths["digit"])
    Image.new("1", (8900, 8900), 0).save(paths["bomb"], optimize=True)
    number = Image.new("L", (2400, 400), 255)
    draw = ImageDraw.Draw(number)
    for x in range(0, 2400, 180):
        draw.line([(x, 60), (x + 200, 60), (x + 80, 360)], fill=0, width=30)
    number.save(paths["number"])
    return paths


PROBE_EVERY_S = 0.2  # a visitor's strokes: five a second is a fast hand


class Probe:
    """Calls /predict in a loop on its own client, from its own address, and records each latency."""

    def __init__(self, url: str, proc, value: dict):
        self.client, self.value, self.times = connect(url, proc, address="198.51.100.1"), value, []
        self._stop = threading.Event()

    def __enter__(self):
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            t = time.perf_counter()
            self.client.predict(self.value, api_name="/predict")
            self.times.append((time.perf_counter() - t) * 1000)
            time.sleep(max(0.0, PROBE_EVERY_S - (time.perf_counter() - t)))

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def flood(name: str, fn, n: int, url: str, proc, digit_value: dict, rounds: int) -> dict:
    peak, answers = rss_mb(proc.pid), {}
    stop = threading.Event()

    def watch():
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, rss_mb(proc.pid))
            time.sleep(0.01)

    before = rss_mb(proc.pid)
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    with Probe(url, proc, digit_value) as probe, concurrent.futures.ThreadPoolExecutor(n) as pool:
        for _ in range(rounds):
            for answer in pool.map(lambda _: fn(), range(n)):
                answers[answer] = answers.get(answer, 0) + 1
    stop.set()
    watcher.join()
    time.sleep(5)
    return {
        "rss_before_mb": round(before, 1),
        "peak_rss_mb": round(peak, 1),
        "settled_rss_mb": round(rss_mb(proc.pid), 1),
        "predict_p50_ms_during": round(float(np.median(probe.times)), 1) if probe.times else None,
        "probe_calls": len(probe.times),
        "answers": answers,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="times each flood is sent")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    paths = make_inputs(tmp)
    proc, url, _ = start_server([sys.executable, "app.py"], DIGITREC_TRUST_PROXY="1")
    client = connect(url, proc, address="203.0.113.1")
    digit = {"background": None, "layers": [], "composite": handle_file(str(paths["digit"]))}
    for _ in range(10):
        client.predict(digit, api_name="/predict")
    idle = []
    for _ in range(50):
        t = time.perf_counter()
        client.predict(digit, api_name="/predict")
        idle.append((time.perf_counter() - t) * 1000)
    results = {"idle_predict_p50_ms": round(float(np.median(idle)), 1), "floods": {}}

    def call(value, api_name):
        def run():
            try:
                client.predict(value, api_name=api_name)
                return "answered"
            except Exception as exc:
                return str(exc).split("\n")[0][:60]

        return run

    bomb = handle_file(str(paths["bomb"]))
    layered = {"background": None, "layers": [bomb] * 8, "composite": handle_file(str(paths["digit"]))}
    oversized = {"background": None, "layers": [], "composite": bomb}
    number = {"background": None, "layers": [], "composite": handle_file(str(paths["number"]))}
    big = bytes(3 * 1024 * 1024)

    def upload(files: int):
        def run():
            r = httpx.post(
                url + "gradio_api/upload",
                timeout=60,
                files=[("files", (f"{i}.png", big, "image/png")) for i in range(files)],
            )
            return f"HTTP {r.status_code}"

        return run

    def raw(path: str, head: bytes, body: bytes = b"", chunks: int = 0):
        def run():
            try:
                reply = raw_request(url, path, head, body, chunks)
                return reply.split(b"\r\n", 1)[0].decode("latin-1")[9:12] or "no reply"
            except OSError as exc:
                return type(exc).__name__

        return run

    def report():
        c = Client(url, verbose=False, headers={"X-Forwarded-For": "203.0.113.2"})  # a new session each time
        try:
            c.predict(None, handle_file(str(paths["digit"])), "3", api_name="/report")
            return "saved"
        except Exception as exc:
            return str(exc).split("\n")[0][:60]

    index_form = form(
        [
            (b'name="component_id"', b"1"),
            (b'name="session_hash"', b"s"),
            (b'name="fn_name"', b"accept_blobs"),
            (b'name="type"', b"layer"),
            (b'Name="index"', b"20000000"),
            (b'name="id"', b"x"),
            (b'name="file"; filename="blob"', b"\x89PNG"),
        ]
    )
    many_files = form([(b'name="files"; FileName="%d.png"' % i, b"x") for i in range(200)])
    deep = ('{"data": ' + "[" * 2000 + "]" * 2000 + "}").encode()
    json_head = b"Content-Type: application/json\r\n"
    photo = handle_file(str(paths["photo"]))

    floods = [
        ("layer_bombs", call(layered, "/predict"), 8),
        ("oversized_composites", call(oversized, "/predict"), 12),
        ("uploads_3_files", upload(3), 30),
        ("uploads_1_file", upload(1), 30),
        ("heavy_numbers", call(number, "/predict_number"), 16),
        ("layer_index_spelled_Name", raw("/gradio_api/component_server", *index_form), 8),
        ("uploads_beside_idle_claims", upload(1), 8),
        ("report_new_sessions", report, 1),
        ("queue_join_100_mb", raw("/gradio_api/queue/join", json_head, bytes(2**20), chunks=100), 4),
        ("upload_200_files_FileName", raw("/gradio_api/upload", *many_files), 4),
        ("json_2000_deep", raw("/gradio_api/call/predict", json_head + b"Content-Length: %d\r\n" % len(deep), deep), 8),
        ("queue_flood_one_address", call(digit, "/predict"), 300),
        ("photos_24_mp", call(photo, "/predict_image"), 8),
    ]
    for name, fn, n in floods:
        idle = (
            [raw_request(url, "/gradio_api/upload", IDLE_HEAD, read=False) for _ in range(8)] if "idle" in name else []
        )
        rounds = 30 if name == "report_new_sessions" else args.rounds
        results["floods"][name] = flood(name, fn, n, url, proc, digit, rounds)
        for sock in idle:
            sock.close()
        r = results["floods"][name]
        ratio = r["predict_p50_ms_during"] / results["idle_predict_p50_ms"] if r["predict_p50_ms_during"] else None
        r["predict_p50_vs_idle"] = round(ratio, 2) if ratio else None
        print(
            f"{name:22s} peak {r['peak_rss_mb']:7.1f} MB (before {r['rss_before_mb']:.1f}, settled "
            f"{r['settled_rss_mb']:.1f}); /predict p50 {r['predict_p50_ms_during']} ms "
            f"({r['predict_p50_vs_idle']}x idle); {r['answers']}"
        )
    proc.terminate()
    proc.wait()
    print(f"idle /predict p50 {results['idle_predict_p50_ms']} ms")
    write_results("hostile_load", results)


if __name__ == "__main__":
    main()
