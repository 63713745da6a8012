"""The Docker image, built and run on this machine: slow, so only with DIGITREC_TEST_DOCKER=1.

It needs a Docker daemon and a base image with Python 3.11+: ``python:3.11-slim`` by default, or
DIGITREC_DOCKER_BASE (``tests/docker_base.sh`` makes one from Debian's packages where no registry
can be reached). The image installs requirements.txt from the package index.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
BASE = os.environ.get("DIGITREC_DOCKER_BASE", "python:3.11-slim")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("DIGITREC_TEST_DOCKER") != "1", reason="builds a Docker image: set DIGITREC_TEST_DOCKER=1"
    ),
]


def _docker(*args: str, timeout: float = 120) -> str:
    return subprocess.run(["docker", *args], check=True, capture_output=True, text=True, timeout=timeout).stdout


def test_the_image_runs_the_app_as_a_user_without_tensorflow_and_reports_healthy(tmp_path):
    from gradio_client import Client, handle_file

    from digitrec.render import STROKES, draw_strokes

    tag = f"digitrec-test:{uuid.uuid4().hex[:8]}"
    # Host networking: the build reaches the package index, the test reaches the app, on machines whose
    # Docker has no bridge network.
    _docker("build", "--network", "host", "--build-arg", f"BASE={BASE}", "-t", tag, str(ROOT), timeout=1800)
    try:
        check = "import importlib.util as u, getpass; print(u.find_spec('tensorflow') is None, getpass.getuser())"
        assert _docker("run", "--rm", "--network", "host", tag, "python", "-c", check).split() == ["True", "digitrec"]
        port = free_port()
        container = _docker(
            "run", "-d", "--network", "host", "-e", f"GRADIO_SERVER_PORT={port}", "--health-interval", "2s", tag
        ).strip()
        try:
            client, deadline = None, time.time() + 120
            while client is None and time.time() < deadline:
                try:
                    client = Client(f"http://127.0.0.1:{port}/", verbose=False)
                except Exception:
                    time.sleep(1)
            assert client is not None, _docker("logs", container)
            draw_strokes(STROKES["7_crossed"], size=(400, 400), width=20).save(tmp_path / "seven.png")
            assert client.predict(handle_file(str(tmp_path / "seven.png")), api_name="/predict_image")["label"] == "7"
            while time.time() < deadline:
                health = json.loads(_docker("inspect", "--format", "{{json .State.Health}}", container))
                if health["Status"] != "starting":
                    break
                time.sleep(1)
            assert health["Status"] == "healthy", health
            logs = _docker("logs", container)
            assert "running on LiteRT" in logs and "Traceback" not in logs
        finally:
            _docker("rm", "-f", container)
    finally:
        _docker("rmi", "-f", tag)
