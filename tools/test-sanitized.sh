#!/usr/bin/env bash
# The sanitized builds and their tests (tools/test.sh runs this after the main build's),
# with Debian's clang 19 (the MLIR libraries' LLVM), reusing the main build's setup:
# - build-asan: AddressSanitizer + UBSan, and libFuzzer's coverage instrumentation: the
#   front end, the compiler, the runtime and blockc; their unit tests, the e2e tests, the
#   concurrency tests and the soak (with the leak check), and each fuzz target for
#   BLOCKC_FUZZ_SECONDS (60) from its seeds (tests/fuzz, docs/fuzzing.md).
# - build-tsan: ThreadSanitizer: the runtime and the concurrency tests only; the soak's
#   module is compiled by the main build's blockc.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv"
halide=$("$venv/bin/python" -c "import halide; print(halide.install_dir())")
jobs="${BLOCKC_JOBS:-2}"

configure() {
  local dir=$1; shift
  "$venv/bin/cmake" -S "$root" -B "$root/$dir" -G Ninja \
    -DCMAKE_MAKE_PROGRAM="$venv/bin/ninja" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
    -DMLIR_DIR=/usr/lib/llvm-19/lib/cmake/mlir \
    -DHalide_DIR="$halide/lib64/cmake/Halide" "$@"
}

# A sanitizer report fails the test that triggered it, with its stack (TSAN_OPTIONS: the
# concurrency tests' CTest environment, with their suppressions).
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1

configure build-asan -DBLOCKC_SANITIZE="address;undefined" -DBLOCKC_FUZZ=ON
"$venv/bin/cmake" --build "$root/build-asan" -j "$jobs" --target \
  frontend_test frontend_fuzz_test compiler_test blockc blockc_runtime_tests \
  blockc_concurrency_tests fuzz_spec fuzz_safetensors fuzz_npy fuzz_manifest fuzz_module
"$venv/bin/ctest" --test-dir "$root/build-asan" -L "sanitized|concurrency" -j "$jobs" \
  --output-on-failure

configure build-tsan -DBLOCKC_SANITIZE=thread \
  -DBLOCKC_TEST_COMPILER="$root/build/tools/blockc/blockc"
"$venv/bin/cmake" --build "$root/build-tsan" -j "$jobs" --target blockc_concurrency_tests
"$venv/bin/ctest" --test-dir "$root/build-tsan" -L concurrency --output-on-failure
