#!/usr/bin/env bash
# Fuzzes the container readers with libFuzzer + AddressSanitizer.
# Usage: scripts/fuzz-containers.sh [seconds=300] [jobs=1]
# Seeds: Tests/Fixtures/containers (minus the scripts). Crashes land in .build/fuzz-containers/crashes/;
# turn each into a regression test (exerciseAllReaders in ContainerHostilityTests) before fixing it.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${1:-300}
JOBS=${2:-1}
OUT=.build/fuzz-containers
mkdir -p "$OUT/corpus" "$OUT/crashes"
for f in Tests/Fixtures/containers/*; do
  case "$f" in *.py|*expected.json) ;; *) cp -n "$f" "$OUT/corpus/" ;; esac
done
swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name Formats \
  -I Sources/CZlib -lz \
  Sources/Formats/MappedFile.swift Sources/Formats/Containers/*.swift fuzz/containers/ContainersFuzzer.swift \
  -o "$OUT/fuzzer"
JOBARGS=(); if [ "$JOBS" -gt 1 ]; then JOBARGS=(-jobs="$JOBS" -workers="$JOBS"); fi
"$OUT/fuzzer" "$OUT/corpus" -max_total_time="$SECONDS_TO_RUN" "${JOBARGS[@]}" \
  -rss_limit_mb=2048 -max_len=65536 -artifact_prefix="$OUT/crashes/" -print_final_stats=1
