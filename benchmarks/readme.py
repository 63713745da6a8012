"""The README's Results and ``docs/operating.md``'s Limits, rendered: ``python -m benchmarks.readme [--check]``.

Every figure comes from ``weights/metrics.json`` (``python -m digitrec.evaluate``) or
``benchmarks/results/*.json`` (the benchmarks), and every limit from ``digitrec/limits.py``; none is
typed by hand. A benchmark's file records which weights it measured (``weights_sha256``); a row
measured on other weights than the shipped ones says so. ``--check`` (run by CI) fails when either
file is not what this renders.
"""

from __future__ import annotations

import argparse
import json
import sys

from benchmarks.common import RESULTS, ROOT, weights_digest
from digitrec.weights import WEIGHTS, read_info, read_metrics

README = ROOT / "README.md"  # its Results
GUIDE = ROOT / "docs" / "operating.md"  # its Limits
START, END = "<!-- results: python -m benchmarks.readme -->", "<!-- end of results -->"
LIMITS_START, LIMITS_END = "<!-- limits: python -m benchmarks.readme -->", "<!-- end of limits -->"


def _mb(n: int) -> str:
    return f"{n // 2**20} MB" if n >= 2**20 else f"{n // 1024} KB"


def limit_rows() -> list[tuple[str, str, str]]:
    """(limit, value, what a client gets) for every limit in :mod:`digitrec.limits`."""
    from digitrec import limits as L

    return [
        (
            "pixels per image (phones save 12-24 MP)",
            f"{L.MAX_PIXELS:,}",
            '`event: error`: "image is W×H = N pixels; the limit is …"',
        ),
        ("Sketchpad layers per value", f"{L.MAX_LAYERS}", '`event: error` or HTTP 400: "at most … layers"'),
        (
            "pixels of background and layers together",
            f"{L.MAX_REQUEST_PIXELS:,}",
            '`event: error`: "… together; the limit is …"',
        ),
        ("digits in one number drawing", f"{L.MAX_NUMBER_DIGITS}", '`event: error`: "a number may have at most …"'),
        (
            "bytes per uploaded file; files per upload; whole upload request",
            f"{_mb(L.MAX_FILE_BYTES)}; {L.MAX_UPLOAD_FILES}; {_mb(L.UPLOAD_BODY_BYTES)}",
            "HTTP 413",
        ),
        (
            "body of any other POST (`/queue/join`, `/call/`)",
            _mb(L.JSON_BODY_BYTES),
            "HTTP 413: upload images, send their paths",
        ),
        ("body of an MCP message (an image as a data URL)", _mb(L.MCP_BODY_BYTES), "HTTP 413"),
        ("characters in one JSON value; JSON nesting", f"{L.MAX_VALUE_CHARS:,}; {L.MAX_JSON_DEPTH} levels", "HTTP 400"),
        ("a request body that sends nothing", f"{L.BODY_IDLE_S:.0f} s", "HTTP 408"),
        (
            "request bytes received at once: all clients; one address",
            f"{_mb(L.IN_FLIGHT_BYTES)}; {_mb(L.IN_FLIGHT_BYTES_PER_ADDRESS)}",
            "HTTP 503: retry in a moment",
        ),
        (
            "requests started per page (session)",
            f"{L.EVENTS_PER_SESSION}/s, bursts of {L.EVENT_BURST_PER_SESSION}",
            "HTTP 429",
        ),
        (
            "requests started per address, all its pages",
            f"{L.EVENTS_PER_ADDRESS}/s, bursts of {L.EVENT_BURST_PER_ADDRESS}",
            "HTTP 429",
        ),
        (
            "workers; queue",
            f"{L.WORKERS} for digits and uploads, {L.HEAVY_WORKERS} for numbers and Inside; {L.QUEUE_SIZE} waiting",
            '"queue is full" past it',
        ),
        (
            "events of one address running at once",
            f"{L.WORKERS_PER_ADDRESS}; addresses take turns, the least busy first",
            "its other events wait their turn",
        ),
        (
            "corrections per address and per session",
            f"{L.FEEDBACK_PER_MINUTE} a minute each",
            '`event: error`: "at most … corrections a minute"',
        ),
        (
            "corrections kept locally",
            f"{_mb(L.FEEDBACK_MAX_BYTES)}; pushed hours make room, unpushed ones never",
            '`event: error`: "the corrections store is full …"',
        ),
        ("a kept drawing's longer side", f"{L.FEEDBACK_IMAGE_SIDE:,} px", "larger drawings are kept scaled down"),
        (
            "uploads and results kept on disk",
            f"{L.CACHE_MAX_AGE_S // 60} min, swept every {L.CACHE_SWEEP_S} s; "
            f"{_mb(L.CACHE_MAX_BYTES)}; {L.CACHE_MAX_FILES:,} files",
            "oldest deleted first",
        ),
        (
            "sizes of the installable app's icon (`/pwa_icon/N`)",
            " and ".join(f"{n} px" for n in L.PWA_ICON_SIZES),
            "HTTP 404 for any other size",
        ),
        ("sessions whose values are kept in memory", f"{L.SESSIONS_KEPT:,}", "the oldest session's values go"),
        (
            "Sketchpad images waiting for their event",
            f"{_mb(L.BLOB_STORE_BYTES)}; {L.BLOB_STORE_ENTRIES} drawings",
            "the oldest go",
        ),
    ]


