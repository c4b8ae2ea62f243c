#!/usr/bin/env bash
# Times our Formats parsers against the reference implementations, in one run, and prints a table of ratios.
#
#   Benchmarks/bench-formats.sh
#
# (a) open + fully validate SmolLM2-135M Q4_1 GGUF (and Gemma 3 270M): our GGUFFile.open (release build, in-process,
#     median of many) vs ggml's C gguf_init_from_file(no_alloc=true) through ctypes on llama-cpp-python's
#     libggml-base.so vs gguf.GGUFReader (Python);
# (b) open + fully validate a ~3.1 GB F16 safetensors file generated into /tmp: SafetensorsFile.open vs
#     safetensors.safe_open (the Rust crate behind its Python binding);
# (c) one full dequantizing pass over every tensor of both GGUFs, single thread, GB/s of tensor bytes: ours
#     (when Formats has a dequantizer) vs numpy (gguf.quants.dequantize) vs ggml's C to_float.
# Interpreter start and imports are excluded from every peer timing. Needs: python3 with numpy, gguf, safetensors,
# llama-cpp-python (for ggml; its rows are reported as errors when it is missing).
#
# Environment: BENCH_OUT (JSON results folder, default /tmp/bench-formats), BENCH_SAFETENSORS (the big file,
# default /tmp/bench-big-f16.safetensors, created when missing), BENCH_MIN_SECONDS (per timing, default 2),
# BENCH_SWIFT_FLAGS (extra `swift build` flags, e.g. "-Xswiftc -Xcc -Xswiftc -mfma"), BENCH_SKIP_GEMMA=1.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
python="${PYTHON:-python3}"
out="${BENCH_OUT:-/tmp/bench-formats}"
big="${BENCH_SAFETENSORS:-/tmp/bench-big-f16.safetensors}"
real="$root/samples/.cache/real"
smollm="$real/SmolLM2-135M-Instruct.Q4_1.gguf"
gemma="$real/gemma-3-270m-q4_k_m.gguf"
mkdir -p "$out"
rm -f "$out"/*.json

echo "== models" >&2
"$root/scripts/fetch-real-models.sh" >&2
if [[ ! -f "$big" ]]; then
  echo "== writing $big" >&2
  "$python" "$here/make_big_safetensors.py" "$big" >&2
fi

echo "== building Benchmarks (release)" >&2
flags=()
# The dequantizer lands in Formats separately; build (c) against it only once it exists.
if grep -rqsE '(enum|struct) Dequantize\b' "$root/Sources/Formats"; then
  flags+=(-Xswiftc -DHAVE_DEQUANTIZE)
else
  echo "   (no Dequantize in Sources/Formats yet: our dequantization row will say so)" >&2
fi
# shellcheck disable=SC2206
extra=(${BENCH_SWIFT_FLAGS:-})
swift build -c release --package-path "$here" "${flags[@]}" "${extra[@]}" --product bench-formats >&2
bin="$(swift build -c release --package-path "$here" "${flags[@]}" "${extra[@]}" --show-bin-path)/bench-formats"

# Warm the page cache so the first contender does not pay for disk reads the others skip.
cat "$smollm" "$gemma" > /dev/null
head -c 16777216 "$big" > /dev/null

run() { # name command...
  local name="$1"; shift
  echo "== $name" >&2
  if ! "$@" > "$out/$name.json"; then
    echo "{\"error\": \"$name failed (exit $?)\"}" > "$out/$name.json"
  fi
}

run ours-gguf-open-smollm "$bin" gguf-open "$smollm"
run peers-gguf-open-smollm "$python" "$here/bench_peers.py" gguf-open "$smollm"
if [[ "${BENCH_SKIP_GEMMA:-0}" != 1 ]]; then
  run ours-gguf-open-gemma "$bin" gguf-open "$gemma"
  # GGUFReader needs about a minute for Gemma's 262k-token vocabulary: skipped here, SmolLM2 shows it
  run peers-gguf-open-gemma "$python" "$here/bench_peers.py" gguf-open "$gemma" --no-gguf-py
fi
run ours-st-open-big "$bin" st-open "$big"
run peers-st-open-big "$python" "$here/bench_peers.py" st-open "$big"
run ours-dequant-smollm "$bin" dequant "$smollm"
run peers-dequant-smollm "$python" "$here/bench_peers.py" dequant "$smollm" \
  --tensors "$root/Tests/Fixtures/reference/smollm2-q4_1.gguf.json"
if [[ "${BENCH_SKIP_GEMMA:-0}" != 1 ]]; then
  run ours-dequant-gemma "$bin" dequant "$gemma"
  run peers-dequant-gemma "$python" "$here/bench_peers.py" dequant "$gemma" \
    --tensors "$root/Tests/Fixtures/reference/gemma3-270m-q4_k_m.gguf.json"
fi

"$python" "$here/report.py" "$out"
