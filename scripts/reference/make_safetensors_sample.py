#!/usr/bin/env python3
"""Write the small safetensors fixtures with the Python `safetensors` package, and their reference JSON.

Usage:
    python3 scripts/reference/make_safetensors_sample.py [OUT_DIR]     # default Tests/Fixtures/reference/safetensors

Writes (all tiny, deterministic):
  multi_dtype.safetensors            one tensor per dtype (F64, F32, F16, BF16, F8_E4M3, F8_E5M2, I64, I32, I16, I8,
                                     U8, BOOL; BF16/F8 need `ml_dtypes`), special float values (-0, subnormal, inf, nan,
                                     max), a 0-d scalar, a zero-size tensor, and `__metadata__`;
  sharded/model-0000{1,2}-of-00002.safetensors + sharded/model.safetensors.index.json, a 2-shard set;
  multi_dtype.safetensors.json and sharded/model.safetensors.index.reference.json: the dump of scripts/reference/safetensors_reference.py (with decoded values).
Requires: numpy, safetensors; optional ml_dtypes (pip install ml_dtypes) for BF16/F8.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
from safetensors.numpy import save_file

try:
    import ml_dtypes
except ImportError:  # pragma: no cover
    ml_dtypes = None

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
REFERENCE = os.path.join(HERE, "safetensors_reference.py")

SPECIAL = [0.0, -0.0, 1.0, -2.5, 0.333333, 65504.0, 1e-7, float("inf"), float("-inf"), float("nan")]


def multi_dtype_tensors() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20261129)
    t: dict[str, np.ndarray] = {
        "float64.weight": rng.standard_normal((2, 3)).astype(np.float64),
        "float32.weight": rng.standard_normal((3, 4)).astype(np.float32),
        "float32.special": np.array(SPECIAL + [1e-40, 3.4e38], dtype=np.float32),
        "float16.weight": rng.standard_normal((2, 2, 3)).astype(np.float16),
        "float16.special": np.array(SPECIAL + [6e-8, 6.1e-5], dtype=np.float16),
        "int64.ids": np.array([0, -1, 2**62, -(2**63), 2**63 - 1], dtype=np.int64),
        "int32.ids": np.array([[1, -2, 3], [2**31 - 1, -(2**31), 0]], dtype=np.int32),
        "int16.ids": np.array([-32768, 32767, 7], dtype=np.int16),
        "int8.ids": np.array([-128, 127, 0, -1], dtype=np.int8),
        "uint8.bytes": np.arange(0, 256, 17, dtype=np.uint8),
        "bool.mask": np.array([[True, False, True], [False, False, True]], dtype=np.bool_),
        "scalar.f32": np.array(1.5, dtype=np.float32),          # 0-d tensor: shape []
        "empty.f32": np.zeros((0, 4), dtype=np.float32),         # zero-size tensor: 0 bytes
    }
    if ml_dtypes is not None:
        t["bfloat16.weight"] = rng.standard_normal((4, 2)).astype(ml_dtypes.bfloat16)
        t["bfloat16.special"] = np.array(SPECIAL + [1e-40, 3.0e38], dtype=np.float32).astype(ml_dtypes.bfloat16)
        # E4M3FN: no infinities (they saturate to NaN on cast); max 448; smallest subnormal 2^-9.
        t["float8_e4m3.weight"] = np.array([0.0, -0.0, 1.0, -1.5, 448.0, -448.0, 2**-9, 0.1, float("nan")],
                                           dtype=np.float32).astype(ml_dtypes.float8_e4m3fn)
        # E5M2: IEEE-like with inf/nan; max 57344; smallest subnormal 2^-16.
        t["float8_e5m2.weight"] = np.array([0.0, -0.0, 1.0, -1.5, 57344.0, 2**-16, float("inf"), float("-inf"),
                                            float("nan")], dtype=np.float32).astype(ml_dtypes.float8_e5m2)
    return t


def shard_tensors() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    rng = np.random.default_rng(7)
    first = {
        "model.embed_tokens.weight": rng.standard_normal((8, 4)).astype(np.float16),
        "model.layers.0.input_layernorm.weight": np.ones(4, dtype=np.float32),
        "model.layers.0.mlp.up_proj.weight": rng.standard_normal((6, 4)).astype(np.float16),
    }
    second = {
        "model.layers.1.input_layernorm.weight": np.full(4, 0.5, dtype=np.float32),
        "model.layers.1.mlp.up_proj.weight": rng.standard_normal((6, 4)).astype(np.float16),
        "lm_head.weight": rng.standard_normal((8, 4)).astype(np.float16),
    }
    return first, second


def reference(path: str, output: str) -> None:
    subprocess.run([sys.executable, REFERENCE, path, "--values", "64", "-o", output], check=True)


def main() -> None:
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "Tests", "Fixtures", "reference", "safetensors")
    os.makedirs(os.path.join(out, "sharded"), exist_ok=True)

    single = os.path.join(out, "multi_dtype.safetensors")
    save_file(multi_dtype_tensors(), single,
              metadata={"format": "np", "producer": "make_safetensors_sample.py", "note": "fixture, not a model"})
    os.chmod(single, 0o644)  # the Rust writer creates files 0600
    reference(single, single + ".json")

    first, second = shard_tensors()
    names = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    weight_map: dict[str, str] = {}
    total = 0
    for name, tensors in zip(names, (first, second)):
        shard = os.path.join(out, "sharded", name)
        save_file(tensors, shard, metadata={"format": "pt"})
        os.chmod(shard, 0o644)
        for key, array in tensors.items():
            weight_map[key] = name
            total += array.nbytes
    index_path = os.path.join(out, "sharded", "model.safetensors.index.json")
    with open(index_path, "w", encoding="utf-8") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}, f, indent=2)
        f.write("\n")
    reference(index_path, os.path.join(out, "sharded", "model.safetensors.index.reference.json"))
    print(f"wrote {out} (ml_dtypes: {'yes' if ml_dtypes is not None else 'no, BF16/F8 skipped'})")


if __name__ == "__main__":
    main()
