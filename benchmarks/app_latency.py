"""End-to-end API latency, throughput, cold start and memory of the app, on this machine.

    python benchmarks/app_latency.py [--requests 200]

1. Cold start: ``python app.py`` until the first successful ``/predict``.
2. Latency of ``/predict`` through ``gradio_client`` next to ``/noop`` (same app, same
   input, a function that returns at once), p50/p99, and the difference.
3. Throughput at 1, 8 and 32 concurrent clients, counting errors.
4. Resident memory of the server process under that load.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from gradio_client import Client, handle_file

from digitrec.render import render_on_canvas

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd: list[str]) -> tuple[subprocess.Popen, str, float]:
    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False"}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, f"http://127.0.0.1:{port}/", t0


def connect(url: str, proc: subprocess.Popen) -> Client:
    while True:
        if proc.poll() is not None:
            raise RuntimeError("server exited")
        try:
            return Client(url, verbose=False)
        except Exception:
            time.sleep(0.05)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentiles(ms: list[float]) -> dict:
    return {"p50_ms": round(float(np.median(ms)), 2), "p99_ms": round(float(np.percentile(ms, 99)), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="sequential requests per endpoint")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    digit = np.load(ROOT / "tests" / "mnist_sample.npz")["x"][0]
    render_on_canvas(digit, np.random.default_rng(0), canvas=400, style="transparent").save(tmp / "digit.png")
    value = {"background": None, "layers": [], "composite": handle_file(str(tmp / "digit.png"))}
    results: dict = {}

    # 1. Cold start of the real entry point.
    proc, url, t0 = start([sys.executable, "app.py"])
    client = connect(url, proc)
    client.predict(value, api_name="/predict")
    results["cold_start_s"] = round(time.perf_counter() - t0, 2)
    proc.terminate()
    proc.wait()

    # 2-4. The same app with a no-op endpoint beside /predict.
    proc, url, _ = start([sys.executable, "benchmarks/serve_with_noop.py"])
    client = connect(url, proc)
    for api in ("/noop", "/predict"):
        for _ in range(10):
            client.predict(value, api_name=api)
        times = []
        for _ in range(args.requests):
            t = time.perf_counter()
            client.predict(value, api_name=api)
            times.append((time.perf_counter() - t) * 1000)
        results[api] = percentiles(times)
    results["model_path_added_p50_ms"] = round(results["/predict"]["p50_ms"] - results["/noop"]["p50_ms"], 2)

    peak_rss = rss_mb(proc.pid)
    for clients in (1, 8, 32):
        per_client = max(20, 160 // clients)
        errors, done = [], []
        pool = [Client(url, verbose=False) for _ in range(clients)]

        def worker(c: Client):
            for _ in range(per_client):
                try:
                    assert c.predict(value, api_name="/predict")["label"] is not None
                    done.append(1)
                except Exception as exc:  # count, do not stop: errors are part of the result
                    errors.append(repr(exc))

        threads = [threading.Thread(target=worker, args=(c,)) for c in pool]
        t = time.perf_counter()
        for th in threads:
            th.start()
        while any(th.is_alive() for th in threads):
            peak_rss = max(peak_rss, rss_mb(proc.pid))
            time.sleep(0.05)
        elapsed = time.perf_counter() - t
        results[f"throughput_{clients}_clients"] = {
            "predictions_per_s": round(len(done) / elapsed, 1), "requests": len(done) + len(errors),
            "errors": len(errors)}
    results["peak_rss_mb"] = round(peak_rss, 1)
    proc.terminate()
    proc.wait()
    for k, v in results.items():
        print(f"{k:28s} {v}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
