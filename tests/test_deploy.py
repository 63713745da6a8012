"""Deploying the app as a Space, against the loopback Hub; the uploaded copy must start and answer."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import pytest
from gradio_client import Client, handle_file
from huggingface_hub import snapshot_download
from packaging.requirements import Requirement

from digitrec.hub import ROOT, HubError, deploy, push, space_files
from digitrec.render import STROKES, draw_strokes
from digitrec.weights import WEIGHTS
from tests.conftest import free_port


def test_deploy_uploads_exactly_what_the_space_needs(hub):
    url, info = deploy("alice/digitrec-space")
    files = set(hub.files("space", "alice/digitrec-space")) - {".gitattributes"}
    assert files == set(space_files())
    assert {
        "app.py",
        "requirements.txt",
        "README.md",
        "digitrec/preprocess.py",
        "digitrec/page.js",
        "weights/model.weights.h5",
    } <= files
    assert not any(f.startswith(("tests/", "benchmarks/", ".ci/", ".venv/")) or "__pycache__" in f for f in files)
    assert str(url).endswith("/spaces/alice/digitrec-space") and len(info.oid) == 40


def test_redeploy_with_a_hub_model_updates_in_place(hub):
    push("alice/digits-for-space", WEIGHTS)
    deploy("alice/swap-space")
    _, info = deploy("alice/swap-space", model="hf://alice/digits-for-space")
    repo = hub.state.repos[("space", "alice/swap-space")]
    assert repo.branches["main"] == info.oid
    assert not any(f.startswith("weights/") for f in hub.files("space", "alice/swap-space"))
    assert repo.variables["DIGITREC_MODEL"] == "hf://alice/digits-for-space"
    deploy("alice/swap-space")
    assert "weights/model.weights.h5" in hub.files("space", "alice/swap-space")
    assert "DIGITREC_MODEL" not in repo.variables


def test_mismatched_front_matter_is_refused_before_uploading(hub, tmp_path):
    root = tmp_path / "repo"
    shutil.copytree(ROOT, root, ignore=shutil.ignore_patterns(".venv", ".git", "artifacts", "__pycache__"))
    readme = (root / "README.md").read_text()
    (root / "README.md").write_text(readme.replace("sdk_version: ", "sdk_version: 0.0.1  # was ", 1))
    before = len(hub.state.requests)
    with pytest.raises(HubError, match=r"sdk_version.*gradio=="):
        deploy("alice/never", root=root)
    assert len(hub.state.requests) == before  # nothing was sent
    assert ("space", "alice/never") not in hub.state.repos


def requirements_are_met(requirements: Path) -> None:
    for line in requirements.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            req = Requirement(line)
            assert req.specifier.contains(metadata.version(req.name), prereleases=True), line


@pytest.mark.slow  # starts the deployed app in a subprocess
@pytest.mark.parametrize("model", [None, "hf://alice/digits-at-start"], ids=["bundled weights", "hub model"])
def test_the_uploaded_space_starts_and_answers(hub, tmp_path, model):
    space = f"alice/live-{'hub' if model else 'bundled'}"
    if model:
        push("alice/digits-at-start", WEIGHTS)
    deploy(space, model=model)
    checkout = Path(snapshot_download(space, repo_type="space", local_dir=str(tmp_path / "space")))
    requirements_are_met(checkout / "requirements.txt")
    port = free_port()
    env = {
        **os.environ,
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "HF_HOME": str(tmp_path / "space-hf-home"),
        "PYTHONPATH": "",
    }
    if model:
        env["DIGITREC_MODEL"] = hub.state.repos[("space", space)].variables["DIGITREC_MODEL"]
    proc = subprocess.Popen(
        [sys.executable, "app.py"], cwd=checkout, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        client = None
        deadline = time.time() + 120
        while client is None and time.time() < deadline and proc.poll() is None:
            try:
                client = Client(f"http://127.0.0.1:{port}/", verbose=False)
            except Exception:
                time.sleep(1)
        assert client is not None, proc.stdout.read() if proc.poll() is not None else "app did not come up"
        img = draw_strokes(STROKES["4_open"], size=(400, 400), width=20)
        img.save(tmp_path / "four.png")
        assert client.predict(handle_file(str(tmp_path / "four.png")), api_name="/predict_image")["label"] == "4"
        # The Space serves on LiteRT: no TensorFlow library in the process.
        maps = Path(f"/proc/{proc.pid}/maps").read_text()
        assert "/tensorflow/" not in maps and "/ai_edge_litert/" in maps
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0]
    assert f"model loaded from {model or checkout / 'weights'}" in output


def test_deploy_with_a_feedback_repo_creates_it_private_and_sets_the_variable(hub, capsys):
    from digitrec.hub import main

    main(["deploy", "alice/space-with-feedback", "--feedback-repo", "alice/digit-corrections"])
    assert hub.state.repos[("dataset", "alice/digit-corrections")].private
    assert "HF_TOKEN" in capsys.readouterr().out
    variables = hub.state.repos[("space", "alice/space-with-feedback")].variables
    assert variables["DIGITREC_FEEDBACK_REPO"] == "alice/digit-corrections"


def test_deploy_links_the_model_and_dataset_in_the_space_card_and_sets_its_hardware(hub, capsys):
    from huggingface_hub import metadata_load

    from digitrec.hub import main

    main(["push", "alice/digits-linked"])
    main(
        [
            "deploy",
            "alice/linked-space",
            "--model",
            "hf://alice/digits-linked",
            "--feedback-repo",
            "alice/linked-corrections",
            "--hardware",
            "cpu-basic",
        ]
    )
    out = capsys.readouterr().out
    assert "spaces-overview" in out and "spaces-gpus" in out  # where the plans and the hardware are described
    readme = hub.files("space", "alice/linked-space")["README.md"]
    path = Path(tempfile.mkdtemp()) / "README.md"
    path.write_bytes(readme if isinstance(readme, bytes) else readme.encode())
    meta = metadata_load(path)
    assert meta["models"] == ["alice/digits-linked"] and meta["datasets"] == ["alice/linked-corrections"]
    assert "mcp-server" in meta["tags"] and meta["sdk_version"]
    assert hub.state.repos[("space", "alice/linked-space")].hardware == "cpu-basic"
