#!/usr/bin/env bash
# Create (or update) the development environment in .venv: the pinned torch/torchvision
# pair, the five agreid packages (editable) and the dev tools. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${AGREID_VENV:-.venv}
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# torch first, pinned: the CUDA build that also runs on the CPU, with its matching torchvision.
"$VENV/bin/python" -m pip install --quiet "torch==2.14.1" "torchvision==0.29.1"
"$VENV/bin/python" -m pip install --quiet \
  -e packages/agreid-core -e packages/agreid-losses -e packages/agreid-models \
  -e packages/agreid-video -e packages/agreid-cli \
  -r requirements-dev.txt
echo "environment ready: source $VENV/bin/activate"
