#!/usr/bin/env python3
"""Pipeline fuzzer: hostile but well-formed GGUF files through the whole `scan` binary.

The parser fuzz tests (Tests/FormatsTests/HostileInputTests) flip bytes and mostly exercise the parser's rejections.
This one keeps the container valid and mutates what the parser cannot judge: metadata values (hyper-parameters set
to 0, 1, -1, the type's maximum, NaN, infinity), array elements (token types, scores, merges), string bytes (token
texts, the chat template, the architecture name) and tensor data (quantisation scales and weights set to NaN,
infinity or huge values). Every mutant goes through `scan FILE` (static audit plus, with --quick, the behavioural
detectors, which load and run the model) and `scan generate FILE`. A mutant fails the run when the process dies on a
signal (a trap), hangs past the timeout, exits with a code other than 0/1/2, or exits 2 without an `error:` line
naming the file.

    scripts/fuzz-pipeline.py [--binary .build/release/scan] [--seed 1] [--count 200] [--quick N] [FILE.gguf|FOLDER ...]

Defaults to the committed tiny models (two GGUFs and one Hugging Face folder). For a folder, one JSON value of
config.json, tokenizer.json or tokenizer_config.json is replaced per mutation (numbers by 0, -1, huge, NaN-like
strings, null, nested objects; lists emptied or given hostile elements), and the safetensors bytes keep their form. Needs numpy and gguf (pip). Failing mutants are kept in --keep (default
/tmp/scan-fuzz-failures) with a line saying how each was made.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
from gguf import GGUFReader, GGUFValueType

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_FILES = [
    os.path.join(ROOT, "samples/tiny/clean/clean.q8_0.gguf"),
    os.path.join(ROOT, "samples/tiny/deployment/deployment.f32.gguf"),
    os.path.join(ROOT, "samples/tiny/clean/hf"),
]
HOSTILE_JSON = [0, -1, 1, 2, 7, 2**31, 2**63, 2**64 + 5, -(2**63), 1e308, -1e308, 1.5, 1e-300, "", "x" * 300, None, True,
                [], {}, [0] * 5, {"a": {"b": [1, 2]}}, "{% for x in range(999999999) %}x{% endfor %}"]


def json_paths(node, prefix=()):
    """Every (path, value) in a JSON document, lists sampled (long vocabularies) so small keys are not drowned."""
    yield prefix, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from json_paths(v, prefix + (k,))
    elif isinstance(node, list):
        idx = range(len(node)) if len(node) <= 8 else [0, 1, len(node) // 2, len(node) - 1]
        for i in idx:
            yield from json_paths(node[i], prefix + (i,))


def mutate_json(rng: random.Random, doc):
    paths = [p for p, _ in json_paths(doc) if p]
    path = rng.choice(paths)
    parent = doc
    for k in path[:-1]:
        parent = parent[k]
    key = path[-1]
    old = parent[key]
    if isinstance(old, dict) and old and rng.random() < 0.3:
        victim = rng.choice(list(old.keys()))
        del old[victim]
        return f"{'/'.join(map(str, path))}: removed key {victim!r}"
    if isinstance(old, str) and old and rng.random() < 0.4:
        i = rng.randrange(len(old))
        parent[key] = old[:i] + rng.choice(["\x00", "\u0301", "{{", "%}", " ", "\U0001F600"]) + old[i + 1:]
        return f"{'/'.join(map(str, path))}: one character changed"
    parent[key] = rng.choice(HOSTILE_JSON)
    return f"{'/'.join(map(str, path))} = {str(parent[key])[:40]}"


def make_folder_mutant(src: str, dst: str, rng: random.Random) -> list[str]:
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst)
    notes = []
    names = [n for n in ("config.json", "tokenizer.json", "tokenizer_config.json") if os.path.exists(os.path.join(dst, n))]
    for _ in range(rng.choice([1, 1, 2])):
        name = rng.choice(names)
        path = os.path.join(dst, name)
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        notes.append(f"{name}: {mutate_json(rng, doc)}")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(doc, f, ensure_ascii=rng.random() < 0.5)
    return notes

INT_TYPES = {
    GGUFValueType.UINT8: np.uint8, GGUFValueType.INT8: np.int8, GGUFValueType.UINT16: np.uint16,
    GGUFValueType.INT16: np.int16, GGUFValueType.UINT32: np.uint32, GGUFValueType.INT32: np.int32,
    GGUFValueType.UINT64: np.uint64, GGUFValueType.INT64: np.int64,
}
FLOAT_TYPES = {GGUFValueType.FLOAT32: np.float32, GGUFValueType.FLOAT64: np.float64}


def hostile_int(rng: random.Random, dtype) -> int:
    info = np.iinfo(dtype)
    picks = [0, 1, 2, 3, info.max, info.max - 1, info.max // 2, 1 << 20, 1 << 31, 65536, 7, 1 << 40]
    if info.min < 0:
        picks += [-1, info.min, -(1 << 20)]
    v = rng.choice(picks)
    return int(min(max(v, info.min), info.max))


def hostile_float(rng: random.Random) -> float:
    return rng.choice([0.0, -0.0, float("nan"), float("inf"), float("-inf"), 1e30, -1e30, 1e-30, -1.0, 1e6, 3.4e38])


def mutate_field(rng: random.Random, field) -> str:
    """Mutates one metadata value in place (same byte size); returns a description."""
    kinds = field.types
    if not kinds:
        return ""
    if kinds[0] == GGUFValueType.ARRAY:
        if len(field.data) == 0:
            return ""
        elem_type = kinds[-1]
        n = rng.choice([1, 1, 2, 8, max(1, len(field.data) // 10)])
        for _ in range(n):
            idx = field.data[rng.randrange(len(field.data))]
            part = field.parts[idx]
            if elem_type in INT_TYPES:
                part[0] = hostile_int(rng, INT_TYPES[elem_type])
            elif elem_type in FLOAT_TYPES:
                part[0] = hostile_float(rng)
            elif elem_type == GGUFValueType.STRING and len(part) > 0:
                part[rng.randrange(len(part))] = rng.choice([0, 0xFF, 0xC0, 0x80, ord("{"), ord("%"), ord(" "), rng.randrange(256)])
            elif elem_type == GGUFValueType.BOOL:
                part[0] = rng.choice([0, 1, 2, 255])
        return f"{field.name}: {n} element(s) of a {elem_type.name} array"
    part = field.parts[field.data[0]]
    t = kinds[0]
    if t in INT_TYPES:
        v = hostile_int(rng, INT_TYPES[t])
        part[0] = v
        return f"{field.name} = {v}"
    if t in FLOAT_TYPES:
        v = hostile_float(rng)
        part[0] = v
        return f"{field.name} = {v}"
    if t == GGUFValueType.BOOL:
        v = rng.choice([0, 1, 2, 255])
        part[0] = v
        return f"{field.name} = bool byte {v}"
    if t == GGUFValueType.STRING and len(part) > 0:
        flips = []
        for _ in range(rng.choice([1, 1, 3, 16])):
            i = rng.randrange(len(part))
            b = rng.choice([0, 0xFF, 0xC3, 0x80, ord("{"), ord("}"), ord("%"), rng.randrange(256)])
            part[i] = b
            flips.append(i)
        return f"{field.name}: string bytes at {flips[:4]} changed"
    return ""


def mutate_tensor(rng: random.Random, tensor, raw: np.memmap) -> str:
    """Sets a few quantisation scales or weights of one tensor to NaN / infinity / huge values."""
    start = tensor.data_offset
    nbytes = tensor.n_bytes
    if nbytes < 4:
        return ""
    tname = tensor.tensor_type.name
    specials16 = [0x7E00, 0x7C00, 0xFC00, 0x7BFF]  # f16 NaN, +inf, -inf, max
    specials32 = [0x7FC00000, 0x7F800000, 0xFF800000, 0x7F7FFFFF]
    count = rng.choice([1, 4, 64])
    for _ in range(count):
        if tname == "Q8_0":
            block = rng.randrange(nbytes // 34)
            at = start + block * 34
            v = rng.choice(specials16)
            raw[at] = v & 0xFF
            raw[at + 1] = v >> 8
        elif tname == "F16":
            at = start + 2 * rng.randrange(nbytes // 2)
            v = rng.choice(specials16)
            raw[at] = v & 0xFF
            raw[at + 1] = v >> 8
        else:
            at = start + 4 * rng.randrange(nbytes // 4)
            v = rng.choice(specials32)
            for k in range(4):
                raw[at + k] = (v >> (8 * k)) & 0xFF
    return f"tensor {tensor.name} ({tname}): {count} scale(s)/weight(s) set to NaN/inf/max"


def make_mutant(src: str, dst: str, rng: random.Random) -> list[str]:
    shutil.copyfile(src, dst)
    reader = GGUFReader(dst, "r+")
    fields = [f for f in reader.fields.values() if not f.name.startswith("GGUF.")]
    notes: list[str] = []
    for _ in range(rng.choice([1, 1, 2, 3])):
        if rng.random() < 0.75 and fields:
            note = mutate_field(rng, rng.choice(fields))
        else:
            note = mutate_tensor(rng, rng.choice(reader.tensors), reader.data)
        if note:
            notes.append(note)
    reader.data.flush()
    del reader
    return notes


def run(cmd: list[str], timeout: float) -> tuple[int | None, str, str, float]:
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=timeout)
        return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace"), time.monotonic() - t0
    except subprocess.TimeoutExpired:
        return None, "", "timeout", time.monotonic() - t0


def reports_unreadable(stdout: str) -> bool:
    """A scan that exits 2 must say why in its report: a malformed-file finding (FMT-*) or a not-scanned note."""
    try:
        report = json.loads(stdout)
    except ValueError:
        return False
    for model in report.get("models", []):
        if model.get("not_scanned") or any(f.get("id", "").startswith("FMT-") for f in model.get("findings", [])):
            return True
    return False


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="*", default=DEFAULT_FILES)
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build/release/scan"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=200, help="mutants per file")
    ap.add_argument("--quick", type=int, default=20, help="how many mutants per file also get the default (behavioural) scan")
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--keep", default="/tmp/scan-fuzz-failures")
    args = ap.parse_args()

    rng = random.Random(args.seed)
    failures = 0
    total = 0
    codes: dict[str, int] = {}
    work = tempfile.mkdtemp(prefix="scan-fuzz-")
    os.makedirs(args.keep, exist_ok=True)
    for src in args.files:
        for i in range(args.count):
            if os.path.isdir(src):
                dst = os.path.join(work, f"m{i}")
                notes = make_folder_mutant(src, dst, rng)
            else:
                dst = os.path.join(work, f"m{i}.gguf")
                notes = make_mutant(src, dst, rng)
            commands = [[args.binary, dst, "--mode", "static", "--no-hash", "--format", "json"],
                        [args.binary, "generate", dst, "--prompt", "Hello, how are you?", "--chat", "--max-tokens", "4", "--threads", "1"]]
            if i < args.quick:
                commands.append([args.binary, dst, "--no-hash", "--threads", "1", "--format", "json"])
            for cmd in commands:
                total += 1
                code, out, err, secs = run(cmd, args.timeout)
                label = "generate" if cmd[1] == "generate" else ("quick" if "--mode" not in cmd else "static")
                key = f"{label}:{code}"
                codes[key] = codes.get(key, 0) + 1
                bad = None
                if code is None:
                    bad = f"hang (> {args.timeout:.0f} s)"
                elif code < 0:
                    bad = f"killed by signal {-code}"
                elif code not in (0, 1, 2):
                    bad = f"exit code {code}"
                elif code == 2 and label == "generate" and not err.startswith(f"error: {dst}"):
                    bad = "exit 2 without an error line naming the file"
                elif code == 2 and label != "generate" and not reports_unreadable(out):
                    bad = "exit 2 without an FMT finding or a not-scanned note in the report"
                if bad:
                    failures += 1
                    kept = os.path.join(args.keep, f"{os.path.basename(src)}.{args.seed}.{i}" + ("" if os.path.isdir(dst) else ".gguf"))
                    if os.path.isdir(dst):
                        shutil.rmtree(kept, ignore_errors=True)
                        shutil.copytree(dst, kept)
                    else:
                        shutil.copyfile(dst, kept)
                    print(f"FAIL {bad}: {' '.join(cmd[1:2])} {kept}\n  mutations: {notes}\n  stderr: {err.strip()[-400:]}", flush=True)
            if os.path.isdir(dst):
                shutil.rmtree(dst)
            else:
                os.remove(dst)
        print(f"{os.path.basename(src)}: {args.count} mutants done", flush=True)
    shutil.rmtree(work, ignore_errors=True)
    print(f"{total} runs, {failures} failures; outcomes: {dict(sorted(codes.items(), key=str))}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
