"""Weights on the Hugging Face Hub, and the app as a Space.

    python -m digitrec.hub pull USER/REPO [--revision REV] [--to DIR]
    python -m digitrec.hub push USER/REPO [--private] [--message MSG]
    python -m digitrec.hub deploy USER/SPACE [--private] [--model hf://USER/REPO[@REV]] [--feedback-repo USER/DATASET]

Model repos use the layout Keras 3 writes for ``model.save("hf://…")``, so
``keras.saving.load_model("hf://USER/REPO")`` works for anyone. Downloads go through
the huggingface_hub cache; tokens come from ``HF_TOKEN`` or ``hf auth login`` and are
never printed.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, RepoCard, metadata_load, snapshot_download
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    HFValidationError,
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils import validate_repo_id

from digitrec.card import build_model_card
from digitrec.errors import HubError
from digitrec.weights import MODEL_FILES, WEIGHTS

ROOT = WEIGHTS.parent  # the project: what a Space deploys
FEEDBACK_REPO_ENV = "DIGITREC_FEEDBACK_REPO"  # a Space variable naming the dataset repo corrections go to
MODEL_ENV = "DIGITREC_MODEL"  # a Space variable (or shell variable) naming the model to serve


def parse_ref(ref: str) -> tuple[str, str | None]:
    """``hf://USER/REPO@REV`` (or ``USER/REPO``) -> ``("USER/REPO", "REV" or None)``."""
    body = ref[len("hf://") :] if ref.startswith("hf://") else ref
    repo_id, _, revision = body.partition("@")
    shown = ref if len(ref) <= 80 else ref[:80] + "…"
    problem = f"{shown!r} is not a Hub model reference: expected hf://USER/REPO or hf://USER/REPO@REVISION"
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", repo_id):
        raise HubError(problem)
    try:
        validate_repo_id(repo_id)  # the Hub's own rules: no "..", no leading or trailing "." or "-", ...
    except HFValidationError as exc:
        raise HubError(f"{problem} ({exc})") from None
    return repo_id, revision or None


def pull(ref: str, revision: str | None = None, to: str | Path | None = None) -> Path:
    """Download a model repo (through the huggingface_hub cache) and return its local folder.

    Args:
        ref: ``hf://USER/REPO[@REV]`` or ``USER/REPO``.
        revision: branch, tag or commit; overrides one given in ``ref``.
        to: copy the files into this folder instead of returning the cache folder.

    Raises:
        HubError: the repo or revision is missing, private, gated, or unreachable with nothing cached.
    """
    repo_id, ref_revision = parse_ref(ref)
    revision = revision or ref_revision
    where = f"model repo {repo_id}" + (f" at revision {revision!r}" if revision else "")
    kwargs = {"allow_patterns": list(MODEL_FILES), "local_dir": str(to) if to else None}
    return _download(where, "or use the bundled weights", repo_id, revision=revision, **kwargs)


def pull_dataset(ref: str) -> tuple[Path, str]:
    """Download a dataset repo (``hf://datasets/USER/DATASET[@REV]``); its local folder and commit.

    Raises:
        HubError: as :func:`pull`.
    """
    body = ref[len("hf://datasets/") :] if ref.startswith("hf://datasets/") else ref.removeprefix("hf://")
    repo_id, revision = parse_ref(body)
    where = f"dataset repo {repo_id}" + (f" at revision {revision!r}" if revision else "")
    folder = _download(where, "or train without it", repo_id, repo_type="dataset", revision=revision)
    return folder, folder.name  # the snapshot folder is named after the commit


def _download(where: str, otherwise: str, repo_id: str, **kwargs) -> Path:
    """``snapshot_download`` with every failure as a :class:`HubError` that names the repo and what to do."""
    try:
        return Path(snapshot_download(repo_id, **kwargs))
    except RevisionNotFoundError:
        raise HubError(f"{where}: revision not found. Check the branch, tag or commit name.") from None
    except GatedRepoError:
        raise HubError(
            f"{where} is gated: accept its conditions on the Hub page, then log in (`hf auth login` or HF_TOKEN)."
        ) from None
    except RepositoryNotFoundError:
        raise HubError(
            f"{where} not found, or private and no valid token was sent: check the name, "
            "or log in with access to it (`hf auth login` or HF_TOKEN)."
        ) from None
    except (LocalEntryNotFoundError, OfflineModeIsEnabled):
        raise HubError(
            f"{where} is not in the local cache and the Hub cannot be reached (offline mode or no "
            f"network). Connect once to download it, {otherwise}."
        ) from None
    except HfHubHTTPError as exc:
        raise HubError(f"{where}: the Hub answered with an error ({exc.response.status_code}).") from None
    except (HFValidationError, ValueError) as exc:
        raise HubError(f"{where}: {exc}") from None
    except OSError as exc:  # no network, DNS failure, disk full in the cache
        raise HubError(
            f"{where} could not be downloaded ({type(exc).__name__}: {exc}). Check the network, {otherwise}."
        ) from None


