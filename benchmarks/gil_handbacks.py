"""How often one prediction gives up the GIL, the cost that sets the app's throughput.

    python -m benchmarks.gil_handbacks [--repeats 40]

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

import numpy as np

from benchmarks.common import sample_digits, timed, write_results
from digitrec.preprocess import normalize
from digitrec.render import render_on_canvas
from digitrec.serving import load_for_app

INTERVAL_S = 0.005


def median_ms(fn, repeats: int) -> float:
    return float(np.median(timed(fn, repeats, warmup=0)))


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
    digit = sample_digits()[0][0]
    canvas = render_on_canvas(digit, np.random.default_rng(0), canvas=400, style="transparent")
    x = normalize(canvas)
    steps = {
        "normalize (400x400 canvas)": lambda: normalize(canvas),
        "forward pass": lambda: rec.outputs(x[None]),
        "forward + not-a-digit check": lambda: rec.verdicts(x[None]),
        "rec.predict, all of it": lambda: rec.predict(canvas),
    }
    print(f"{'step':30s} {'alone':>9s} {'beside':>9s} {'releases':>9s}")
    results = {}
    for name, fn in steps.items():
        for _ in range(5):
            fn()
        alone = median_ms(fn, args.repeats * 5)
        beside = beside_busy_thread(fn, args.repeats)
        releases = (beside - alone) / (INTERVAL_S * 1000)
        results[name] = {
            "alone_ms": round(alone, 2),
            "beside_busy_thread_ms": round(beside, 1),
            "releases": round(releases, 1),
        }
        print(f"{name:30s} {alone:7.2f}ms {beside:7.1f}ms {releases:9.1f}")
    write_results("gil_handbacks", results)


if __name__ == "__main__":
    main()
