"""What floods of hostile requests cost the app: server memory and /predict latency, on this machine.

    python -m benchmarks.hostile_load [--rounds 3]

Starts ``python app.py``, measures ``/predict`` p50 at idle (the baseline of the same run),
then runs each flood while a probe client keeps calling ``/predict``:

* layer bombs: a normal drawing plus 8 layers of an 8900x8900 1-bit PNG (10 KB each), 8 at once;
* oversized composites: a 79 MP PNG as the drawing, 12 at once;
* uploads: 30 requests of 3 files of 3 MB each (over the limits: refused), then of 1 file;
* heavy numbers: 16 ``/predict_number`` calls at once on a 2400x400 row of touching 7s.

For each it reports the server's peak RSS during the flood and its settled RSS 5 s after,
the answers the flood got, and the probe's ``/predict`` p50 next to the idle one.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
from gradio_client import handle_file
from PIL import Image, ImageDraw

from benchmarks.common import connect, rss_mb, start_server, write_results
from digitrec.render import STROKES, draw_strokes


def make_inputs(tmp: Path) -> dict[str, Path]:
    paths = {name: tmp / f"{name}.png" for name in ("digit", "bomb", "number")}
    draw_strokes(STROKES["3"], size=(400, 400), width=20).save(paths["digit"])
    Image.new("1", (8900, 8900), 0).save(paths["bomb"], optimize=True)
    number = Image.new("L", (2400, 400), 255)
    draw = ImageDraw.Draw(number)
    for x in range(0, 2400, 180):
        draw.line([(x, 60), (x + 200, 60), (x + 80, 360)], fill=0, width=30)
    number.save(paths["number"])
    return paths


class Probe:
    """Calls /predict in a loop on its own client and records each latency."""

    def __init__(self, url: str, proc, value: dict):
        self.client, self.value, self.times = connect(url, proc), value, []
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
    proc, url, _ = start_server([sys.executable, "app.py"])
    client = connect(url, proc)
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

    floods = [
        ("layer_bombs", call(layered, "/predict"), 8),
        ("oversized_composites", call(oversized, "/predict"), 12),
        ("uploads_3_files", upload(3), 30),
        ("uploads_1_file", upload(1), 30),
        ("heavy_numbers", call(number, "/predict_number"), 16),
    ]
    for name, fn, n in floods:
        results["floods"][name] = flood(name, fn, n, url, proc, digit, args.rounds)
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
