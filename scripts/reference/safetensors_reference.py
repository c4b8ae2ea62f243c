#!/usr/bin/env python3
"""Dump what the Python reference reader (`safetensors`, PyPI) says about a safetensors file or shard set, as JSON.

Usage:
    python3 scripts/reference/safetensors_reference.py FILE.safetensors [-o OUT.json] [--values N]
    python3 scripts/reference/safetensors_reference.py model.safetensors.index.json [-o OUT.json]

For one file:
  header_len (the 8-byte little-endian length), data_offset (8 + header_len), data_bytes, metadata
  (`__metadata__` as `safe_open(...).metadata()` returns it), and every tensor in header order with name, dtype,
  shape (row-major, outermost first), data_offsets [begin, end) relative to data_offset, n_elements, n_bytes.
  dtype and shape come from `safe_open(...).get_slice(name)`; data_offsets come from the header JSON (the reader
  does not expose them), parsed with Python's json (duplicate keys: the last one wins, as in PyTorch).
  With --values N, tensors of at most N elements also carry `values`: the elements decoded from the file bytes
  as float (numpy, plus `ml_dtypes` for BF16/F8 when installed; otherwise those types carry `raw_hex` only).
For an index: the index's `metadata` and `weight_map`, and the dump of every shard it names.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import struct
import sys

import numpy as np

try:
    from safetensors import safe_open
except ImportError:  # pragma: no cover
    sys.exit("the `safetensors` package is required: python3 -m pip install safetensors")

try:
    import ml_dtypes  # optional: BF16 and F8 decoding
except ImportError:  # pragma: no cover
    ml_dtypes = None

NUMPY_DTYPES = {
    "BOOL": np.bool_, "U8": np.uint8, "I8": np.int8, "U16": np.uint16, "I16": np.int16,
    "U32": np.uint32, "I32": np.int32, "U64": np.uint64, "I64": np.int64,
    "F16": np.float16, "F32": np.float32, "F64": np.float64,
}
if ml_dtypes is not None:
    NUMPY_DTYPES.update({
        "BF16": ml_dtypes.bfloat16,
        "F8_E4M3": ml_dtypes.float8_e4m3fn,
        "F8_E5M2": ml_dtypes.float8_e5m2,
    })


def reader_version() -> str:
    try:
        from importlib.metadata import version
        return f"safetensors {version('safetensors')}"
    except Exception:  # pragma: no cover
        return "safetensors (unknown version)"


def sha256_of(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def to_json_float(x: float):
    x = float(x)
    return x if math.isfinite(x) else repr(x)


def decode_values(dtype: str, raw: bytes):
    np_type = NUMPY_DTYPES.get(dtype)
    if np_type is None:
        return None
    arr = np.frombuffer(raw, dtype=np.dtype(np_type).newbyteorder("<") if np.dtype(np_type).itemsize > 1 else np_type)
    if dtype == "BOOL":
        return [bool(v) for v in arr]
    if dtype[0] in "UI":
        return [int(v) for v in arr]
    return [to_json_float(v) for v in arr.astype(np.float64)]


def dump_file(path: str, max_values: int) -> dict:
    with open(path, "rb") as f:
        (header_len,) = struct.unpack("<Q", f.read(8))
        header_bytes = f.read(header_len)
    header = json.loads(header_bytes)
    data_offset = 8 + header_len
    size = os.path.getsize(path)

    tensors = []
    with safe_open(path, framework="np") as sf:
        metadata = sf.metadata()
        names = set(sf.keys())
        with open(path, "rb") as raw_file:
            for name, info in header.items():
                if name == "__metadata__":
                    continue
                view = sf.get_slice(name)
                shape = [int(d) for d in view.get_shape()]
                begin, end = (int(x) for x in info["data_offsets"])
                n_elements = math.prod(shape)
                entry = {
                    "name": name,
                    "dtype": view.get_dtype(),
                    "shape": shape,
                    "data_offsets": [begin, end],
                    "n_elements": n_elements,
                    "n_bytes": end - begin,
                }
                if max_values and n_elements <= max_values:
                    raw_file.seek(data_offset + begin)
                    raw = raw_file.read(end - begin)
                    values = decode_values(entry["dtype"], raw)
                    if values is not None:
                        entry["values"] = values
                    entry["raw_hex"] = raw.hex()
                tensors.append(entry)
        assert names == {t["name"] for t in tensors}, "header names differ from safe_open keys"
    return {
        "reader": reader_version(),
        "file": os.path.basename(path),
        "size": size,
        "sha256": sha256_of(path),
        "header_len": header_len,
        "data_offset": data_offset,
        "data_bytes": size - data_offset,
        "metadata": dict(sorted(metadata.items())) if metadata is not None else None,
        "tensor_count": len(tensors),
        "dtypes": dict(sorted({d: sum(1 for t in tensors if t["dtype"] == d) for d in {t["dtype"] for t in tensors}}.items())),
        "tensors": tensors,
    }


def dump_index(path: str, max_values: int) -> dict:
    with open(path, encoding="utf-8") as f:
        index = json.load(f)
    folder = os.path.dirname(path)
    shard_names = sorted(set(index["weight_map"].values()))
    return {
        "reader": reader_version(),
        "file": os.path.basename(path),
        "metadata": index.get("metadata"),
        "weight_map": index["weight_map"],
        "shards": {name: dump_file(os.path.join(folder, name), max_values) for name in shard_names},
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
    ap.add_argument("--values", type=int, default=0, help="decode tensors with at most this many elements")
    args = ap.parse_args()
    if args.path.endswith(".json"):
        result = dump_index(args.path, args.values)
    else:
        result = dump_file(args.path, args.values)
    text = compact_json(result) + "\n"
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
