#!/usr/bin/env python3
"""Dump what the Python reference reader (`gguf.GGUFReader`, PyPI `gguf`) says about a GGUF file, as JSON.

Usage:
    python3 scripts/reference/gguf_reference.py MODEL.gguf [-o OUT.json] [--max-array N]

The output is the ground truth our Swift parser is compared against in tests:
  version, tensor_count, kv_count, alignment, data_offset (absolute), endianess,
  keys:    every metadata key in file order with its GGUF value type; scalars and strings carry their value,
           arrays carry elem_type and count, and their values only when count <= --max-array (default 16),
           otherwise a short `head` (first 4 values) so the file stays small;
  tensors: every tensor in file order with name, type (ggml type name), type_id, shape in GGUF order
           (ne[0], the row length, first), offset_abs (absolute byte offset of its data), offset_rel (relative to
           data_offset), n_bytes, n_elements.
Reader versions differ; the reader's version is recorded in `reader`.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys

import numpy as np

try:
    import gguf
    from gguf import GGUFReader, GGUFValueType
except ImportError:  # pragma: no cover
    sys.exit("the `gguf` package is required: python3 -m pip install gguf")

HEADER_FIELDS = ("GGUF.version", "GGUF.tensor_count", "GGUF.kv_count")


def reader_version() -> str:
    try:
        from importlib.metadata import version
        return f"gguf.GGUFReader {version('gguf')}"
    except Exception:  # pragma: no cover
        return "gguf.GGUFReader (unknown version)"


def sha256_of(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def json_number(x):
    """Python scalar for JSON; non-finite floats become strings (JSON has no NaN/Inf)."""
    if isinstance(x, (np.floating, float)):
        x = float(x)
        if not math.isfinite(x):
            return repr(x)
        return x
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.bool_,)):
        return bool(x)
    return x


def scalar_at(field, part_index: int, vtype: GGUFValueType):
    part = field.parts[part_index]
    if vtype == GGUFValueType.STRING:
        raw = bytes(part)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return {"invalid_utf8_hex": raw.hex()}
    if vtype == GGUFValueType.BOOL:
        return bool(part[0])
    return json_number(part[0])


def describe_field(field, max_array: int) -> dict:
    vtype = GGUFValueType(field.types[0])
    entry = {"key": field.name, "type": vtype.name, "offset": int(field.offset)}
    if vtype != GGUFValueType.ARRAY:
        entry["value"] = scalar_at(field, field.data[0], vtype)
        return entry
    count = len(field.data)
    entry["count"] = count
    if len(field.types) > 1:
        elem = GGUFValueType(field.types[-1])
        entry["elem_type"] = elem.name
        if len(field.types) > 2:
            entry["nested_types"] = [GGUFValueType(t).name for t in field.types]
        if elem != GGUFValueType.ARRAY and len(field.types) == 2:
            take = count if count <= max_array else min(4, count)
            values = [scalar_at(field, i, elem) for i in field.data[:take]]
            entry["values" if count <= max_array else "head"] = values
    return entry


def dump(path: str, max_array: int) -> dict:
    reader = GGUFReader(path, "r")
    fields = reader.fields

    def header(name):
        f = fields[name]
        return int(f.parts[f.data[0]][0])

    keys = [describe_field(f, max_array) for name, f in fields.items() if name not in HEADER_FIELDS]
    tensors = []
    type_counts: dict[str, int] = {}
    for t in reader.tensors:
        tname = t.tensor_type.name
        type_counts[tname] = type_counts.get(tname, 0) + 1
        tensors.append({
            "name": t.name,
            "type": tname,
            "type_id": int(t.tensor_type.value),
            "shape": [int(d) for d in t.shape],  # GGUF order: ne[0] first
            "offset_abs": int(t.data_offset),
            "offset_rel": int(t.data_offset) - int(reader.data_offset),
            "n_bytes": int(t.n_bytes),
            "n_elements": int(t.n_elements),
        })
    return {
        "reader": reader_version(),
        "file": os.path.basename(path),
        "size": os.path.getsize(path),
        "sha256": sha256_of(path),
        "endianess": reader.endianess.name if hasattr(reader, "endianess") else None,
        "version": header("GGUF.version"),
        "tensor_count": header("GGUF.tensor_count"),
        "kv_count": header("GGUF.kv_count"),
        "alignment": int(reader.alignment),
        "data_offset": int(reader.data_offset),
        "data_bytes_sum": sum(t["n_bytes"] for t in tensors),
        "parameter_count": sum(t["n_elements"] for t in tensors),
        "tensor_types": dict(sorted(type_counts.items())),
        "keys": keys,
        "tensors": tensors,
    }


def compact_json(value, indent: str = "") -> str:
    """JSON with one line per list item (a tensor or a key), nested objects indented: small and diff-friendly."""
    inner = indent + "  "
    if isinstance(value, dict) and value and any(isinstance(v, (dict, list)) for v in value.values()):
        items = [f"{inner}{json.dumps(k, ensure_ascii=False)}: {compact_json(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        items = [inner + json.dumps(v, ensure_ascii=False) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + indent + "]"
    return json.dumps(value, ensure_ascii=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("path")
    ap.add_argument("-o", "--output", help="write JSON here instead of stdout")
    ap.add_argument("--max-array", type=int, default=16, help="arrays up to this length are dumped in full")
    args = ap.parse_args()
    result = dump(args.path, args.max_array)
    text = compact_json(result) + "\n"
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
