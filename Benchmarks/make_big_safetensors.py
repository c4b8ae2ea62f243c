#!/usr/bin/env python3
"""Write a multi-GB F16 safetensors file shaped like a 1.5B-parameter decoder (Qwen2-1.5B's tensor list:
28 layers, hidden 1536, MLP 8960, vocab 151936, 338 tensors, ~3.1 GB) for the open+validate benchmark.

    make_big_safetensors.py OUT.safetensors

Streams the file instead of calling safetensors.numpy.save_file, which would hold the tensors plus a bytes copy of
them (~6 GB) in memory on a shared 24 GB machine. The layout is the one the safetensors crate writes (tensors sorted
by name within one dtype, contiguous, header JSON padded with spaces to a multiple of 8), the data is numpy random
F16 (a 64 MiB block repeated), and the result is checked by opening it with safetensors.safe_open.
"""
from __future__ import annotations

import json
import os
import struct
import sys

import numpy as np


def tensor_list() -> list[tuple[str, list[int]]]:
    hidden, mlp, vocab, layers, kv = 1536, 8960, 151936, 28, 256
    out = [("model.embed_tokens.weight", [vocab, hidden]), ("model.norm.weight", [hidden])]
    for i in range(layers):
        p = f"model.layers.{i}."
        out += [
            (p + "input_layernorm.weight", [hidden]),
            (p + "post_attention_layernorm.weight", [hidden]),
            (p + "self_attn.q_proj.weight", [hidden, hidden]),
            (p + "self_attn.q_proj.bias", [hidden]),
            (p + "self_attn.k_proj.weight", [kv, hidden]),
            (p + "self_attn.k_proj.bias", [kv]),
            (p + "self_attn.v_proj.weight", [kv, hidden]),
            (p + "self_attn.v_proj.bias", [kv]),
            (p + "self_attn.o_proj.weight", [hidden, hidden]),
            (p + "mlp.gate_proj.weight", [mlp, hidden]),
            (p + "mlp.up_proj.weight", [mlp, hidden]),
            (p + "mlp.down_proj.weight", [hidden, mlp]),
        ]
    return sorted(out)


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    path = sys.argv[1]
    tensors = tensor_list()
    header: dict = {"__metadata__": {"format": "pt", "producer": "Benchmarks/make_big_safetensors.py"}}
    offset = 0
    for name, shape in tensors:
        n = 2 * int(np.prod(shape))
        header[name] = {"dtype": "F16", "shape": shape, "data_offsets": [offset, offset + n]}
        offset += n
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)
    block = np.random.default_rng(0).standard_normal(32 << 20).astype(np.float16).tobytes()  # 64 MiB
    tmp = path + ".partial"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        remaining = offset
        while remaining:
            chunk = block[: min(len(block), remaining)]
            f.write(chunk)
            remaining -= len(chunk)
    os.replace(tmp, path)

    from safetensors import safe_open
    with safe_open(path, framework="np") as f:
        assert len(f.keys()) == len(tensors)
    print(f"{path}: {len(tensors)} tensors, {os.path.getsize(path) / 1e9:.2f} GB")


if __name__ == "__main__":
    main()
