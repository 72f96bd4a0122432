#!/usr/bin/env bash
# On the GPU machine, from the repository root, with .device-carry/ from tools/gpu/prepare.sh:
# runs every compiled case module on the GPU at B = 3 and 1 against the PyTorch reference
# (tools/gpu/gpu_check.py test; extra arguments are passed on, e.g. --filter vit_b16).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
carry=${BLOCKC_CARRY:-$root/.device-carry}
export PYTHONUNBUFFERED=1 LD_LIBRARY_PATH="$carry/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
cat "$carry/info.txt" 2>/dev/null | head -3
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null
exec python3 "$root/tools/gpu/gpu_check.py" test --carry "$carry" "$@"
