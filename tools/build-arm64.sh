#!/usr/bin/env bash
# Cross-builds the runtime (libblockc_runtime.so) and a run-only `blockc` (run, bench) for
# AArch64 Linux into build-arm64/: toolchain cmake/aarch64-linux-gnu.cmake (Debian's
# g++-aarch64-linux-gnu), BLOCKC_WITH_COMPILER=OFF (MLIR and libHalide exist for x86-64
# only). tools/build.sh runs it after tools/setup.sh. Run the CLI under qemu-user:
#   qemu-aarch64 -L /usr/aarch64-linux-gnu build-arm64/tools/blockc/blockc run MODULE ...
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv"
halide=$("$venv/bin/python" -c "import halide; print(halide.install_dir())")
"$venv/bin/cmake" -S "$root" -B "$root/build-arm64" -G Ninja \
  -DCMAKE_MAKE_PROGRAM="$venv/bin/ninja" \
  -DCMAKE_TOOLCHAIN_FILE="$root/cmake/aarch64-linux-gnu.cmake" \
  -DCMAKE_BUILD_TYPE=Release \
  -DBLOCKC_WITH_COMPILER=OFF \
  -DCMAKE_FIND_ROOT_PATH="$root/.deps/arm64" \
  -DHalideHelpers_DIR="$halide/lib64/cmake/HalideHelpers"
"$venv/bin/cmake" --build "$root/build-arm64" -j "${BLOCKC_JOBS:-2}"
