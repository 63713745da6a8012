"""Where the app's throughput goes: ``/predict`` against endpoints that stop at each stage of it.

    python -m benchmarks.serving_stages [--rounds 4] [--load 1280]

One server (``benchmarks/serve_with_noop.py``) serves, beside the app's ``/predict``, ``/noop``
(Gradio decodes the image and returns: ``app_latency``'s ceiling), ``/normalize_only`` (the app's
own decoding and normalizing, then a fixed answer), ``/normalize_wait`` (the same, then a sleep as long
as the forward pass takes: its time without its CPU), ``/normalize_forward`` (the same, then the forward
pass) and ``/one_view`` (all of ``/predict`` on a copy of the shipped network exported to read each
input in one view instead of five; TensorFlow exports it). 32 clients load each endpoint in turn,
``--rounds`` times, as ``app_latency`` loads ``/predict``; the medians, each as a share of ``/noop``'s in
the same run, and the server's CPU time per request. What a stage costs is the drop from the one before it.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.app_latency import throughput
from benchmarks.common import connect, cpu_seconds, sample_digits, start_server, write_results
from benchmarks.serve_with_noop import ONE_VIEW_ENV
from digitrec.render import render_on_canvas
from digitrec.weights import WEIGHTS, load_keras_folder

# Each stage adds to the one before; /normalize_wait is the control for /normalize_forward: the pass's time
# without its CPU.
ENDPOINTS = ("noop", "normalize_only", "normalize_wait", "normalize_forward", "one_view", "predict")
CLIENTS = 32


def one_view_copy(folder: Path) -> Path:
    """A copy of the shipped model folder whose ``model.tflite`` reads each input in one view."""
    from digitrec.graph import export

    shutil.copytree(WEIGHTS, folder, ignore=shutil.ignore_patterns("*.png", "README.md"))
    export(load_keras_folder(folder), folder, shifts=((0, 0),))
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4, help="runs of each endpoint, taking turns")
    parser.add_argument("--load", type=int, default=1280, help="requests per run")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    render_on_canvas(sample_digits()[0][0], np.random.default_rng(0), canvas=400, style="transparent").save(
        tmp / "digit.png"
    )
    env = {ONE_VIEW_ENV: str(one_view_copy(tmp / "one_view")), "DIGITREC_RATE_LIMITS": "off"}
    proc, url, _ = start_server([sys.executable, "-m", "benchmarks.serve_with_noop"], **env)
    connect(url, proc)
    runs: dict[str, list[float]] = {name: [] for name in ENDPOINTS}
    cpu: dict[str, list[float]] = {name: [] for name in ENDPOINTS}  # the server's CPU ms per request
    errors = 0
    for _ in range(args.rounds):
        for name in ENDPOINTS:
            before = cpu_seconds(proc.pid)
            rate, sent, failed, _ = asyncio.run(
                throughput(url, tmp / "digit.png", CLIENTS, proc.pid, args.load, True, name)
            )
            runs[name].append(rate)
            cpu[name].append(round(1000 * (cpu_seconds(proc.pid) - before) / sent, 2))
            errors += failed
    proc.terminate()
    proc.wait()
    ceiling = float(np.median(runs["noop"]))
    results = {
        "clients": CLIENTS,
        "errors": errors,
        "endpoints": {
            name: {
                "predictions_per_s": float(np.median(rates)),
                "vs_noop": round(float(np.median(rates)) / ceiling, 2),
                "runs": rates,
                "server_cpu_ms_per_request": float(np.median(cpu[name])),
            }
            for name, rates in runs.items()
        },
    }
    for name, r in results["endpoints"].items():
        print(
            f"{name:18s} {r['predictions_per_s']:6.1f}/s  {r['vs_noop']:.2f} of /noop  "
            f"{r['server_cpu_ms_per_request']:5.2f} CPU ms a request  {r['runs']}"
        )
    write_results("serving_stages", results)


if __name__ == "__main__":
    main()
