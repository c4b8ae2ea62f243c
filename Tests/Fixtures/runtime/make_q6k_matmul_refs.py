#!/usr/bin/env python3
"""Golden vectors for a Q6_K x F32 matrix product as llama.cpp's CPU backend computes it, through a real
ggml graph (ggml_mul_mat + ggml_graph_compute_with_ctx on the libggml-cpu llama-cpp-python ships, this
machine: AVX2). ggml-cpu sends a product with >= 8 activation rows (tokens) through its tiled K-quant
matmul (ggml-cpu/tiled/) and a smaller one through ggml_vec_dot_q6_K_q8_K; their float orders differ.

Usage: python3 Tests/Fixtures/runtime/make_q6k_matmul_refs.py  -> Tests/Fixtures/runtime/q6k-matmul-refs.json
Stored: 8 activation rows (float32 bits), 4 Q6_K weight rows (hex, quantize_row_q6_K_ref of random
floats), `tiled[token][row]` (the 8-token product) and `vec_dot[token][row]` (the first 4 tokens alone),
float32 bits; `tiled_differs` counts where the two orders give different bits.
"""
import ctypes, json, os

import numpy as np
import llama_cpp

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
LIB = os.path.join(os.path.dirname(llama_cpp.__file__), "lib")
base = ctypes.CDLL(os.path.join(LIB, "libggml-base.so"), mode=ctypes.RTLD_GLOBAL)
cpu = ctypes.CDLL(os.path.join(LIB, "libggml-cpu.so"), mode=ctypes.RTLD_GLOBAL)
cpu.ggml_cpu_init()

GGML_TYPE_F32, GGML_TYPE_Q6_K = 0, 14


class InitParams(ctypes.Structure):
    _fields_ = [("mem_size", ctypes.c_size_t), ("mem_buffer", ctypes.c_void_p), ("no_alloc", ctypes.c_bool)]


class Tensor(ctypes.Structure):  # the leading fields of struct ggml_tensor (ggml.h), up to `data`
    _fields_ = [("type", ctypes.c_int), ("buffer", ctypes.c_void_p), ("ne", ctypes.c_int64 * 4), ("nb", ctypes.c_size_t * 4),
                ("op", ctypes.c_int), ("op_params", ctypes.c_int32 * 16), ("flags", ctypes.c_int32),
                ("src", ctypes.c_void_p * 10), ("view_src", ctypes.c_void_p), ("view_offs", ctypes.c_size_t),
                ("data", ctypes.c_void_p)]


base.ggml_init.restype = ctypes.c_void_p
base.ggml_init.argtypes = [InitParams]
base.ggml_new_tensor_2d.restype = ctypes.c_void_p
base.ggml_new_tensor_2d.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
base.ggml_mul_mat.restype = ctypes.c_void_p
base.ggml_mul_mat.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
base.ggml_new_graph.restype = ctypes.c_void_p
base.ggml_new_graph.argtypes = [ctypes.c_void_p]
base.ggml_build_forward_expand.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
base.ggml_free.argtypes = [ctypes.c_void_p]
cpu.ggml_graph_compute_with_ctx.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]

N = 512  # 2 super-blocks per row
ROWS = 4
rng = np.random.default_rng(23)
acts = []
for t in range(8):
    a = (rng.standard_normal(N) * (0.5 + 3 * t)).astype(np.float32)
    acts.append(a)
acts[2][5] = -400.0  # negative spike: Q8_K scale sign
acts[5][:256] = 0.0  # an all-zero super-block
weights = []
for r in range(ROWS):
    w = (rng.standard_normal(N) * (0.02 + 0.02 * r)).astype(np.float32)
    buf = ctypes.create_string_buffer(210 * (N // 256))
    base.quantize_row_q6_K_ref(w.ctypes.data_as(ctypes.c_void_p), buf, ctypes.c_int64(N))
    weights.append(buf.raw)


def matmul(tokens):
    ctx = base.ggml_init(InitParams(64 << 20, None, False))
    a = base.ggml_new_tensor_2d(ctx, GGML_TYPE_Q6_K, N, ROWS)
    b = base.ggml_new_tensor_2d(ctx, GGML_TYPE_F32, N, tokens)
    ctypes.memmove(Tensor.from_address(a).data, b"".join(weights), 210 * (N // 256) * ROWS)
    x = np.ascontiguousarray(np.stack(acts[:tokens]))
    ctypes.memmove(Tensor.from_address(b).data, x.ctypes.data, x.nbytes)
    c = base.ggml_mul_mat(ctx, a, b)
    gf = base.ggml_new_graph(ctx)
    base.ggml_build_forward_expand(gf, c)
    cpu.ggml_graph_compute_with_ctx(ctx, gf, 2)
    out = np.frombuffer(ctypes.string_at(Tensor.from_address(c).data, 4 * ROWS * tokens), dtype=np.float32).reshape(tokens, ROWS)
    out = out.copy()
    base.ggml_free(ctx)
    return out


tiled = matmul(8)
vec = matmul(4)
doc = {"generator": f"llama-cpp-python {llama_cpp.__version__} libggml-cpu ggml_mul_mat (ctypes)", "n": N,
       "rows": [[int(v) for v in a.view(np.uint32)] for a in acts],
       "q6_K_rows": [w.hex() for w in weights],
       "tiled": [[int(v) for v in row.view(np.uint32)] for row in tiled],
       "vec_dot": [[int(v) for v in row.view(np.uint32)] for row in vec],
       "tiled_differs": int((tiled[:4] != vec).sum())}
out = os.path.join(ROOT, "Tests/Fixtures/runtime/q6k-matmul-refs.json")
with open(out, "w") as f:
    json.dump(doc, f, separators=(",", ":"))
print("wrote", out, os.path.getsize(out), "bytes; tiled vs vec_dot differ at", doc["tiled_differs"], "of", 4 * ROWS)
