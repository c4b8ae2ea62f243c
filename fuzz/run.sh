#!/usr/bin/env bash
# Builds the libFuzzer harness for the GGUF, safetensors and JSON parsers and runs it.
#   fuzz/run.sh [seconds]        (default 300)
# Seeds: samples/malformed (valid + 50 malformed), the small realfiles. Crashes land in fuzz/out/crashes;
# turn each into a regression file in samples/malformed/files with its EXPECTED entry.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-300}"
mkdir -p fuzz/out/corpus fuzz/out/crashes fuzz/out/bin
cp -n samples/malformed/valid-small.gguf samples/malformed/files/* fuzz/out/corpus/ 2>/dev/null || true
find ../shared/realfiles -type f -size -64k \( -name '*.gguf' -o -name '*.safetensors' \) -exec cp -n {} fuzz/out/corpus/ \; 2>/dev/null || true
cp -n Tests/Fixtures/reference/safetensors/multi_dtype.safetensors fuzz/out/corpus/ 2>/dev/null || true
srcs=$(find Sources/Formats -name '*.swift' ! -name 'MappedFile+SHA256.swift' ! -path '*/Containers/*' ! -name 'Dequantize*')
swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name Formats \
  -enable-upcoming-feature ExistentialAny -I Sources/CZlib \
  $srcs fuzz/FuzzTarget.swift -o fuzz/out/bin/fuzz-formats
fuzz/out/bin/fuzz-formats fuzz/out/corpus -max_total_time="$secs" -max_len=65536 \
  -artifact_prefix=fuzz/out/crashes/ -print_final_stats=1 2>&1 | tail -25
