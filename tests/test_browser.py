"""A person's view: a real Chromium draws on the Sketchpad with the mouse and reads the Label."""

from __future__ import annotations

import shutil

import pytest
from playwright.sync_api import expect, sync_playwright

from digitrec.render import STROKES
from digitrec.serving import DRAW_PROMPT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="module")
def page(server_url):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 950})
        page.goto(server_url, wait_until="networkidle")
        yield page
        browser.close()


def draw(page, strokes) -> None:
    """Draw strokes (0-1 coordinates) with the mouse inside the visible drawing square."""
    box = page.locator("#sketch canvas").first.bounding_box()
    side = min(box["width"], box["height"]) * 0.75
    x0, y0 = box["x"] + (box["width"] - side) / 2, box["y"] + (box["height"] - side) / 2
    for stroke in strokes:
        page.mouse.move(x0 + stroke[0][0] * side, y0 + stroke[0][1] * side)
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(x0 + x * side, y0 + y * side, steps=15)
        page.mouse.up()
        page.wait_for_timeout(150)


@pytest.mark.parametrize("name", ["4_open", "7_crossed"])
def test_drawing_with_the_mouse_is_recognized_and_clear_resets(page, artifacts, name):
    digit = name[0]
    expect(page.locator("#status")).to_contain_text(DRAW_PROMPT, timeout=20_000)
    draw(page, STROKES[name])  # no click on the brush tool first: the page selects it
    expect(page.locator("#status")).to_contain_text(f"Recognized {digit}", timeout=30_000)
    label = page.locator("#label")
    expect(label).to_contain_text("%")
    expect(label.locator('[data-testid="label-output-value"]')).to_have_text(digit)  # heading: the best class
    page.screenshot(path=str(artifacts / f"browser_{name}.png"), full_page=True)

    # Let the last stroke's recognition land first: a clear within a fraction of a second of the
    # last stroke can still be overtaken by that stroke's result (see the README's known issues).
    page.wait_for_timeout(1500)
    expect(label.locator('[data-testid="label-output-value"]')).to_have_text(digit)
    page.locator('#sketch button[aria-label="Clear canvas"]').click()
    expect(page.locator("#status")).to_contain_text(DRAW_PROMPT, timeout=20_000)
    expect(label).not_to_contain_text("%", timeout=20_000)
    page.screenshot(path=str(artifacts / f"browser_{name}_cleared.png"), full_page=True)
