#!/usr/bin/env bash
# Install the test tools into .venv and run every test, the real-browser tests included.
# Extra arguments go to pytest, e.g. `bash test.sh -m "not slow"` (the fast subset) or `-k preprocess`.
set -euo pipefail
cd "$(dirname "$0")"

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -r requirements-test.txt -e .

# Playwright drives Debian's Chromium; `playwright install` would download a browser instead.
# The README's curl example is run by a test too.
if ! command -v chromium >/dev/null 2>&1 || ! command -v curl >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium curl >/dev/null
fi

export GRADIO_ANALYTICS_ENABLED=False HF_HUB_DISABLE_TELEMETRY=1 TF_CPP_MIN_LOG_LEVEL=2
.venv/bin/python -m pytest "$@"
