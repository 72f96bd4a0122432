#!/usr/bin/env bash
# Prepares, on this (x86-64, compiler-equipped) machine, what the GPU machine needs to run
# the GPU checks with no compiler there: writes .device-carry/ (git-ignored, carried to the
# GPU machine as one path):
#   bin/blockc, lib/libblockc_runtime.so.1 a run-only build (BLOCKC_WITH_COMPILER=OFF) in
#                                          build-runonly/, Boost.program_options static
#   modules/<case>/{module.so,manifest.json}  every e2e case (tests/e2e/cases.py: the
#                                          examples and the general specs) compiled with
#                                          blockc compile --target $TARGET (default cuda)
#   info.txt                               the commit, target, and what was compiled
# Usage: tools/gpu/prepare.sh [--filter SUBSTR]   (needs tools/build.sh's build/ first)
# Then, on the GPU machine: tools/gpu/test.sh and tools/gpu/bench.sh (tools/gpu/README.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv="$root/.venv"
carry="$root/.device-carry"
target=${TARGET:-cuda}
filter=""
[ "${1:-}" = "--filter" ] && filter=${2:-}
blockc="$root/build/tools/blockc/blockc"
[ -x "$blockc" ] || { echo "prepare.sh: $blockc not built (run tools/build.sh)" >&2; exit 1; }

# 1. The run-only runtime and CLI.
halide=$("$venv/bin/python" -c "import halide; print(halide.install_dir())")
"$venv/bin/cmake" -S "$root" -B "$root/build-runonly" -G Ninja \
  -DCMAKE_MAKE_PROGRAM="$venv/bin/ninja" -DCMAKE_BUILD_TYPE=Release \
  -DBLOCKC_WITH_COMPILER=OFF \
  -DHalideHelpers_DIR="$halide/lib64/cmake/HalideHelpers" >/dev/null
"$venv/bin/cmake" --build "$root/build-runonly" -j "${BLOCKC_JOBS:-2}"
rm -rf "$carry"
mkdir -p "$carry/bin" "$carry/lib" "$carry/modules"
cp "$root/build-runonly/tools/blockc/blockc" "$carry/bin/"
cp -L "$root/build-runonly/runtime/libblockc_runtime.so.1" "$carry/lib/"  # the soname, no links
# What the GPU machine must provide itself: glibc, libstdc++, libgcc_s (no Boost, no CUDA:
# the runtime opens libcuda.so.1 only when a CUDA module is loaded).
echo "== shared libraries needed (ldd):"
LD_LIBRARY_PATH="$carry/lib" ldd "$carry/bin/blockc" | sed 's/ (0x.*//'

# 2. The modules: every case of tests/e2e/cases.py whose name contains the filter.
"$venv/bin/python" - "$blockc" "$carry/modules" "$target" "$filter" <<'PY'
import os, shutil, subprocess, sys, tempfile
from concurrent.futures import ThreadPoolExecutor
root = os.path.abspath(os.path.join(os.path.dirname(sys.argv[1]), "..", "..", ".."))
sys.path.insert(0, os.path.join(root, "tests", "e2e"))
import cases
blockc, out, target, filt = sys.argv[1:5]
tmp = tempfile.mkdtemp()
def build(case):
    spec = (os.path.join(root, "examples", case.example + ".block") if case.example
            else os.path.join(tmp, case.name + ".block"))
    if not case.example:
        with open(spec, "w") as f:
            f.write(case.spec_text())
    d = os.path.join(out, case.name)
    p = subprocess.run([blockc, "compile", spec, "-o", d, "--target", target],
                       capture_output=True, text=True)
    shutil.rmtree(os.path.join(d, "kernels"), ignore_errors=True)  # objects: not needed
    return case.name, p.returncode, (p.stdout + p.stderr).strip().splitlines()[-1:]
todo = [c for c in cases.ALL if filt in c.name]
with ThreadPoolExecutor(max_workers=int(os.environ.get("BLOCKC_JOBS", "2"))) as ex:
    results = list(ex.map(build, todo))
bad = [r for r in results if r[1] != 0]
for name, rc, last in results:
    print(("ok   " if rc == 0 else "FAIL ") + name + ": " + " ".join(last))
shutil.rmtree(tmp)
sys.exit(1 if bad else 0)
PY
{
  echo "commit $(git -C "$root" rev-parse HEAD)$(git -C "$root" diff --quiet HEAD -- compiler runtime || echo ' + local changes')"
  echo "target $target"
  echo "prepared $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  ls "$carry/modules"
} >"$carry/info.txt"
du -sh "$carry"
