#!/bin/sh
# Builds and runs the side-by-side Q8 kernel micro benchmark (x86_64 with AVX2/FMA/F16C; speed7).
set -e
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${TMPDIR:-/tmp}/bench-q8-kernels
mkdir -p "$OUT/include"
cp "$ROOT/Sources/CKernels/include/CKernels.h" "$OUT/include/"
printf 'module CKernels {\n  header "CKernels.h"\n  export *\n}\n' > "$OUT/include/module.modulemap"
clang -O3 -mavx2 -mfma -mf16c -ffp-contract=off -I"$OUT/include" -c "$ROOT/Sources/CKernels/ggml_q8.c" -o "$OUT/ggml_q8.o"
swiftc -O -Xcc -mavx2 -Xcc -mfma -Xcc -mf16c -parse-as-library -I "$OUT/include" "$HERE/q8_kernels.swift" "$OUT/ggml_q8.o" -o "$OUT/q8-kernels" 2>/dev/null
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
"$OUT/q8-kernels"