def _bench(name: str) -> tuple[dict, str]:
    path = RESULTS / f"{name}.json"
    if not path.is_file():
        return {}, ""
    data = json.loads(path.read_text())
    note = "" if data.get("weights_sha256") == weights_digest() else " (measured on earlier weights)"
    return data, note


def _pct(x: float) -> str:
    return f"{x:.2%}"


def rows() -> list[tuple[str, str]]:
    """(measure, result) for every row of the Results table."""
    m = read_metrics(WEIGHTS)
    cal, training = m.get("calibration", {}), read_info(WEIGHTS).get("training", {})
    flagged, out = cal.get("flagged", {}), []
    out.append(
        (
            "MNIST test (`python -m digitrec.evaluate`)",
            f"**{_pct(m['mnist_test_accuracy'])}** ({m['mnist_test_errors']} errors of {m['test_digits']:,})",
        )
    )
    real, note = m.get("real_pen"), ""
    if real:
        shares = flagged.get("real_pen", float("nan")), flagged.get("real_letters", float("nan"))
    else:  # weights evaluated before the real pen sets: the benchmark measured them with the same drawings
        bench, note = _bench("real_pen")
        real = bench.get("folders", {}).get("weights")
        shares = (real["flagged"], real["letters_flagged"]) if real else ()
        note = f" (`benchmarks.real_pen`){note}"
    if real:
        sources = real["by_source"].values()
        what = f"**real pen handwriting** (UNIPEN): {real['writers']} test writers nothing trained or selected on, "
        what += f"{real['digits']:,} digits drawn {real['drawings'] // real['digits']} times each as clients draw"
        result = f"**{_pct(real['accuracy'])}**; per institution {_pct(min(sources))}-{_pct(max(sources))}; "
        result += f'flagged "not a digit" {_pct(shares[0])}; their letters and symbols flagged {_pct(shares[1])}'
        out.append((what + note, result))
    out.append(
        (
            "canvas set: the MNIST test digits re-drawn on 300-1000 px canvases, 4 colour schemes",
            _pct(m["canvas_accuracy"]),
        )
    )
    tight, tight6 = m["tight_crops"], m["tight_crops_6x_dark_on_light"]
    out.append(
        (
            "tight crops (ink on every edge), as is / 6× dark on light",
            f"{_pct(tight['accuracy'])} / {_pct(tight6['accuracy'])}, {tight['refused'] + tight6['refused']} refused",
        )
    )
    out.append(
        (
            "photos: 2,000 test digits in ink on paper, with noise, a light gradient, half with a shadow",
            _pct(m["photo_accuracy"]),
        )
    )
    styles = m["style_accuracy"]
    out.append(
        (
            "handwriting styles the project renders (slashed zero, long-flag one, crossed seven, …)",
            f"{_pct(min(styles.values()))}-{_pct(max(styles.values()))} per style",
        )
    )
    if cal:
        out.append(
            (
                "expected calibration error: MNIST test / canvas set / photos",
                " / ".join(_pct(cal[f"ece_{k}"]) for k in ("mnist_test", "canvas_set", "photo_set")),
            )
        )
        digits = ("mnist_test", "style_set", "canvas_set", "canvas_set_pen", "photo_set")
        out.append(
            (
                'flagged "not a digit": MNIST test / style set / canvas set in pencil / in pen / photos',
                " / ".join(_pct(flagged[k]) for k in digits),
            )
        )
        others = ("fashion_mnist", "letters", "shapes", "hand_letters")
        out.append(
            (
                'flagged "not a digit": Fashion-MNIST (never trained on) / letters in a font / shapes / hand letters',
                " / ".join(_pct(flagged[k]) for k in others if k in flagged),
            )
        )
    fonts, note = _bench("letters_in_other_fonts")
    if fonts:
        result = f"median {_pct(fonts['median_flagged'])} per font, lowest {_pct(fonts['lowest_flagged'])}"
        out.append((f"letters in the 38 installed fonts flagged (`benchmarks.letters_in_other_fonts`){note}", result))
    light, note = _bench("photo_lighting")
    if light:
        result = " / ".join(_pct(light[f"gradient_{g}"]["current"]["accuracy"]) for g in (120, 160))
        out.append((f"photos lit unevenly, gradients of 120 / 160 greys (`benchmarks.photo_lighting`){note}", result))
    small, note = _bench("small_drawings")
    if small:
        rows_ = small["results"]
        by_brush = " / ".join(f"{k.split('brush ')[1]} {_pct(v['accuracy'])}" for k, v in rows_.items() if "small" in k)
        what = f"small drawings (15-25% of the canvas) by brush size (`benchmarks.small_drawings`){note}"
        out.append((what, by_brush))
    scans, note = _bench("stretched_forms")
    if scans:
        sets = scans["sets"]
        kinds = [f"{k}_{form}" for k in ("mnist_test", "real_pen") for form in ("binary", "grey")]
        result = " / ".join(_pct(sets[k]["accuracy"]) for k in kinds)
        result += f"; ones {_pct(sets['mnist_test_binary']['by_digit']['1'])} in black and white"
        what = (
            f"digits stretched to fill a {scans['box']}×{scans['box']} box, as some scanned forms store them: "
            "MNIST test, black and white / grey; the same for the real pen test writers "
            f"(`benchmarks.stretched_forms`){note}"
        )
        out.append((what, result))
    lite = m.get("litert")
    if lite and "checked" in lite:
        result = f"{'the same' if lite['same_answers'] else 'DIFFERENT'} digit and verdict on all "
        result += f"{lite['checked']:,} evaluation inputs; logits within {lite['max_logit_difference']:.0e}"
        out.append(("`model.tflite` on LiteRT (what serves) against the Keras weights", result))
    latency, note = _bench("predict_latency")
    if latency:
        total, base = latency["rec.predict (total)"], latency["naive model.predict (baseline)"]
        result = f"{total['p50_ms']:.1f} ms, {total['speedup_vs_baseline']}× faster than `model.predict()` "
        result += f"({base['p50_ms']:.1f} ms) in the same run"
        out.append((f"`rec.predict` on an 800×800 canvas, p50 (`benchmarks.predict_latency`){note}", result))
    app, note = _bench("app_latency")
    if app:
        busy, ceiling = app["throughput_32_clients"], app["throughput_32_clients_noop"]
        result = f"{busy['predictions_per_s']} predictions/s against a no-op ceiling of "
        result += (
            f"{ceiling['predictions_per_s']}/s ({app['throughput_32_clients_vs_noop']}), {busy['errors']} errors; "
        )
        fresh = app["throughput_32_clients_new_session_per_request"]
        if "rss_after_mb" in busy:
            result += f"server memory {busy['rss_after_mb']:.0f} MB, {fresh['rss_after_mb']:.0f} MB once "
            result += f"{fresh['requests']:,} more requests each opened a new session"
        else:
            result += f"server memory at most {app['peak_rss_mb']:.0f} MB"
        out.append((f"the app at 32 clients (`benchmarks.app_latency`){note}", result))
        if "cold_start_noop_app_s" in app:
            result = f"{app['cold_start_s']} s, {app['cold_start_vs_noop_app']}× a Gradio app without a model "
            result += f"({app['cold_start_noop_app_s']} s)"
            result += "; no TensorFlow in the process" if not app["app_maps_tensorflow"] else "; TensorFlow loaded"
            out.append((f"`python app.py` to its first answer (`benchmarks.app_latency`){note}", result))
    sizes, _ = _bench("install_size")
    if sizes:
        result = f"app and Space (`requirements.txt`) {sizes['app']['venv_mb']:,} MB; with training "
        result += f"(`requirements-train.txt`) {sizes['train']['venv_mb']:,} MB"
        out.append(("virtual environment on disk (`benchmarks.install_size`)", result))
    hostile, note = _bench("hostile_load")
    if hostile:
        floods = hostile["floods"].values()
        worst = max((f["peak_rss_mb"] - f["rss_before_mb"] for f in floods), default=0)
        slowest = max((f["predict_p50_ms_during"] or 0 for f in floods), default=0)
        result = f"at most +{worst:.0f} MB of server memory; a visitor's `/predict` p50 at most {slowest:.0f} ms "
        result += f"during a flood ({hostile['idle_predict_p50_ms']} ms idle)"
        out.append((f"{len(hostile['floods'])} kinds of hostile flood (`benchmarks.hostile_load`){note}", result))
    if training:
        epochs = read_info(WEIGHTS)["config"]["epochs"]
        result = f"best epoch {training['best_epoch']} of {epochs}, validation {_pct(training['val_accuracy'])}, "
        result += f"{training['train_minutes']} min on 2 CPU cores"
        out.append(("training (`python train.py`, then its evaluation)", result))
    return out


