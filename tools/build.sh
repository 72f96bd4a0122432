#!/usr/bin/env bash
# Installs the dependencies (tools/setup.sh), then configures and builds blockc in build/
# and installs its Python package into .venv.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/setup.sh"
venv="$root/.venv"
halide=$("$venv/bin/python" -c "import halide; print(halide.install_dir())")
# Twice: the first configure of a new tree writes per-target PDB variables into build.ninja
# that every later configure drops, so the later one (pip's, below) would rebuild everything.
for _ in 1 2; do
  "$venv/bin/cmake" -S "$root" -B "$root/build" -G Ninja \
    -DCMAKE_MAKE_PROGRAM="$venv/bin/ninja" \
    -DCMAKE_BUILD_TYPE=Release \
    -DMLIR_DIR=/usr/lib/llvm-19/lib/cmake/mlir \
    -DHalide_DIR="$halide/lib64/cmake/Halide" \
    -DPython_EXECUTABLE="$venv/bin/python" > "$root/build.configure.log" 2>&1 ||
    { cat "$root/build.configure.log"; exit 1; }
done
rm -f "$root/build.configure.log"
"$venv/bin/cmake" --build "$root/build" -j "${BLOCKC_JOBS:-2}"
# The Python package into .venv, from the tree just built.
"$venv/bin/python" -m pip install -q --disable-pip-version-check --no-build-isolation --no-deps \
  --config-settings=build-dir=build "$root"
# The AArch64 runtime and run-only CLI (build-arm64/), for the e2e_arm64 test under qemu.
[ "${BLOCKC_SKIP_ARM64:-0}" = 1 ] || "$root/tools/build-arm64.sh"
