#!/usr/bin/env bash
# Runs every libFuzzer target in BUILD_DIR for FUZZ_SECONDS each, starting from the committed
# corpus in fuzz/corpus/<target>/. New inputs go to a scratch dir, so the tree stays clean.
set -euo pipefail
build_dir=${1:?usage: fuzz.sh BUILD_DIR}
seconds=${FUZZ_SECONDS:-30}
root=$(cd "$(dirname "$0")/.." && pwd)
# Every target in fuzz/ must have been built: a green run means each of them ran.
found=0
for src in "$root"/fuzz/*_fuzz.cpp; do
  name=$(basename "$src" .cpp)
  bin="$build_dir/$name"
  if [ ! -x "$bin" ]; then
    echo "fuzz: $name was not built ($bin missing)" >&2
    exit 1
  fi
  found=$((found + 1))
  scratch=$(mktemp -d)
  corpus="$root/fuzz/corpus/$name"
  mkdir -p "$corpus"
  echo "fuzz: $name for ${seconds}s"
  "$bin" -max_total_time="$seconds" -max_len=4096 -print_final_stats=0 \
    -artifact_prefix="$scratch/" "$scratch" "$corpus" >"$scratch/log" 2>&1 || {
    tail -50 "$scratch/log"; echo "fuzz: $name FAILED (artifacts in $scratch)"; exit 1; }
  grep -E '^(#[0-9]+.*DONE|Done)' "$scratch/log" | tail -1 || true
  rm -rf "$scratch"
done
if [ "$found" -eq 0 ]; then
  echo "fuzz: no fuzz targets found in $root/fuzz" >&2
  exit 1
fi
