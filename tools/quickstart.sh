#!/usr/bin/env bash
# The main job on a fresh machine: installs dependencies, builds blockc, compiles
# examples/vit_b16.block for this CPU, runs the module on a random input with random
# weights (PyTorch state-dict names), and prints the output summary and the latency.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/build.sh"
blockc="$root/build/tools/blockc/blockc"
out="$root/out/quickstart"
mkdir -p "$out"
"$blockc" compile "$root/examples/vit_b16.block" -o "$out/vit_b16"
"$root/.venv/bin/python" "$root/tools/random_weights.py" "$out/vit_b16" \
  -o "$out/weights.safetensors" --input "$out/x.npy" --batch 1
"$blockc" run "$out/vit_b16" --weights "$out/weights.safetensors" --input "$out/x.npy" \
  --output "$out/y.npy"
"$blockc" bench "$out/vit_b16" --weights "$out/weights.safetensors" --batch 1
