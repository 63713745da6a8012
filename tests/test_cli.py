"""From a terminal: ``python -m digitrec`` reads image files, and ``python app.py`` takes --host and --port."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from digitrec.cli import main
from digitrec.render import STROKES, draw_strokes

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def seven(tmp_path) -> str:
    path = tmp_path / "seven.png"
    draw_strokes(STROKES["7_crossed"], size=(400, 400), width=20).save(path)
    return str(path)


def test_each_file_gets_one_line_with_its_digit(seven, capsys):
    assert main([seven, str(ROOT / "examples" / "4_open.png")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"{seven}: 7 (") and ": 4 (" in lines[1]


def test_json_gives_every_probability(seven, capsys):
    assert main(["--json", seven]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["digit"] == "7" and answer["is_digit"] and len(answer["probabilities"]) == 10
    assert answer["probability"] == max(answer["probabilities"].values())


def test_a_number_is_read_whole(tmp_path, capsys):
    path = tmp_path / "number.png"
    strokes = [
        [(x / 4 + 0.05 + a * 0.15, y) for a, y in stroke] for x in range(4) for stroke in ([(0, 0.2), (0, 0.8)],)
    ]
    draw_strokes(strokes, size=(800, 200), width=14).save(path)
    assert main(["--number", str(path)]) == 0
    assert capsys.readouterr().out.strip() == f"{path}: 1111"


def test_a_letter_is_not_a_digit(tmp_path, capsys):
    path = tmp_path / "w.png"
    draw_strokes([[(0.1, 0.2), (0.3, 0.8), (0.5, 0.4), (0.7, 0.8), (0.9, 0.2)]], size=(400, 400), width=20).save(path)
    main([str(path)])
    assert "not a digit" in capsys.readouterr().out


def test_bad_files_get_one_error_line_each_and_a_failing_status(seven, tmp_path, capsys):
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    assert main([str(text), seven, str(tmp_path / "missing.png")]) == 1
    out, err = capsys.readouterr()
    assert out.startswith(f"{seven}: 7") and len(err.strip().splitlines()) == 2
    assert "not a readable image" in err and "No such file" in err and "Traceback" not in err


@pytest.mark.slow  # a subprocess that loads the model
def test_python_m_digitrec_prints_the_digit_and_nothing_else(seven, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    run = subprocess.run([sys.executable, "-m", "digitrec", seven], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.startswith(f"{seven}: 7") and run.stderr == ""
    run = subprocess.run([sys.executable, "-m", "digitrec", str(text)], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 1 and run.stdout == "" and len(run.stderr.strip().splitlines()) == 1


@pytest.mark.slow  # starts the app
def test_the_app_serves_on_the_port_it_is_given(tmp_path):
    from tests.conftest import free_port

    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": "1"}  # the option wins over Gradio's variable
    proc = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port), "--host", "127.0.0.1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/gradio_api/info", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        assert httpx.get(f"http://127.0.0.1:{port}/gradio_api/info", timeout=5).status_code == 200
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    assert f"running at http://127.0.0.1:{port}" in out and "share=True" not in out
    assert "cuInit" not in err and "cuda" not in err.lower()
