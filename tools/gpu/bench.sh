#!/usr/bin/env bash
# On the GPU machine, from the repository root, with .device-carry/ from tools/gpu/prepare.sh:
# times the ViT-B/16 modules (vit_b16*) at B = 1, 8, 64 against PyTorch eager on the same GPU
# and prints a Markdown table (tools/gpu/gpu_check.py bench; extra arguments passed on).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
carry=${BLOCKC_CARRY:-$root/.device-carry}
export PYTHONUNBUFFERED=1 LD_LIBRARY_PATH="$carry/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
exec python3 "$root/tools/gpu/gpu_check.py" bench --carry "$carry" "$@"
