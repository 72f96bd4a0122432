#!/usr/bin/env bash
# The one command: sets up bench/.venv if needed, then compares blockc with PyTorch and
# ONNX Runtime. Arguments go to bench/run.py (e.g. --batch 1 8 --threads 2 --variants vit_b16).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
if [ ! -x "$root/build/tools/blockc/blockc" ] || [ ! -e "$root/build/runtime/libblockc_runtime.so" ]; then
  "$root/tools/build.sh"
fi
"$here/setup.sh"
exec "$here/.venv/bin/python" "$here/run.py" "$@"
