#!/usr/bin/env bash
# The one command: sets up bench/.venv if needed, then compares blockc with PyTorch and
# ONNX Runtime.
#   bench/run.sh [ARGS]           blocks: bench/run.py (e.g. --batch 1 8 --threads 2 --variants vit_b16)
#   bench/run.sh --models [ARGS]  whole models: bench/models.py (e.g. --models vit_tiny vit_base --batch 1 8)
#   bench/run.sh --bert [ARGS]    all-MiniLM-L6-v2 sentence embeddings: bench/bert.py (e.g. --tokens 16 256)
#   bench/run.sh --overhead       what a call from Python costs: bench/overhead.py
#   bench/run.sh --precision [ARGS]  fp32 / bf16 / int8 blocks vs PyTorch bf16 and ORT int8: bench/precision.py
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
script=run.py
if [ "${1:-}" = "--models" ]; then
  script=models.py
  shift
elif [ "${1:-}" = "--bert" ]; then
  script=bert.py
  shift
elif [ "${1:-}" = "--overhead" ]; then
  script=overhead.py
  shift
elif [ "${1:-}" = "--precision" ]; then
  script=precision.py
  shift
fi
# BLOCKC_BUILD=DIR: blockc and its runtime from DIR (bench/common.py), never built here.
if [ -n "${BLOCKC_BUILD:-}" ]; then
  if [ ! -x "$BLOCKC_BUILD/tools/blockc/blockc" ] || [ ! -e "$BLOCKC_BUILD/runtime/libblockc_runtime.so" ]; then
    echo "bench/run.sh: BLOCKC_BUILD=$BLOCKC_BUILD holds no built blockc" >&2
    exit 1
  fi
elif [ ! -x "$root/build/tools/blockc/blockc" ] || [ ! -e "$root/build/runtime/libblockc_runtime.so" ]; then
  "$root/tools/build.sh"
fi
"$here/setup.sh"
exec "$here/.venv/bin/python" "$here/$script" "$@"
