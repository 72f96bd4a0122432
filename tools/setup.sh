#!/usr/bin/env bash
# Installs what blockc needs, idempotently: Debian packages (MLIR/LLVM 19, Boost 1.81,
# GoogleTest, a C compiler) and the project venv .venv (Halide 21 wheel, CMake >= 3.28 that
# Halide's CMake package requires, NumPy and safetensors for tests, lit).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

packages=(libmlir-19-dev mlir-19-tools llvm-19-dev llvm-19-tools
          libboost-program-options1.81-dev libboost-json1.81-dev
          libgtest-dev g++ gcc python3 python3-venv)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

venv="$root/.venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
if ! "$venv/bin/python" -m pip freeze 2>/dev/null | sort | \
     diff -q <(grep -v '^#' "$root/tools/requirements.txt" | sort) - >/dev/null 2>&1; then
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$root/tools/requirements.txt"
fi
