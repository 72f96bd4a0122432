#!/usr/bin/env bash
# run_fuzzer.sh FUZZER CORPUS SEED_DIR...: fuzzes for BLOCKC_FUZZ_SECONDS (default 60) with
# libFuzzer, CORPUS (made empty first) taking what it finds. A crash, leak, timeout or
# sanitizer report fails, with the input left in CORPUS/../artifacts-NAME/.
set -euo pipefail
fuzzer=$1 corpus=$2; shift 2
artifacts="$(dirname "$corpus")/artifacts-$(basename "$corpus")"
rm -rf "$corpus" "$artifacts"
mkdir -p "$corpus" "$artifacts"
exec "$fuzzer" -max_total_time="${BLOCKC_FUZZ_SECONDS:-60}" -timeout=20 -rss_limit_mb=4096 \
  -max_len="${BLOCKC_FUZZ_MAX_LEN:-65536}" -print_final_stats=1 \
  -artifact_prefix="$artifacts/" "$corpus" "$@"
