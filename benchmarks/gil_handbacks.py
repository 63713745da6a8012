"""How often one prediction gives up the GIL, the cost that sets the app's throughput.

    python benchmarks/gil_handbacks.py [--repeats 40]

Pillow, numpy and TensorFlow release the GIL inside many calls. In a server, another
thread (Gradio's event loop) then takes it, and the worker waits to get it back. This
times each step of a prediction alone, then beside a thread that runs pure Python
without pause: each release then costs one switch interval (5 ms here) of waiting, so
the difference divided by the interval counts the releases. A step that never releases
the GIL takes the same time in both.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as `python benchmarks/...`

from digitrec import Recognizer  # noqa: E402
from digitrec.preprocess import normalize  # noqa: E402
from digitrec.render import render_on_canvas  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
INTERVAL_S = 0.005


def median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times)) * 1000


def beside_busy_thread(fn, repeats: int) -> float:
    stop = threading.Event()

    def busy() -> None:
        while not stop.is_set():
            sum(range(100))

    thread = threading.Thread(target=busy)
    thread.start()
    try:
        return median_ms(fn, repeats)
    finally:
        stop.set()
        thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=40)
    args = parser.parse_args()
    sys.setswitchinterval(INTERVAL_S)
    rec = load_for_app()
    digit = np.load(ROOT / "tests" / "mnist_sample.npz")["x"][0]
    canvas = render_on_canvas(digit, np.random.default_rng(0), canvas=400, style="transparent")
    x = normalize(canvas)
    steps = {
        "normalize (400x400 canvas)": lambda: normalize(canvas),
        "forward pass": lambda: rec.run(x[None]),
        "forward + not-a-digit check": lambda: rec._judge(x[None]),
        "rec.predict, all of it": lambda: rec.predict(canvas),
    }
    print(f"{'step':30s} {'alone':>9s} {'beside':>9s} {'releases':>9s}")
    for name, fn in steps.items():
        for _ in range(5):
            fn()
        alone = median_ms(fn, args.repeats * 5)
        beside = beside_busy_thread(fn, args.repeats)
        print(f"{name:30s} {alone:7.2f}ms {beside:7.1f}ms {(beside - alone) / (INTERVAL_S * 1000):9.1f}")


if __name__ == "__main__":
    main()
