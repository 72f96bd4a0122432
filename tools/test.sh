#!/usr/bin/env bash
# Builds everything (tools/build.sh) and runs every test: unit, FileCheck, fuzzing and
# end-to-end, then the sanitized builds' tests (tools/test-sanitized.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/build.sh"
"$root/.venv/bin/ctest" --test-dir "$root/build" --output-on-failure
"$root/tools/test-sanitized.sh"