def push(repo_id: str, folder: str | Path = WEIGHTS, private: bool = False, message: str | None = None):
    """Upload a model folder with a model card built from its measured metrics.

    Returns:
        The ``CommitInfo`` of the upload (``.commit_url``, ``.oid``).
    """
    folder = Path(folder)
    present = [name for name in MODEL_FILES if (folder / name).is_file() and name != "README.md"]
    if "model.weights.h5" not in present:
        raise HubError(f"no weights in {folder}: run `python train.py` first")
    card = build_model_card(folder, repo_id)
    api = HfApi(library_name="keras")
    try:
        card.validate(repo_type="model")
        api.create_repo(repo_id, private=private, exist_ok=True)
        operations = [CommitOperationAdd(name, str(folder / name)) for name in present]
        operations.append(CommitOperationAdd("README.md", str(card).encode()))
        info = api.create_commit(repo_id, operations, commit_message=message or "Upload digitrec model")
    except HfHubHTTPError as exc:
        raise HubError(
            f"push to {repo_id} failed ({exc.response.status_code}): check the name and that your "
            "token may write to it."
        ) from None
    return info


# ---------------------------------------------------------------------------------------------
# Spaces


def space_files(root: Path = ROOT, with_weights: bool = True) -> list[str]:
    """Exactly what a Space needs to run ``app.py``, as paths relative to ``root``."""
    files = ["app.py", "requirements.txt", "README.md", "LICENSE"]
    files += sorted(p.relative_to(root).as_posix() for p in (root / "digitrec").glob("*.py"))
    files += sorted(p.relative_to(root).as_posix() for p in (root / "digitrec").glob("*.js"))
    files += sorted(p.relative_to(root).as_posix() for p in (root / "examples").glob("*.png"))
    # The README's picture, the app's icon, and the guide the README links.
    files += sorted(p.relative_to(root).as_posix() for p in (root / "docs").glob("*.png"))
    files += sorted(p.relative_to(root).as_posix() for p in (root / "docs").glob("*.md"))
    if with_weights:
        files += [f"weights/{name}" for name in MODEL_FILES if (root / "weights" / name).is_file()]
    return [f for f in files if (root / f).is_file()]


def check_space_config(root: Path = ROOT) -> dict:
    """Refuse a deployment whose README front matter disagrees with ``requirements.txt``."""
    meta = metadata_load(root / "README.md") or {}
    problems = []
    for key, expected in (("sdk", "gradio"), ("app_file", "app.py")):
        if meta.get(key) != expected:
            problems.append(f"front matter {key}: {meta.get(key)!r}, expected {expected!r}")
    pins = re.findall(r"^gradio(?:\[[\w,]+\])?==([\w.]+)\s*$", (root / "requirements.txt").read_text(), flags=re.M)
    if len(pins) != 1:
        problems.append("requirements.txt must pin gradio exactly once (gradio==X.Y.Z)")
    elif str(meta.get("sdk_version")) != pins[0]:
        problems.append(
            f"front matter sdk_version {meta.get('sdk_version')!r} but requirements.txt pins "
            f"gradio=={pins[0]}: make them equal"
        )
    if problems:
        raise HubError("refusing to deploy, README.md and requirements.txt disagree:\n  - " + "\n  - ".join(problems))
    return meta


SPACES_DOCS = "https://huggingface.co/docs/hub/spaces-overview"  # which plan a Space needs; it changes, so link it
HARDWARE_DOCS = "https://huggingface.co/docs/hub/spaces-gpus"
SPACE_TAGS = ["digit-recognition", "handwriting", "mnist", "keras", "gradio", "mcp-server"]
HOSTING_NOTE = (
    f"Hosting: Gradio Spaces run on compute; the Hub's Spaces overview ({SPACES_DOCS}) says which plan creating "
    f"one needs and what a free account may host (ZeroGPU), and {HARDWARE_DOCS} lists the hardware for "
    "--hardware. The first build installs requirements.txt (no TensorFlow: the model runs on LiteRT) and takes "
    "a few minutes; the Space's "
    "Logs tab shows it."
)
LOGIN = "log in with `hf auth login`, or set HF_TOKEN to a token that may write"