def render() -> str:
    table = "\n".join(f"| {measure} | {result} |" for measure, result in rows())
    return f"{START}\n| measure (command) | result |\n|---|---|\n{table}\n{END}"


def render_limits() -> str:
    table = "\n".join(f"| {a} | {b} | {c} |" for a, b, c in limit_rows())
    return f"{LIMITS_START}\n| limit | value | what a client gets |\n|---|---|---|\n{table}\n{LIMITS_END}"


def updated(text: str, start_mark: str, end_mark: str, block: str) -> str:
    start, end = text.index(start_mark), text.index(end_mark) + len(end_mark)
    return text[:start] + block + text[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a file is not what this renders")
    args = parser.parse_args(argv)
    stale = []
    for path, start_mark, end_mark, block in (
        (README, START, END, render()),
        (GUIDE, LIMITS_START, LIMITS_END, render_limits()),
    ):
        text = path.read_text()
        new = updated(text, start_mark, end_mark, block)
        if new != text:
            stale.append(path.relative_to(ROOT).as_posix())
            if not args.check:
                path.write_text(new)
    if args.check and stale:
        print(f"{', '.join(stale)}: stale tables; run `python -m benchmarks.readme`", file=sys.stderr)
        return 1
    if not args.check:
        print(
            "README.md's Results and docs/operating.md's Limits rendered from weights/, benchmarks/results/ "
            "and digitrec/limits.py"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
