"""Speed of ``normalize`` against the same function at another git revision, interleaved in one run.

    python -m benchmarks.normalize_vs_revision [REV] [--repeats 200]

Loads ``digitrec/preprocess.py`` as it was at ``REV`` (default ``38a6d66``, before the
edge-robust paper estimate and EXIF orientation) beside the current one and times both
on the same 800x800 canvases in each colour scheme, one photo of paper lit with a gradient of up
to 60 and of up to 160 greys, one of a sheet on a table (turned and at a slant), and a fat light
zero filling a dark 800x800 canvas (large and solid, as a sheet is: it reaches the sheet's shape
test), alternating calls so that drift in the machine's speed hits both alike.
Reports medians in ms and the ratio current / ``REV``.
"""

from __future__ import annotations

import argparse
import contextlib
import time

import numpy as np
from PIL import Image, ImageDraw

from benchmarks.common import load_revision, sample_digits, write_results
from digitrec import preprocess
from digitrec.render import STYLES, render_on_canvas, render_photo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rev", nargs="?", default="38a6d66")
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    before = load_revision(args.rev)
    digit = sample_digits()[0][0]
    results = {}
    inputs = {style: render_on_canvas(digit, np.random.default_rng(0), canvas=800, style=style) for style in STYLES}
    inputs["photo_jpeg"] = render_photo(digit, np.random.default_rng(0))  # 900x700, read with its paper estimate
    # Light so uneven that the border looks split between paper and ink, as a tight crop's does.
    inputs["photo_lit_160"] = render_photo(digit, np.random.default_rng(0), gradient=160)
    inputs["sheet_on_table"] = render_photo(digit, np.random.default_rng(0), table=True, tilt=15, slant=0.12)
    inputs["fat_light_zero"] = fat_light_zero()
    for kind, image in inputs.items():
        times = {"current": [], args.rev: []}
        for i in range(args.repeats):
            pair = (("current", preprocess), (args.rev, before))
            for name, module in pair if i % 2 else pair[::-1]:
                start = time.perf_counter()
                with contextlib.suppress(module.PreprocessError):  # a refusal is an answer too: time it
                    module.normalize(image)
                times[name].append((time.perf_counter() - start) * 1000)
        medians = {name: round(float(np.median(t)), 3) for name, t in times.items()}
        results[kind] = {
            **{f"{k}_p50_ms": v for k, v in medians.items()},
            "ratio": round(medians["current"] / medians[args.rev], 3),
        }
        print(
            f"{kind:16s} current {medians['current']:.3f} ms, {args.rev} {medians[args.rev]:.3f} ms, "
            f"ratio {results[kind]['ratio']}"
        )
    write_results("normalize_vs_revision", results)


def fat_light_zero() -> Image.Image:
    canvas = Image.new("L", (800, 800), 0)
    draw = ImageDraw.Draw(canvas)
    draw.ellipse((200, 120, 600, 680), fill=255)
    draw.ellipse((360, 340, 440, 460), fill=0)
    return canvas


if __name__ == "__main__":
    main()