def space_readme(root: Path, model: str | None, feedback_repo: str | None) -> bytes:
    """The README a Space gets: this one, its front matter linking the model and dataset repos it uses."""
    card = RepoCard((root / "README.md").read_text())
    if model:
        card.data.models = [parse_ref(model)[0]]
    if feedback_repo:
        card.data.datasets = [parse_ref(feedback_repo)[0]]
    card.data.tags = SPACE_TAGS
    return str(card).encode()


def deploy(
    space_id: str,
    private: bool = False,
    model: str | None = None,
    root: Path = ROOT,
    feedback_repo: str | None = None,
    hardware: str | None = None,
):
    """Create or update a Gradio Space with the app; bundled weights, or a model repo pulled at start.

    With ``feedback_repo``, visitors' corrections go to that dataset repo (created private if
    missing): the Space variable ``DIGITREC_FEEDBACK_REPO`` names it, and the Space needs a
    write token as its ``HF_TOKEN`` secret.

    Returns:
        ``(space_url, commit_info)``.
    """
    check_space_config(root)
    if model:
        parse_ref(model)
    if feedback_repo:
        parse_ref(feedback_repo)
    api = HfApi()
    wanted = space_files(root, with_weights=model is None)
    try:
        url = api.create_repo(space_id, repo_type="space", space_sdk="gradio", private=private, exist_ok=True)
        existing = set(api.list_repo_files(space_id, repo_type="space"))
        readme = space_readme(root, model, feedback_repo)
        operations = [CommitOperationAdd(f, readme if f == "README.md" else str(root / f)) for f in wanted]
        operations += [CommitOperationDelete(f) for f in sorted(existing - set(wanted) - {".gitattributes"})]
        info = api.create_commit(
            space_id,
            operations,
            repo_type="space",
            commit_message=f"Deploy digitrec{f' serving {model}' if model else ''}",
        )
        if model:
            api.add_space_variable(space_id, MODEL_ENV, model, description="model the app serves")
        else:
            api.delete_space_variable(space_id, MODEL_ENV)
        if hardware:
            api.request_space_hardware(space_id, hardware)
        if feedback_repo:
            api.create_repo(feedback_repo, repo_type="dataset", private=True, exist_ok=True)
            api.add_space_variable(
                space_id,
                FEEDBACK_REPO_ENV,
                feedback_repo,
                description="dataset repo that visitors' corrections are pushed to",
            )
    except HfHubHTTPError as exc:
        raise HubError(
            f"deploying to Space {space_id} failed ({exc.response.status_code}): check the name and that "
            f"your token may write to it ({LOGIN})."
        ) from None
    return url, info


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m digitrec.hub", description="digitrec on the Hugging Face Hub")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pull", help="download a model repo")
    p.add_argument("repo", help="USER/REPO or hf://USER/REPO[@REV]")
    p.add_argument("--revision", help="branch, tag or commit")
    p.add_argument("--to", help="copy the files into this folder (e.g. weights)")
    p = sub.add_parser("push", help="upload weights/ as a model repo with its model card")
    p.add_argument("repo", help="USER/REPO")
    p.add_argument("--folder", default=str(WEIGHTS), help="model folder to upload")
    p.add_argument("--private", action="store_true")
    p.add_argument("--message", help="commit message")
    p = sub.add_parser("deploy", help="create or update a Gradio Space running the app")
    p.add_argument("space", help="USER/SPACE")
    p.add_argument("--private", action="store_true")
    p.add_argument("--model", help="hf://USER/REPO[@REV] for the Space to pull at start instead of bundled weights")
    p.add_argument("--feedback-repo", metavar="USER/DATASET", help="push visitors' corrections to this dataset repo")
    p.add_argument("--hardware", help=f"the Space's hardware, e.g. cpu-basic or zero-a10g (see {HARDWARE_DOCS})")
    args = parser.parse_args(argv)
    try:
        if args.command == "pull":
            print(pull(args.repo, args.revision, args.to))
        elif args.command == "push":
            info = push(args.repo, args.folder, args.private, args.message)
            print(f"pushed {args.repo}: {info.commit_url}")
        else:
            url, info = deploy(
                args.space, args.private, args.model, feedback_repo=args.feedback_repo, hardware=args.hardware
            )
            print(f"Space: {url}\ncommit: {info.oid}\n{HOSTING_NOTE}")
            if args.feedback_repo:
                print(
                    f"Corrections go to the private dataset {args.feedback_repo}. Add a token that may write to it "
                    "as the Space secret HF_TOKEN (Space settings > Variables and secrets)."
                )
    except HubError as exc:
        sys.exit(f"error: {exc}")


if __name__ == "__main__":
    main()
