"""A person's view: a real Chromium draws on the Sketchpad with the mouse and reads the Label."""

from __future__ import annotations

import itertools
import shutil
import time

import pytest
from playwright.sync_api import expect, sync_playwright

from digitrec.render import STROKES
from digitrec.serving import DRAW_PROMPT

pytestmark = pytest.mark.slow  # a real Chromium

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# The only fixed waits: a hand's pause between strokes, and, before checking that something did NOT happen,
# the time within which any answer still on its way would land (answers take about 0.1 s here). Everything
# that should happen is polled for with expect().
STROKE_PAUSE_MS = 150
LATE_ANSWER_MS = 2000


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def page(browser, server_url):
    page = browser.new_page(viewport={"width": 1200, "height": 950})
    page.goto(server_url, wait_until="networkidle")
    return page


def draw(page, strokes) -> None:
    """Draw strokes (0-1 coordinates) with the mouse inside the visible drawing square."""
    box = page.locator("#sketch canvas").first.bounding_box()
    side = min(box["width"], box["height"]) * 0.75
    x0, y0 = box["x"] + (box["width"] - side) / 2, box["y"] + (box["height"] - side) / 2
    for stroke in strokes:
        page.mouse.move(x0 + stroke[0][0] * side, y0 + stroke[0][1] * side)
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(x0 + x * side, y0 + y * side, steps=3)
        page.mouse.up()
        page.wait_for_timeout(STROKE_PAUSE_MS)


@pytest.mark.parametrize("name", ["4_open", "7_crossed"])
def test_drawing_with_the_mouse_is_recognized_and_clear_resets(page, artifacts, name):
    digit = name[0]
    expect(page.locator("#status")).to_contain_text(DRAW_PROMPT, timeout=20_000)
    expect(page.locator('#sketch button[aria-label="Brush Size"]')).to_be_visible()  # for a small digit
    draw(page, STROKES[name])  # no click on the brush tool first: the page selects it
    expect(page.locator("#status")).to_contain_text(f"Recognized {digit}", timeout=30_000)
    label = page.locator("#label")
    expect(label).to_contain_text("%")
    expect(label.locator('[data-testid="label-output-value"]')).to_have_text(digit)  # heading: the best class
    page.screenshot(path=str(artifacts / f"browser_{name}.png"), full_page=True)

    page.wait_for_timeout(LATE_ANSWER_MS)  # no later answer contradicts it
    expect(label.locator('[data-testid="label-output-value"]')).to_have_text(digit)
    page.locator('#sketch button[aria-label="Clear canvas"]').click()
    expect(page.locator("#status")).to_contain_text(DRAW_PROMPT, timeout=20_000)
    expect(label).not_to_contain_text("%", timeout=20_000)
    page.screenshot(path=str(artifacts / f"browser_{name}_cleared.png"), full_page=True)


@pytest.mark.parametrize("delay_ms", [0, 300, 800])
def test_clearing_right_after_a_stroke_leaves_no_stale_result(page, delay_ms):
    # The stroke's picture is uploaded before its change event is sent, so a quick clear can
    # overtake it; the page must still end up empty.
    expect(page.locator("#status")).to_contain_text(DRAW_PROMPT, timeout=20_000)
    draw(page, STROKES["4_open"])
    page.wait_for_timeout(delay_ms)
    page.locator('#sketch button[aria-label="Clear canvas"]').click()
    page.wait_for_timeout(LATE_ANSWER_MS)
    expect(page.locator("#status")).to_contain_text(DRAW_PROMPT, timeout=100)
    expect(page.locator("#label")).not_to_contain_text("%", timeout=100)


def test_an_example_is_recognized_after_a_clear(page):
    expect(page.locator("#status")).to_contain_text(DRAW_PROMPT, timeout=20_000)
    page.locator("#examples img").nth(3).click()  # examples are sorted: 0_slashed, 1_flag, 1_plain, 2, ...
    expect(page.locator("#status")).to_contain_text("Recognized 2", timeout=30_000)
    expect(page.locator("#wrong")).to_be_visible(timeout=20_000)  # the answer's last event has run
    page.locator('#sketch button[aria-label="Clear canvas"]').click()
    expect(page.locator("#status")).to_contain_text(DRAW_PROMPT, timeout=20_000)


