"""The README and docs/operating.md: their rendered tables match the files they come from, and the README's
examples run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from benchmarks.readme import GUIDE, README, limit_rows, render, render_limits

ROOT = Path(__file__).resolve().parent.parent


def test_results_and_limits_in_the_readme_are_rendered_from_their_files():
    assert render() in README.read_text(), "run `python -m benchmarks.readme`"
    assert render_limits() in GUIDE.read_text(), "run `python -m benchmarks.readme`"


def test_every_limit_in_limits_py_is_in_the_readme_table():
    from digitrec import limits

    names = {n for n in dir(limits) if n.isupper()}
    source = Path(sys.modules["benchmarks.readme"].__file__).read_text()
    assert len(limit_rows()) >= 15
    missing = sorted(n for n in names if f"L.{n}" not in source)
    assert not missing, f"limits missing from the docs/operating.md table: {missing}"


def test_the_python_example_runs_from_another_folder(tmp_path):
    block = re.search(r"## Python\n\n```python\n(.*?)```", README.read_text(), re.S).group(1)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-c", block], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr[-2000:]


def test_the_http_examples_run_against_the_app(server_url, tmp_path):
    text = README.read_text()
    client_block = re.search(r"```python\n(from gradio_client.*?)```", text, re.S).group(1)
    client_block = client_block.replace("http://127.0.0.1:7860/", server_url + "/")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-c", client_block], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert run.returncode == 0 and (tmp_path / "seven.png").is_file(), run.stderr[-2000:]
    curl_block = (
        re.search(r"```bash\n(URL=http.*?)```", text, re.S).group(1).replace("http://127.0.0.1:7860", server_url)
    )
    run = subprocess.run(["bash", "-c", curl_block], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and "event: complete" in run.stdout and '"label": "7"' in run.stdout, run.stderr
