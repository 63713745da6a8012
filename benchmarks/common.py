"""What the benchmarks share: timing, a real server in a subprocess, memory, and where results go.

Run each benchmark from the project root as a module (``python -m benchmarks.NAME``);
each prints its table and writes ``benchmarks/results/NAME.json``, where the README's
tables come from.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from gradio_client import Client

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
SAMPLE = ROOT / "tests" / "mnist_sample.npz"


def sample_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 200 real MNIST test digits shipped with the tests, and their labels."""
    with np.load(SAMPLE) as d:
        return d["x"], d["y"]


def timed(fn, repeats: int, warmup: int = 1) -> np.ndarray:
    """Milliseconds of each of ``repeats`` calls of ``fn``, after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    out = np.empty(repeats)
    for i in range(repeats):
        start = time.perf_counter()
        fn()
        out[i] = time.perf_counter() - start
    return out * 1000


def summary(ms) -> dict:
    return {"p50_ms": round(float(np.median(ms)), 3), "p99_ms": round(float(np.percentile(ms, 99)), 3)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(cmd: list[str], **env_vars: str) -> tuple[subprocess.Popen, str, float]:
    """Start ``cmd`` (an app) on a free port with ``env_vars`` set; the process, its URL, and the start time."""
    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False", **env_vars}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, f"http://127.0.0.1:{port}/", t0


def connect(url: str, proc: subprocess.Popen, address: str | None = None) -> Client:
    """A ``gradio_client`` for the server at ``url``, once it answers; with ``address``, it says it comes from
    there (``X-Forwarded-For``, which a server started with ``DIGITREC_TRUST_PROXY=1`` believes)."""
    headers = {"X-Forwarded-For": address} if address else None
    while True:
        if proc.poll() is not None:
            raise RuntimeError("server exited")
        try:
            return Client(url, verbose=False, headers=headers)
        except Exception:
            time.sleep(0.05)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """CPU time a process and all its threads have used so far (user and system)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def weights_digest() -> str:
    """The shipped weights' SHA-256, shortened: which network a result was measured on."""
    return hashlib.sha256((ROOT / "weights" / "model.weights.h5").read_bytes()).hexdigest()[:16]


def write_results(name: str, results) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    if isinstance(results, dict):
        results = {**results, "weights_sha256": weights_digest()}
    path.write_text(json.dumps(results, indent=2))
    print(f"wrote {path.relative_to(ROOT)}")
    return path


def load_revision(rev: str):
    """``digitrec/preprocess.py`` as it was at git revision ``rev``, loaded as a module beside the current one."""
    source = subprocess.run(
        ["git", "show", f"{rev}:digitrec/preprocess.py"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    path = Path(tempfile.mkdtemp()) / "preprocess_at_revision.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("preprocess_at_revision", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
