#!/usr/bin/env bash
# A Python base image for the Dockerfile made from Debian's own packages, for machines that can reach
# Debian's mirror but no container registry: `bash tests/docker_base.sh [TAG]` (root; needs debootstrap).
# Then: DIGITREC_TEST_DOCKER=1 DIGITREC_DOCKER_BASE=TAG bash test.sh -k docker
set -euo pipefail
tag="${1:-digitrec-base:bookworm}"
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
  bookworm "$root" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >/dev/null
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
# This machine's trust store, so that pip in the image trusts what this machine's pip trusts (a proxy's CA).
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
tar -C "$root" -c . | docker import \
  --change "ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt" \
  - "$tag" >/dev/null
echo "$tag"
