"""How large each install is: a fresh virtual environment per requirements file, measured on disk.

    python -m benchmarks.install_size

``app``: ``requirements.txt``, what ``python app.py`` and a Space install (LiteRT, no
TensorFlow). ``train``: that plus ``requirements-train.txt`` (TensorFlow and Keras), what
training, evaluation and the tests need. Needs the package index; pip's cache makes reruns quick.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.common import ROOT, write_results

INSTALLS = {"app": ["requirements.txt"], "train": ["requirements.txt", "requirements-train.txt"]}


def venv_mb(requirements: list[str]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        venv = Path(tmp) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        files = [arg for name in requirements for arg in ("-r", str(ROOT / name))]
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", *files], check=True)
        return sum(p.stat().st_size for p in venv.rglob("*") if p.is_file() and not p.is_symlink()) / 2**20


def main() -> None:
    results = {name: {"requirements": files, "venv_mb": round(venv_mb(files))} for name, files in INSTALLS.items()}
    results["app_vs_train"] = round(results["app"]["venv_mb"] / results["train"]["venv_mb"], 2)
    for name, r in results.items():
        print(name, r)
    write_results("install_size", results)


if __name__ == "__main__":
    main()
