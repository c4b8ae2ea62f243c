#!/usr/bin/env python3
"""Golden vectors for llama.cpp's activation quantization and quantized dot products, taken from the
ggml CPU library that llama-cpp-python ships (this machine: AVX2 build), through ctypes.

Usage: python3 Tests/Fixtures/runtime/make_quant_refs.py  -> Tests/Fixtures/runtime/quant-refs.json

Stored: activation rows as float32 bit patterns; per activation format the quantized blocks ggml
writes (quantize_row_q8_0 / q8_1 / q8_K: scale bits, int8 quants, q8_1 sum); per weight type one
weight row (bytes from ggml's quantize_row_*_ref on random floats) and ggml_vec_dot_<type>_q8_* of it
with each activation row.
"""
import ctypes, json, os, struct

import numpy as np
import llama_cpp

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
LIB = os.path.join(os.path.dirname(llama_cpp.__file__), "lib")
base = ctypes.CDLL(os.path.join(LIB, "libggml-base.so"), mode=ctypes.RTLD_GLOBAL)
cpu = ctypes.CDLL(os.path.join(LIB, "libggml-cpu.so"), mode=ctypes.RTLD_GLOBAL)
cpu.ggml_cpu_init()

N = 512
rng = np.random.default_rng(7)
rows = [
    rng.standard_normal(N).astype(np.float32),
    (rng.standard_normal(N) * 40).astype(np.float32),
    np.concatenate([np.zeros(256), rng.standard_normal(256) * 0.01]).astype(np.float32),
    # values on the rounding grid: x * 127 / amax lands on k + 0.5 for many elements
    np.tile(np.array([127.0, 0.5, -1.5, 2.5, -3.5, 64.5, -126.5, 0.0], dtype=np.float32), N // 8),
]
rows[1][17] = -500.0  # a negative spike: Q8_K's scale takes the sign of the largest magnitude

SIZES = {"q8_0": 34, "q8_1": 36, "q8_K": 4 + 256 + 32}
BLOCK = {"q8_0": 32, "q8_1": 32, "q8_K": 256}


def quantize(name, x):
    nb = N // BLOCK[name]
    buf = ctypes.create_string_buffer(SIZES[name] * nb)
    getattr(cpu, "quantize_row_" + name)(x.ctypes.data_as(ctypes.c_void_p), buf, ctypes.c_int64(N))
    return buf.raw


def decode(name, raw):
    nb = N // BLOCK[name]
    out = []
    for b in range(nb):
        blk = raw[b * SIZES[name]:(b + 1) * SIZES[name]]
        if name == "q8_K":
            d = struct.unpack("<I", blk[:4])[0]
            qs = list(struct.unpack("<256b", blk[4:260]))
            out.append({"d_bits": d, "qs": qs})
        elif name == "q8_1":
            d, s = struct.unpack("<HH", blk[:4])
            out.append({"d_bits": d, "s_bits": s, "qs": list(struct.unpack("<32b", blk[4:36]))})
        else:
            d = struct.unpack("<H", blk[:2])[0]
            out.append({"d_bits": d, "qs": list(struct.unpack("<32b", blk[2:34]))})
    return out


WEIGHTS = {  # weight type -> (ggml type size per block, block elements, activation format)
    "q4_0": (18, 32, "q8_0"), "q4_1": (20, 32, "q8_1"), "q5_0": (22, 32, "q8_0"), "q8_0": (34, 32, "q8_0"),
    "q4_K": (144, 256, "q8_K"), "q5_K": (176, 256, "q8_K"), "q6_K": (210, 256, "q8_K"),
}

doc = {"generator": f"llama-cpp-python {llama_cpp.__version__} libggml-cpu (ctypes)", "n": N,
       "rows": [[int(v) for v in r.view(np.uint32)] for r in rows], "activations": {}, "weights": {}}
quantized = {}
for name in SIZES:
    quantized[name] = [quantize(name, r) for r in rows]
    doc["activations"][name] = [decode(name, q) for q in quantized[name]]

for wname, (size, blk, act) in WEIGHTS.items():
    w = (rng.standard_normal(N) * 0.05).astype(np.float32)
    buf = ctypes.create_string_buffer(size * (N // blk))
    getattr(base, f"quantize_row_{wname}_ref")(w.ctypes.data_as(ctypes.c_void_p), buf, ctypes.c_int64(N))
    dot = getattr(cpu, f"ggml_vec_dot_{wname}_{act}")
    results = []
    for q in quantized[act]:
        s = ctypes.c_float(0)
        qb = ctypes.create_string_buffer(q, len(q))
        dot(ctypes.c_int(N), ctypes.byref(s), ctypes.c_size_t(0), buf, ctypes.c_size_t(0), qb, ctypes.c_size_t(0), ctypes.c_int(1))
        results.append(s.value)
    doc["weights"][wname] = {"bytes": buf.raw.hex(), "dots": results}

out = os.path.join(ROOT, "Tests/Fixtures/runtime/quant-refs.json")
with open(out, "w") as f:
    json.dump(doc, f, separators=(",", ":"))
print("wrote", out, os.path.getsize(out), "bytes")
