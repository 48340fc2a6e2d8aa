#!/usr/bin/env bash
# Runs every libFuzzer target in BUILD_DIR for FUZZ_SECONDS each, starting from the committed
# corpus in fuzz/corpus/<target>/. New inputs go to a scratch dir, so the tree stays clean.
set -euo pipefail
build_dir=${1:?usage: fuzz.sh BUILD_DIR}
seconds=${FUZZ_SECONDS:-30}
root=$(cd "$(dirname "$0")/.." && pwd)
found=0
for bin in "$build_dir"/*_fuzz; do
  [ -x "$bin" ] || continue
  found=1
  name=$(basename "$bin")
  scratch=$(mktemp -d)
  corpus="$root/fuzz/corpus/$name"
  mkdir -p "$corpus"
  echo "fuzz: $name for ${seconds}s"
  "$bin" -max_total_time="$seconds" -max_len=4096 -print_final_stats=0 \
    -artifact_prefix="$scratch/" "$scratch" "$corpus" >"$scratch/log" 2>&1 || {
    tail -50 "$scratch/log"; echo "fuzz: $name FAILED (artifacts in $scratch)"; exit 1; }
  grep -E '^(#[0-9]+.*DONE|Done)' "$scratch/log" | tail -1 || true
done
[ "$found" -eq 1 ] || echo "fuzz: no targets built"
