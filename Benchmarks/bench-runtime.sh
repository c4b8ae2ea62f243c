#!/usr/bin/env bash
# Runtime speed and peak memory vs llama.cpp on SmolLM2-135M-Instruct Q4_1 (and Gemma 3 270M for memory), in one run.
#
#   Benchmarks/bench-runtime.sh [--threads 2] [--reps 3] [--skip-build] [--skip-llama] [--skip-rss]
#
# Ours: the gated release harness RuntimeBenchmarkTests/smolLM2Speed (pp64, pp512, tg64, 32 prompts batched vs single,
# decode steps of N = 1, 4, 8, 12, 32 sequences) for both numerics; llama.cpp: llama-cpp-python's llama_decode
# in-process, right after ours; peak RSS of `scan generate` vs the file size. See bench_runtime.py for details.
# Needs: the real models (scripts/fetch-real-models.sh), python3 with llama-cpp-python 0.3.36, /usr/bin/time.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
"$root/scripts/fetch-real-models.sh" >&2
args=()
build=1
for a in "$@"; do
  if [[ "$a" == "--skip-build" ]]; then build=0; else args+=("$a"); fi
done
if (( build )); then
  echo "== building (release, testing enabled)" >&2
  (cd "$root" && swift build -c release -Xswiftc -enable-testing --build-tests >&2)
fi
exec "${PYTHON:-python3}" "$here/bench_runtime.py" --skip-build "${args[@]}"
