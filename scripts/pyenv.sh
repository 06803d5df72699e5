#!/usr/bin/env bash
# pyenv.sh — the Python environment of the tests' independent consumers
# (scripts/sr_consume.py): a venv with the packages pinned in
# scripts/requirements-consumers.txt (confluent-kafka and its Schema Registry
# deserializers, protoc from grpcio-tools), created once from PyPI and cached under
# $TICKBRIDGE_CACHE/pyenv-<hash of the requirements>.
#
# Usage: scripts/pyenv.sh        prints the venv's python path on stdout
#        TICKBRIDGE_PYTHON="$(scripts/pyenv.sh)"
#
# Environment: PYTHON [python3] the interpreter the venv is made from (3.9 or later;
# Debian's python3 needs python3-venv, installed when missing).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TB_NAME=pyenv
# shellcheck source=_common.sh
. "$SCRIPT_DIR/_common.sh"

REQS="$SCRIPT_DIR/requirements-consumers.txt"
PY="${PYTHON:-python3}"
need_cmd "$PY" python3
need_cmd flock util-linux
hash="$(sha256sum "$REQS" | cut -c1-12)"
VENV="$TB_CACHE/pyenv-$hash"

if [ ! -x "$VENV/bin/python" ] || [ ! -f "$VENV/.complete" ]; then
  mkdir -p "$TB_CACHE"
  (
    flock -w 1200 9 || die "timed out waiting for another pyenv.sh"
    if [ ! -f "$VENV/.complete" ]; then
      t0="$(now_ms)"
      rm -rf "$VENV"
      if ! "$PY" -m venv "$VENV" >&2 2>/dev/null; then
        # Debian splits venv out of python3.
        rm -rf "$VENV"
        apt_install python3-venv
        "$PY" -m venv "$VENV" >&2
      fi
      log "installing $(grep -cv '^#' "$REQS") pinned packages from PyPI into $VENV ..."
      "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQS" >&2 \
        || die "pip install -r $REQS failed"
      "$VENV/bin/python" -c 'import confluent_kafka, fastavro, google.protobuf, grpc_tools, jsonschema' \
        || die "the consumers' packages do not import"
      touch "$VENV/.complete"
      log "ready in $(( ($(now_ms) - t0) / 1000 ))s"
    fi
  ) 9>"$TB_CACHE/.pyenv.lock"
fi
echo "$VENV/bin/python"
