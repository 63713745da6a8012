# The digitrec app in a container: a self-hosted server, a cloud host, a Docker Space.
#
#   docker build -t digitrec .
#   docker run -p 7860:7860 digitrec                     # then open http://localhost:7860
#   docker run -p 7860:7860 -e DIGITREC_MODEL=hf://USER/REPO digitrec
#
# It installs requirements.txt only: the model runs on LiteRT, so there is no TensorFlow in the image.
# BASE is any image with Python 3.11+ and pip (tests/test_docker.py builds on one bootstrapped from
# Debian's own packages, as no registry can be reached there).
ARG BASE=python:3.11-slim
FROM ${BASE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    GRADIO_SERVER_NAME=0.0.0.0 \
    GRADIO_SERVER_PORT=7860 \
    GRADIO_ANALYTICS_ENABLED=False \
    HF_HUB_DISABLE_TELEMETRY=1 \
    HF_HOME=/home/digitrec/.cache/huggingface \
    DIGITREC_FEEDBACK_DIR=/home/digitrec/corrections \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# The app's settings, all optional (docs/operating.md "Hub and Spaces", "Corrections"): DIGITREC_MODEL (hf://USER/REPO[@REV]
# or a folder), DIGITREC_FEEDBACK_REPO with HF_TOKEN (push corrections to a dataset repo), DIGITREC_FEEDBACK_SALT,
# DIGITREC_TRUST_PROXY=1 behind a reverse proxy that sets X-Forwarded-For.

RUN python3 -m venv /opt/venv
COPY requirements.txt /app/requirements.txt
RUN pip install -r /app/requirements.txt

RUN useradd --create-home --uid 1000 digitrec
WORKDIR /app
COPY app.py LICENSE README.md ./
COPY digitrec/ digitrec/
COPY weights/ weights/
COPY examples/ examples/
COPY docs/ docs/
USER digitrec
RUN mkdir -p "$DIGITREC_FEEDBACK_DIR"

EXPOSE 7860
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/gradio_api/info' % os.environ['GRADIO_SERVER_PORT'], timeout=4)"]
CMD ["python", "app.py"]
