"""The app's handlers called directly: what each tab shows and what each endpoint answers or refuses."""

from __future__ import annotations

import gradio as gr
import numpy as np
import pytest
from PIL import Image

from digitrec.explain import Explainer
from digitrec.nondigits import render_shape
from digitrec.render import STROKES, draw_strokes, render_number
from digitrec.serving import (
    DRAW_PROMPT,
    INSIDE_PROMPT,
    NO_IMAGE,
    NUMBER_PROMPT,
    Shown,
    api_predict,
    api_predict_number,
    api_recognize,
    show_drawing,
    show_inside,
    show_number,
)
from tests.conftest import sketch


def test_a_drawing_shows_ten_probabilities_the_input_and_the_verdict(recognizer, mnist_sample):
    x, y = mnist_sample
    shown = show_drawing(recognizer, x[5])
    assert isinstance(shown, Shown) and len(shown.label.probabilities) == 10
    assert shown.label.headline == max(shown.label.probabilities, key=shown.label.probabilities.get) == str(y[5])
    assert shown.seen.shape == (224, 224) and shown.seen.dtype == np.uint8 and shown.seen.max() == 255
    assert shown.status.startswith(f"Recognized **{y[5]}**")


@pytest.mark.parametrize(
    "value, expected",
    [(None, DRAW_PROMPT), (Image.new("RGB", (300, 300), "white"), DRAW_PROMPT), (b"not an image", "⚠️")],
    ids=["nothing", "blank", "unreadable"],
)
def test_no_drawing_or_a_bad_one_gets_a_message_and_no_numbers(recognizer, value, expected):
    shown = show_drawing(recognizer, value)
    assert shown.label is None and shown.seen is None and shown.status.startswith(expected)


def test_a_shape_is_shown_as_not_a_digit_with_its_probabilities(recognizer):
    shown = show_drawing(recognizer, render_shape("grid", np.random.default_rng(0)))
    assert "Not a digit?" in shown.status and sum(shown.label.probabilities.values()) == pytest.approx(1.0)
    assert shown.label.headline == "Not a digit?"  # the Label's headline says what the status says


def test_the_numbers_tab_reads_a_number(recognizer, mnist_sample):
    x, y = mnist_sample
    markdown = show_number(recognizer, render_number(x[[3, 47, 101]], np.random.default_rng(5)))
    assert markdown.startswith(f"## {y[3]}{y[47]}{y[101]}")
    assert show_number(recognizer, None) == NUMBER_PROMPT


def test_the_inside_tab_explains_a_drawing(recognizer, mnist_sample):
    inside = show_inside(Explainer(recognizer), mnist_sample[0][0])
    assert inside.saliency.shape == (224, 224, 3) and len(inside.blocks) == 3
    assert show_inside(Explainer(recognizer), None).status == INSIDE_PROMPT


def test_api_handlers_answer_and_refuse_with_the_reason(recognizer):
    seven = draw_strokes(STROKES["7_crossed"])
    probs = api_predict(recognizer, seven)
    assert max(probs, key=probs.get) == "7"
    assert api_recognize(recognizer, seven)["digit"] == "7"
    assert api_recognize(recognizer, render_shape("star", np.random.default_rng(1)))["digit"] is None
    with pytest.raises(gr.Error, match="no digits found"):
        api_predict_number(recognizer, Image.new("L", (400, 200), 255))
    with pytest.raises(gr.Error) as info:
        api_predict(recognizer, sketch())
    assert info.value.message == NO_IMAGE and "/predict_image" in NO_IMAGE
    with pytest.raises(gr.Error, match="no image received"):
        api_recognize(recognizer, None)


@pytest.mark.parametrize(
    "label, words", [("8", "saved as an 8"), ("4", "saved as a 4"), ("not a digit", "as not a digit")]
)
def test_a_correction_is_thanked_in_plain_english(recognizer, tmp_path, label, words):
    from digitrec.corrections import FeedbackStore
    from digitrec.serving import show_correction

    drawing = draw_strokes(STROKES["3"])
    assert words in show_correction(FeedbackStore(tmp_path), recognizer, drawing, label, address=label)


def test_the_numbers_table_names_places_not_digits(recognizer, mnist_sample):
    x, _ = mnist_sample
    markdown = show_number(recognizer, render_number(x[[3, 47]], np.random.default_rng(5)))
    assert "| 1st from the left |" in markdown and "| 2nd from the left |" in markdown


def test_the_verdict_label_headlines_the_verdict_over_all_ten_probabilities():
    from digitrec.serving import Verdict, VerdictLabel

    probabilities = {str(d): (0.91 if d == 0 else 0.01) for d in range(10)}
    data = VerdictLabel(num_top_classes=10).postprocess(Verdict("Not a digit?", probabilities))
    assert data.label == "Not a digit?" and len(data.confidences) == 10 and data.confidences[0].label == "0"
    assert VerdictLabel().postprocess(probabilities).label == "0"  # a plain dict as gr.Label shows it


def test_each_message_names_the_input_it_is_about(recognizer, tmp_path):
    from digitrec.serving import UPLOAD_PROMPT, UPLOADED

    blank = tmp_path / "blank.png"
    Image.new("L", (300, 300), 255).save(blank)
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    assert show_drawing(recognizer, str(blank), UPLOAD_PROMPT, UPLOADED).status.startswith("⚠️ Your upload: no digit")
    assert show_drawing(recognizer, str(text), UPLOAD_PROMPT, UPLOADED).status.startswith("⚠️ Your upload: the file")
    assert show_drawing(recognizer, str(text)).status.startswith("⚠️ Your drawing:")
    assert "canvas" not in show_drawing(recognizer, str(blank), UPLOAD_PROMPT, UPLOADED).status
