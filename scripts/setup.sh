#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks to build and run `scan`, then builds it in release mode.
# Idempotent. Needs root for apt-get (CI and the dev machines run as root).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
if ! dpkg -s zlib1g-dev >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq zlib1g-dev >/dev/null
fi
swift build -c release --product scan >&2
