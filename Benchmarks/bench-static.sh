#!/usr/bin/env bash
# Times the whole static scan (`scan PATH`, release build, every static detector incl. weight statistics and
# SHA-256) on the real models and, when present, a multi-GB safetensors file; prints per-detector seconds (from the
# JSON report), process wall and CPU time, and GB/s of file bytes. Median of BENCH_RUNS runs (default 3).
#
#   Benchmarks/bench-static.sh [extra files...]
#
# Environment: SCAN_REAL_DIR (default samples/.cache/real, then /work/main/samples/.cache/real),
# BENCH_SAFETENSORS (default /tmp/bench-big-f16.safetensors, skipped when missing; Benchmarks/make_big_safetensors.py
# writes it), BENCH_RUNS, BENCH_THREADS (--threads, default 2).
# Goals (issue 5): SmolLM2 GGUF under 2 s; a multi-GB file at >= 1 GB/s. On a shared machine compare CPU time.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
real="${SCAN_REAL_DIR:-$root/samples/.cache/real}"
[[ -d "$real" ]] || real=/work/main/samples/.cache/real
big="${BENCH_SAFETENSORS:-/tmp/bench-big-f16.safetensors}"
runs="${BENCH_RUNS:-3}"
threads="${BENCH_THREADS:-2}"
if [[ -n "${SCAN_BIN:-}" ]]; then
  scan="$SCAN_BIN"  # an already built release binary (e.g. the test build's), skips the build
else
  (cd "$root" && swift build -c release --product scan >&2)
  scan="$root/.build/release/scan"
fi
files=("$real/SmolLM2-135M-Instruct.Q4_1.gguf" "$real/gemma-3-270m-q4_k_m.gguf")
[[ -f "$big" ]] && files+=("$big")
files+=("$@")
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for f in "${files[@]}"; do
  [[ -f "$f" ]] || { echo "missing $f" >&2; continue; }
  cat "$f" > /dev/null  # warm the page cache: measure the scanner, not the disk
  for i in $(seq 1 "$runs"); do
    /usr/bin/time -f "%e %U %S" -o "$tmp/time.$i" "$scan" "$f" --mode static ${BENCH_ARGS:-} --threads "$threads" --format json --output "$tmp/report.$i.json" || true
  done
  python3 - "$f" "$tmp" "$runs" <<'PY'
import json, os, statistics, sys
path, tmp, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
walls, cpus, det = [], [], {}
for i in range(1, runs + 1):
    w, u, s = map(float, open(f"{tmp}/time.{i}").read().split()[-3:])
    walls.append(w); cpus.append(u + s)
    for m in json.load(open(f"{tmp}/report.{i}.json"))["models"]:
        for k, v in m["timings"].items():
            det.setdefault(k, []).append(v)
size = os.path.getsize(path)
w, c = statistics.median(walls), statistics.median(cpus)
print(f"{os.path.basename(path)}: {size/1e9:.3f} GB, wall {w:.2f} s ({size/1e9/w:.2f} GB/s), CPU {c:.2f} s, "
      + ", ".join(f"{k} {statistics.median(v):.3f}s" for k, v in det.items()))
PY
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
