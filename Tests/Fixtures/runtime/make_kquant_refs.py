#!/usr/bin/env python3
"""Golden vectors for the Q4_K x Q8_K product llama.cpp actually runs on an AVX2 CPU: Q4_K weights with a
row count divisible by 8 are repacked into 8-row interleaved blocks (block_q4_Kx8) and multiplied by
ggml_gemv_q4_K_8x8_q8_K (one token, block_q8_K activations) or ggml_gemm_q4_K_8x8_q8_K (4 tokens,
block_q8_Kx4 from ggml_quantize_mat_q8_K_4x8). Both are called here through ctypes on the libggml-cpu
llama-cpp-python ships; the interleaving is done in Python following the layout of ggml's repack
(make_block_q4_Kx8 in ggml-cpu/repack.cpp).

Usage: python3 Tests/Fixtures/runtime/make_kquant_refs.py  -> Tests/Fixtures/runtime/kquant-refs.json
Stored: 4 activation rows (float32 bits), 8 Q4_K weight rows (hex, quantize_row_q4_K_ref of random
floats), gemv[token][row] and gemm[token][row] results (float32 bits).
"""
import ctypes, json, os

import numpy as np
import llama_cpp

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
LIB = os.path.join(os.path.dirname(llama_cpp.__file__), "lib")
base = ctypes.CDLL(os.path.join(LIB, "libggml-base.so"), mode=ctypes.RTLD_GLOBAL)
cpu = ctypes.CDLL(os.path.join(LIB, "libggml-cpu.so"), mode=ctypes.RTLD_GLOBAL)
cpu.ggml_cpu_init()

N = 512  # 2 super-blocks per row
NB = N // 256
rng = np.random.default_rng(11)
acts = [
    rng.standard_normal(N).astype(np.float32),
    (rng.standard_normal(N) * 300).astype(np.float32),  # large integer sums: isum passes 2^24 in float
    np.concatenate([np.zeros(256), rng.standard_normal(256) * 0.01]).astype(np.float32),
    (rng.standard_normal(N) * 3).astype(np.float32),
]
acts[1][3] = 4000.0
acts[3][300] = -90.0  # negative spike: Q8_K scale sign
weights = []
for r in range(8):
    w = (rng.standard_normal(N) * (0.02 + 0.01 * r)).astype(np.float32)
    buf = ctypes.create_string_buffer(144 * NB)
    base.quantize_row_q4_K_ref(w.ctypes.data_as(ctypes.c_void_p), buf, ctypes.c_int64(N))
    weights.append(buf.raw)


def repack(rows):
    """8 Q4_K rows -> NB block_q4_Kx8 (d[8], dmin[8], scales[96], qs[1024])."""
    out = b""
    for b in range(NB):
        blks = [row[b * 144:(b + 1) * 144] for row in rows]
        d = b"".join(x[0:2] for x in blks)
        dmin = b"".join(x[2:4] for x in blks)
        sc = [x[4:16] for x in blks]
        qs = [x[16:144] for x in blks]
        oq = bytearray(1024)
        for i in range(128):
            src, off = i % 8, (i // 8) * 8
            oq[i * 8:i * 8 + 8] = qs[src][off:off + 8]
        osc = bytearray(96)
        for half in range(2):
            for i in range(4):
                if half == 0:
                    s = [sc[j][i] & 63 for j in range(8)]
                    m = [sc[j][i + 4] & 63 for j in range(8)]
                else:
                    s = [((sc[j][i] & 192) >> 2) | (sc[j][i + 8] & 15) for j in range(8)]
                    m = [((sc[j][i + 4] & 192) >> 2) | ((sc[j][i + 8] & 240) >> 4) for j in range(8)]
                o = half * 48 + i * 12
                for k in range(4):
                    osc[o + k] = ((s[k] & 63) + ((s[k + 4] & 48) << 2)) & 255
                    osc[o + 4 + k] = ((m[k] & 63) + ((m[k + 4] & 48) << 2)) & 255
                    osc[o + 8 + k] = ((s[k + 4] & 15) + ((m[k + 4] & 15) << 4)) & 255
        out += d + dmin + bytes(osc) + bytes(oq)
    return out


packed = ctypes.create_string_buffer(repack(weights))
f32p = lambda a: a.ctypes.data_as(ctypes.c_void_p)

gemv = []
for x in acts:
    q = ctypes.create_string_buffer(292 * NB)
    cpu.quantize_row_q8_K(f32p(x), q, ctypes.c_int64(N))
    s = np.zeros(8, dtype=np.float32)
    cpu.ggml_gemv_q4_K_8x8_q8_K(ctypes.c_int(N), f32p(s), ctypes.c_size_t(8), packed, q, ctypes.c_int(1), ctypes.c_int(8))
    gemv.append([int(v) for v in s.view(np.uint32)])

x4 = np.ascontiguousarray(np.stack(acts))
q4 = ctypes.create_string_buffer((16 + 1024 + 128) * NB)
cpu.ggml_quantize_mat_q8_K_4x8(f32p(x4), q4, ctypes.c_int64(N))
s4 = np.zeros((4, 8), dtype=np.float32)
cpu.ggml_gemm_q4_K_8x8_q8_K(ctypes.c_int(N), f32p(s4), ctypes.c_size_t(8), packed, q4, ctypes.c_int(4), ctypes.c_int(8))
gemm = [[int(v) for v in row.view(np.uint32)] for row in s4]

doc = {"generator": f"llama-cpp-python {llama_cpp.__version__} libggml-cpu (ctypes)", "n": N,
       "rows": [[int(v) for v in a.view(np.uint32)] for a in acts],
       "q4_K_rows": [w.hex() for w in weights], "gemv": gemv, "gemm": gemm}
out = os.path.join(ROOT, "Tests/Fixtures/runtime/kquant-refs.json")
with open(out, "w") as f:
    json.dump(doc, f, separators=(",", ":"))
print("wrote", out, os.path.getsize(out), "bytes")
print("gemv == gemm:", gemv == gemm)