def test_a_real_pen_digit_drawn_in_the_browser_reads_as_its_rendering_does(page, recognizer, artifacts):
    import io

    import numpy as np
    from PIL import Image

    from digitrec import unipen
    from digitrec.preprocess import normalize

    row = next(r for r in unipen.rows("digits", "test") if r["label"] == "4")  # a test writer's real 4
    expect(page.locator("#status")).to_contain_text(DRAW_PROMPT, timeout=20_000)
    draw(
        page, [[tuple(p) for p in stroke[::2]] + [tuple(stroke[-1])] for stroke in unipen.unit_strokes(row["strokes"])]
    )
    rendered = normalize(unipen.draw(row["strokes"], np.random.default_rng(0), app=True, pose=False))

    def likeness() -> float:  # of the input the page shows now and the rendering
        src = page.locator("#seen img").first.get_attribute("src")
        if not src:
            return 0.0
        seen = Image.open(io.BytesIO(page.request.get(src).body())).convert("L")
        return float(np.corrcoef(np.asarray(seen.reduce(seen.width // 28), np.float32).ravel(), rendered.ravel())[0, 1])

    # Each stroke gets its own answer: poll until the answer to the whole drawing has landed.
    deadline, best = time.monotonic() + 30, 0.0
    while time.monotonic() < deadline and (best := likeness()) <= 0.9:
        page.wait_for_timeout(200)
    page.screenshot(path=str(artifacts / "browser_real_pen_4.png"), full_page=True)
    assert best > 0.9
    shown = page.locator('#label [data-testid="label-output-value"]').inner_text()
    assert shown == recognizer.recognize(rendered).digit == "4"
    page.locator('#sketch button[aria-label="Clear canvas"]').click()
    expect(page.locator("#status")).to_contain_text(DRAW_PROMPT, timeout=20_000)


def test_a_finger_draws_on_a_phone_and_the_layout_stacks(browser, server_url, artifacts):
    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    page = phone.new_page()
    page.goto(server_url, wait_until="networkidle")
    expect(page.locator("#status")).to_contain_text(DRAW_PROMPT, timeout=20_000)
    pad = page.locator("#sketch canvas").first
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390  # the canvas fits the screen
    # Touch events as a phone's browser sends them, through Chromium's input layer.
    touch = phone.new_cdp_session(page)
    side = min(box["width"], box["height"]) * 0.75
    x0, y0 = box["x"] + (box["width"] - side) / 2, box["y"] + (box["height"] - side) / 2
    for stroke in STROKES["7_crossed"]:
        points = [(x0 + x * side, y0 + y * side) for x, y in stroke]
        start = {"x": points[0][0], "y": points[0][1]}
        touch.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [start]})
        for (ax, ay), (bx, by) in itertools.pairwise(points):
            for t in range(1, 4):
                x, y = ax + (bx - ax) * t / 3, ay + (by - ay) * t / 3
                touch.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
        touch.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        page.wait_for_timeout(STROKE_PAUSE_MS)
    expect(page.locator("#status")).to_contain_text("Recognized 7", timeout=30_000)
    # On a narrow screen the answer sits right under the drawing, in view without scrolling.
    expect(page.locator("#status")).to_be_in_viewport()
    label = page.locator("#label").bounding_box()
    assert label["y"] >= box["y"] + box["height"]
    assert page.locator("#status").bounding_box()["y"] < page.locator("#wrong").bounding_box()["y"]
    page.screenshot(path=str(artifacts / "browser_phone_7_crossed.png"))  # what the visitor sees
    phone.close()


def test_a_correction_clicked_in_the_browser_lands_in_the_dataset_folder(page, feedback_dir, artifacts):
    from digitrec.corrections import read_corrections

    expect(page.locator("#status")).to_contain_text(DRAW_PROMPT, timeout=20_000)
    expect(page.locator("#wrong")).to_be_hidden()  # nothing to correct before a result
    before = len(read_corrections(feedback_dir))
    draw(page, STROKES["1_plain"])
    expect(page.locator("#status")).to_contain_text("Recognized", timeout=30_000)
    expect(page.locator("#correction")).to_contain_text("Nothing is kept unless you click")
    page.locator("#wrong button", has_text="4").click()
    expect(page.locator("#correction")).to_contain_text("Thanks: saved as a 4", timeout=20_000)
    rows = read_corrections(feedback_dir)
    assert len(rows) == before + 1 and rows[-1]["label"] == "4" and rows[-1]["x"].max() == 1.0
    page.screenshot(path=str(artifacts / "browser_correction.png"), full_page=True)
    page.locator('#sketch button[aria-label="Clear canvas"]').click()
    expect(page.locator("#wrong")).to_be_hidden(timeout=20_000)


def test_each_tab_answers_only_its_own_input(page, artifacts, tmp_path):
    from digitrec.render import draw_strokes

    expect(page.locator("#status")).to_contain_text(DRAW_PROMPT, timeout=20_000)
    draw(page, STROKES["7_crossed"])
    expect(page.locator("#status")).to_contain_text("Recognized 7", timeout=30_000)
    page.get_by_role("tab", name="Upload").click()
    expect(page.locator("#upload-status")).to_be_visible()
    three = tmp_path / "three.png"
    draw_strokes(STROKES["3"], size=(400, 400), width=20).save(three)
    page.locator("#upload input[type=file]").set_input_files(str(three))
    expect(page.locator("#upload-status")).to_contain_text("Recognized 3", timeout=30_000)
    page.screenshot(path=str(artifacts / "browser_upload_3.png"), full_page=True)
    page.get_by_role("tab", name="Draw").click()
    expect(page.locator("#status")).to_contain_text("Recognized 7")  # the drawing's own answer, not the upload's
    expect(page.locator('#label [data-testid="label-output-value"]')).to_have_text("7")
    page.screenshot(path=str(artifacts / "browser_back_to_draw.png"), full_page=True)
    page.locator('#sketch button[aria-label="Clear canvas"]').click()
    expect(page.locator("#status")).to_contain_text(DRAW_PROMPT, timeout=20_000)


def test_a_letter_called_not_a_digit_is_not_headlined_as_a_digit(page, artifacts):
    expect(page.locator("#status")).to_contain_text(DRAW_PROMPT, timeout=20_000)
    draw(page, [[(0.05, 0.2), (0.27, 0.85), (0.5, 0.35), (0.73, 0.85), (0.95, 0.2)]])  # a W
    expect(page.locator("#status")).to_contain_text("Not a digit?", timeout=30_000)
    expect(page.locator('#label [data-testid="label-output-value"]')).to_have_text("Not a digit?")
    expect(page.locator("#label")).to_contain_text("%")  # the ten probabilities stay under it
    page.screenshot(path=str(artifacts / "browser_not_a_digit.png"), full_page=True)
    page.locator('#sketch button[aria-label="Clear canvas"]').click()
    expect(page.locator("#status")).to_contain_text(DRAW_PROMPT, timeout=20_000)


def test_the_last_correction_clicked_for_a_drawing_wins(page, feedback_dir):
    from digitrec.corrections import read_corrections

    expect(page.locator("#status")).to_contain_text(DRAW_PROMPT, timeout=20_000)
    draw(page, STROKES["2"])
    expect(page.locator("#status")).to_contain_text("Recognized", timeout=30_000)
    before = len(read_corrections(feedback_dir))
    page.locator("#wrong button", has_text="8").click()
    expect(page.locator("#correction")).to_contain_text("Thanks: saved as an 8", timeout=20_000)
    page.locator("#wrong button", has_text="5").click()
    expect(page.locator("#correction")).to_contain_text("Thanks: saved as a 5", timeout=20_000)
    rows = read_corrections(feedback_dir)
    assert len(rows) == before + 1 and rows[-1]["label"] == "5"
    page.locator('#sketch button[aria-label="Clear canvas"]').click()
    expect(page.locator("#status")).to_contain_text(DRAW_PROMPT, timeout=20_000)


def test_the_page_links_the_manifest_a_phone_installs_it_from(page):
    # Chromium reads the manifest the page links; the app has no service worker, so nothing works offline.
    assert page.evaluate("() => [...document.querySelectorAll('link[rel=manifest]')].map(l => l.href)") == [
        page.url.rstrip("/") + "/manifest.json"
    ]
    assert page.evaluate("async () => (await navigator.serviceWorker.getRegistrations()).length") == 0
