#!/usr/bin/env bash
# One line from nothing to a fine-tuned model you can chat with:
#   bash scripts/one_click.sh            (from a checkout)    SWIFT_ONE_CLICK_YES=1: take every default
# It makes (or reuses) a virtual environment, installs swift into it with the CPU or CUDA torch that suits the
# machine, then starts `swift menu`: download → train → chat → eval → export → deploy, each step printing the
# exact swift command it runs.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$(realpath -m "${SWIFT_VENV:-$HERE/.venv}")"  # absolute: make runs in $HERE
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
  echo "== creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
# Installed means the swift command and its torch are there (checked from /, where a checkout's swift/ folder
# cannot pass for an installed one)
if [ ! -x "$VENV/bin/swift" ] || ! (cd / && "$VENV/bin/python" -c 'import torch, swift.cli.main') 2>/dev/null; then
  echo "== installing swift into $VENV (make setup)"
  make -C "$HERE" setup VENV="$VENV"
fi
if [ "${SWIFT_ONE_CLICK_YES:-0}" = 1 ]; then
  exec "$VENV/bin/swift" menu --yes "$@"
fi
exec "$VENV/bin/swift" menu "$@"
