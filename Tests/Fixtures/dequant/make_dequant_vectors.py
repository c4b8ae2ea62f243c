#!/usr/bin/env python3
"""Reference vectors for Formats' Dequantize (Tests/FormatsTests/Dequantize*Tests.swift).

Writes, next to this script:
  manifest.txt        one case per line (format below)
  <case>.in           input bytes (random blocks, little-endian, as stored in a file)
  <case>.f32          expected float32 output, little-endian

Manifest lines (whitespace separated):
  vector   <gguf|st> <TYPE> <elementCount> <case>            input/expected files
  table    st <TYPE> <codeCount> <case>                      every code of a sub-byte float, one code per element
  real     <model file> <TYPE> <tensor> <absOffset> <elementCount> <checksum hex>   whole tensor
  sample   <model file> <TYPE> <tensor> <absOffset> <elementCount> <case>          some blocks, <case>.f32 only

Checksum of a float32 array x (uint32 bits b_i), printed as 16 hex digits: sum over i of mix(b_i | i << 32) mod 2^64,
mix(m) = m * 0x9E3779B97F4A7C15; m ^= m >> 29; m *= 0xBF58476D1CE4E5B9; m ^= m >> 32 (all mod 2^64).
mix is a bijection, so changing any one element always changes the checksum.

References:
  * GGUF types gguf-py has (gguf 0.19.0, `gguf.quants.dequantize`): F16, BF16, Q4_0..Q8_0, Q2_K..Q6_K, IQ4_NL,
    IQ4_XS, TQ1_0, TQ2_0, MXFP4, NVFP4.
  * GGUF types it lacks: Q8_1, Q8_K, Q1_0 (listed in gguf-py but no dequantizer), Q2_0 (not in gguf-py),
    F64 and I8..I64 (numpy astype): numpy ports of ggml-quants.c below (`ggml_port_*`), float32 arithmetic.
  * If libggml-base.so (llama-cpp-python) is importable, every GGUF vector is also run through ggml's own
    `to_float` and the differences are printed (not written).
  * safetensors: numpy astype(float32) for IEEE/integers, ml_dtypes 0.6 for F8/F6/F4 codes.

Real models (optional; the `real`/`sample` lines are written only when the files exist):
  $SCAN_REAL_MODELS_DIR (default ../../../samples/.cache/real) / SmolLM2-135M-Instruct.Q4_1.gguf, gemma-3-270m-q4_k_m.gguf

Run: python3 make_dequant_vectors.py   (needs numpy, gguf, ml_dtypes). Deterministic (fixed seed).
"""

import ctypes
import glob
import os
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
import ml_dtypes

np.seterr(all="ignore")  # NaN/Inf scales are part of the vectors
HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20261129)

# f16 scale fields (byte offsets within a block) per type; other bytes stay random.
HALF_FIELDS = {
    "Q4_0": [0], "Q4_1": [0, 2], "Q5_0": [0], "Q5_1": [0, 2], "Q8_0": [0], "Q8_1": [0, 2],
    "Q2_K": [80, 82], "Q3_K": [108], "Q4_K": [0, 2], "Q5_K": [0, 2], "Q6_K": [208],
    "IQ4_NL": [0], "IQ4_XS": [0], "TQ1_0": [52], "TQ2_0": [64], "Q1_0": [0], "Q2_0": [0],
}
GEOMETRY = {  # (block elements, block bytes)
    "Q4_0": (32, 18), "Q4_1": (32, 20), "Q5_0": (32, 22), "Q5_1": (32, 24), "Q8_0": (32, 34), "Q8_1": (32, 36),
    "Q2_K": (256, 84), "Q3_K": (256, 110), "Q4_K": (256, 144), "Q5_K": (256, 176), "Q6_K": (256, 210),
    "Q8_K": (256, 292), "IQ4_NL": (32, 18), "IQ4_XS": (256, 136), "TQ1_0": (256, 54), "TQ2_0": (256, 66),
    "MXFP4": (32, 17), "NVFP4": (64, 36), "Q1_0": (128, 18), "Q2_0": (64, 18),
}
SPECIAL_HALVES = [0x7E00, 0x7C01, 0xFE00, 0x7D55, 0x7C00, 0xFC00, 0x0001, 0x83FF, 0x0000, 0x8000, 0x7BFF, 0x0400]
SPECIAL_FLOATS = [0x7FC00000, 0x7F800001, 0xFFC00000, 0x7F800000, 0xFF800000, 0x00000001, 0x807FFFFF, 0x0, 0x80000000]


def sane_halves(n):
    mag = 10.0 ** rng.uniform(-4, 0, n)
    sign = np.where(rng.integers(0, 2, n) == 1, -1.0, 1.0)
    return (mag * sign).astype(np.float16).view(np.uint16)


def random_blocks(name, sane_count):
    """sane_count blocks with finite scales, then one block per (special value, scale field)."""
    _, size = GEOMETRY[name]
    fields = HALF_FIELDS.get(name, [])
    blocks = []
    for _ in range(sane_count):
        b = rng.integers(0, 256, size, dtype=np.uint8)
        for f in fields:
            b[f:f + 2] = np.array([sane_halves(1)[0]], dtype=np.uint16).view(np.uint8)
        if name == "Q8_K":
            b[0:4] = np.array([rng.uniform(-1, 1)], dtype=np.float32).view(np.uint8)
        blocks.append(b)
    for f in fields:
        for s in SPECIAL_HALVES:
            b = rng.integers(0, 256, size, dtype=np.uint8)
            for g in fields:
                v = s if g == f else sane_halves(1)[0]
                b[g:g + 2] = np.array([v], dtype=np.uint16).view(np.uint8)
            blocks.append(b)
    if name == "Q8_K":
        for s in SPECIAL_FLOATS:
            b = rng.integers(0, 256, size, dtype=np.uint8)
            b[0:4] = np.array([s], dtype=np.uint32).view(np.uint8)
            blocks.append(b)
    return np.concatenate(blocks)


# ---- numpy ports of ggml-quants.c for the types gguf-py 0.19 cannot dequantize (float32 arithmetic) ----

def half(a):
    return a.view(np.float16).astype(np.float32)


def ggml_port_q8_1(data):
    b = data.reshape(-1, 36)
    d = half(b[:, 0:2].copy())
    return (b[:, 4:].view(np.int8).astype(np.float32) * d).reshape(-1)


def ggml_port_q8_k(data):
    b = data.reshape(-1, 292)
    d = b[:, 0:4].copy().view(np.float32)
    return (d * b[:, 4:260].view(np.int8).astype(np.float32)).reshape(-1)


def ggml_port_q1_0(data):
    # y = bit ? d : -d; ggml's fp16->fp32 quiets signalling NaNs (sets bit 22) before copying.
    b = data.reshape(-1, 18)
    d = half(b[:, 0:2].copy())
    bits = d.view(np.uint32)
    d = np.where(np.isnan(d), (bits | np.uint32(0x400000)).view(np.float32), d)
    q = np.unpackbits(b[:, 2:], axis=1, bitorder="little").astype(bool)
    return np.where(q, d, -d).astype(np.float32).reshape(-1)


def ggml_port_q2_0(data):
    b = data.reshape(-1, 18)
    d = half(b[:, 0:2].copy())
    q = (b[:, 2:].reshape(-1, 16, 1) >> np.array([0, 2, 4, 6], dtype=np.uint8).reshape(1, 1, 4)) & 3
    q = q.reshape(-1, 64).astype(np.int32) - 1
    return (q.astype(np.float32) * d).reshape(-1)


PORTS = {"Q8_1": ggml_port_q8_1, "Q8_K": ggml_port_q8_k, "Q1_0": ggml_port_q1_0, "Q2_0": ggml_port_q2_0}


def reference(name, data):
    if name in PORTS:
        return PORTS[name](data), "ggml-port"
    out = gguf.quants.dequantize(data, getattr(T, name))
    return np.asarray(out, dtype=np.float32).reshape(-1), "gguf-py"


# ---- optional: ggml C through llama-cpp-python's libggml-base ----

def load_ggml():
    for pattern in [os.path.join(p, "llama_cpp", "lib", "libggml-base.so") for p in sys.path if p]:
        for path in glob.glob(pattern):
            try:
                lib = ctypes.CDLL(path)
            except OSError:
                continue
            class Traits(ctypes.Structure):
                _fields_ = [("type_name", ctypes.c_char_p), ("blck_size", ctypes.c_int64),
                            ("blck_size_interleave", ctypes.c_int64), ("type_size", ctypes.c_size_t),
                            ("is_quantized", ctypes.c_bool), ("to_float", ctypes.c_void_p),
                            ("from_float_ref", ctypes.c_void_p)]
            lib.ggml_get_type_traits.restype = ctypes.POINTER(Traits)
            lib.ggml_get_type_traits.argtypes = [ctypes.c_int]
            return lib, path
    return None, None


GGML_IDS = {"F16": 1, "Q4_0": 2, "Q4_1": 3, "Q5_0": 6, "Q5_1": 7, "Q8_0": 8, "Q8_1": 9, "Q2_K": 10, "Q3_K": 11,
            "Q4_K": 12, "Q5_K": 13, "Q6_K": 14, "Q8_K": 15, "IQ4_NL": 20, "IQ4_XS": 23, "BF16": 30, "TQ1_0": 34,
            "TQ2_0": 35, "MXFP4": 39, "NVFP4": 40, "Q1_0": 41, "Q2_0": 42}


def ggml_to_float(lib, name, data, count):
    traits = lib.ggml_get_type_traits(GGML_IDS[name]).contents
    if not traits.to_float:
        return None
    fn = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)(traits.to_float)
    src = np.ascontiguousarray(data)
    out = np.zeros(count, dtype=np.float32)
    fn(src.ctypes.data, out.ctypes.data, count)
    return out


def compare_bits(a, b):
    """(exact mismatches, of which both-NaN with different payloads)."""
    ab, bb = a.view(np.uint32), b.view(np.uint32)
    diff = ab != bb
    both_nan = diff & np.isnan(a) & np.isnan(b)
    return int(diff.sum()), int(both_nan.sum())


def checksum(x):
    """Order-sensitive 64-bit checksum of float32 bits (see the module docstring)."""
    bits = np.ascontiguousarray(x, dtype=np.float32).reshape(-1).view(np.uint32).astype(np.uint64)
    idx = np.arange(bits.size, dtype=np.uint64)
    with np.errstate(over="ignore"):
        m = (bits | (idx << np.uint64(32))) * np.uint64(0x9E3779B97F4A7C15)
        m ^= m >> np.uint64(29)
        m *= np.uint64(0xBF58476D1CE4E5B9)
        m ^= m >> np.uint64(32)
        return int(np.sum(m, dtype=np.uint64))


def write_case(case, data, expected):
    if data is not None:
        np.ascontiguousarray(data, dtype=np.uint8).tofile(os.path.join(HERE, case + ".in"))
    np.ascontiguousarray(expected, dtype="<f4").tofile(os.path.join(HERE, case + ".f32"))


# ---- safetensors ----

def unpack_f4(data):  # low nibble first (torch float4_e2m1fn_x2)
    return np.stack([data & 0x0F, data >> 4], axis=-1).reshape(-1)


def unpack_f6(data):  # little-endian bit stream: element i in bits 6i..6i+5
    g = data.reshape(-1, 3).astype(np.uint32)
    v = g[:, 0] | (g[:, 1] << 8) | (g[:, 2] << 16)
    return ((v.reshape(-1, 1) >> np.array([0, 6, 12, 18], dtype=np.uint32)) & 63).astype(np.uint8).reshape(-1)


def main():
    for old in glob.glob(os.path.join(HERE, "*.in")) + glob.glob(os.path.join(HERE, "*.f32")):
        os.remove(old)
    lines = []
    lib, libpath = load_ggml()
    print("ggml C reference:", libpath or "not available")

    # GGUF quantized types: 8 sane blocks + special-scale blocks.
    for name in GEOMETRY:
        data = random_blocks(name, 8)
        n = data.size // GEOMETRY[name][1] * GEOMETRY[name][0]
        expected, source = reference(name, data)
        assert expected.size == n
        case = "gguf_" + name.lower()
        write_case(case, data, expected)
        lines.append(f"vector gguf {name} {n} {case}")
        note = ""
        if lib is not None and name in GGML_IDS:
            c = ggml_to_float(lib, name, data, n)
            note = "ggml C: no to_float" if c is None else "vs ggml C: %d differ (%d both NaN)" % compare_bits(expected, c)
        print(f"{name:7} {n:6} elements, reference {source}; {note}")

    # GGUF plain types: random bytes (F16/BF16 include NaN payloads, Inf, subnormals).
    plain = {"F16": np.float16, "BF16": None, "F32": np.float32, "F64": np.float64,
             "I8": np.int8, "I16": np.int16, "I32": np.int32, "I64": np.int64}
    for name, dt in plain.items():
        size = 8 if name in ("F64", "I64") else (4 if name in ("F32", "I32") else (2 if name in ("F16", "BF16", "I16") else 1))
        n = 512
        data = rng.integers(0, 256, n * size, dtype=np.uint8)
        if name == "F16":
            expected = gguf.quants.dequantize(data, T.F16)
        elif name == "BF16":
            expected = gguf.quants.dequantize(data, T.BF16)
        elif name == "F32":
            expected = gguf.quants.dequantize(data, T.F32)
        else:
            expected = data.view(dt).astype(np.float32)
        expected = np.asarray(expected, dtype=np.float32).reshape(-1)
        case = "gguf_" + name.lower()
        write_case(case, data, expected)
        lines.append(f"vector gguf {name} {n} {case}")
        if lib is not None and name in GGML_IDS:
            print(f"{name:7} vs ggml C: %d differ (%d both NaN)" % compare_bits(expected, ggml_to_float(lib, name, data, n)))

    # Every binary16 code, as a checksum (F16 gguf-py semantics: NaN payload kept).
    allh = np.arange(65536, dtype=np.uint16)
    lines.append("checksum gguf F16 all16 %016x" % checksum(gguf.quants.dequantize(allh.view(np.uint8), T.F16)))
    if lib is not None:
        print("F16 all codes vs ggml C: %d differ (%d both NaN)" % compare_bits(
            np.asarray(gguf.quants.dequantize(allh.view(np.uint8), T.F16), np.float32),
            ggml_to_float(lib, "F16", allh.view(np.uint8), 65536)))

    # safetensors plain dtypes.
    st_plain = {"BOOL": np.uint8, "U8": np.uint8, "I8": np.int8, "U16": np.uint16, "I16": np.int16,
                "U32": np.uint32, "I32": np.int32, "U64": np.uint64, "I64": np.int64,
                "F16": np.float16, "BF16": ml_dtypes.bfloat16, "F32": np.float32, "F64": np.float64,
                "C64": np.complex64}
    for name, dt in st_plain.items():
        n = 256
        size = np.dtype(dt).itemsize
        data = rng.integers(0, 256, n * size, dtype=np.uint8)
        if name in ("U64", "I64", "U32", "I32"):
            # Mix in small values and values near rounding boundaries as well as random ones.
            v = data.view(dt)
            v[: n // 4] = (v[: n // 4] >> np.array(40 if size == 8 else 10, dtype=v.dtype))
        if name == "BOOL":
            data[: n // 2] &= 1  # half 0/1, half arbitrary nonzero bytes
            expected = (data != 0).astype(np.float32)
        elif name == "C64":
            c = data.view(np.complex64)
            expected = np.stack([c.real, c.imag], axis=-1).reshape(-1).astype(np.float32)
        elif name == "BF16":
            expected = (data.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
        else:
            expected = data.view(dt).astype(np.float32)
        case = "st_" + name.lower()
        write_case(case, data, expected)
        lines.append(f"vector st {name} {n} {case}")

    # safetensors 8-bit floats: all 256 codes, one byte per element, through ml_dtypes.
    f8 = {"F8_E4M3": ml_dtypes.float8_e4m3fn, "F8_E5M2": ml_dtypes.float8_e5m2, "F8_E8M0": ml_dtypes.float8_e8m0fnu,
          "F8_E4M3FNUZ": ml_dtypes.float8_e4m3fnuz, "F8_E5M2FNUZ": ml_dtypes.float8_e5m2fnuz}
    for name, dt in f8.items():
        data = np.arange(256, dtype=np.uint8)
        expected = data.view(dt).astype(np.float32)
        case = "st_" + name.lower()
        write_case(case, data, expected)
        lines.append(f"vector st {name} 256 {case}")

    # Sub-byte floats: the code table from ml_dtypes (one code per element, for the value mapping),
    # then random packed bytes through our documented packing.
    for name, dt, bits in [("F4", ml_dtypes.float4_e2m1fn, 4), ("F6_E2M3", ml_dtypes.float6_e2m3fn, 6),
                           ("F6_E3M2", ml_dtypes.float6_e3m2fn, 6)]:
        codes = np.arange(1 << bits, dtype=np.uint8)
        case = "st_" + name.lower() + "_codes"
        write_case(case, codes, codes.view(dt).astype(np.float32))
        lines.append(f"table st {name} {1 << bits} {case}")
        nbytes = 96
        data = rng.integers(0, 256, nbytes, dtype=np.uint8)
        unpacked = unpack_f4(data) if bits == 4 else unpack_f6(data)
        expected = unpacked.view(dt).astype(np.float32)
        case = "st_" + name.lower()
        write_case(case, data, expected)
        lines.append(f"vector st {name} {unpacked.size} {case}")

    # Real models.
    real_dir = os.environ.get("SCAN_REAL_MODELS_DIR", os.path.join(HERE, "..", "..", "..", "samples", ".cache", "real"))
    for model in ["SmolLM2-135M-Instruct.Q4_1.gguf", "gemma-3-270m-q4_k_m.gguf"]:
        path = os.path.join(real_dir, model)
        if not os.path.exists(path):
            print("real model missing:", path)
            continue
        reader = gguf.GGUFReader(path)
        raw = np.memmap(path, dtype=np.uint8, mode="r")
        seen = {}
        c_diffs = {}
        for t in reader.tensors:
            name = t.tensor_type.name
            if name not in GEOMETRY and name not in ("F16", "BF16", "F32"):
                continue
            data = np.asarray(raw[t.data_offset:t.data_offset + t.n_bytes])
            out, source = reference(name, data) if name in GEOMETRY else (
                np.asarray(gguf.quants.dequantize(data, getattr(T, name)), np.float32).reshape(-1), "gguf-py")
            n = int(t.n_elements)
            assert out.size == n
            lines.append(f"real {model} {name} {t.name} {t.data_offset} {n} {checksum(out):016x}")
            if lib is not None and name in GGML_IDS:
                diff, _ = compare_bits(out, ggml_to_float(lib, name, data, n))
                c_diffs[name] = c_diffs.get(name, 0) + diff
            seen.setdefault(name, []).append((t, out))
        for name, tensors in sorted(seen.items()):
            elements = sum(int(t.n_elements) for t, _ in tensors)
            note = f"; vs ggml C: {c_diffs[name]} elements differ" if name in c_diffs else ""
            print(f"{model}: {name} {len(tensors)} tensors, {elements} elements (reference: checksum){note}")
        # A few sampled blocks per type (first tensor of the type: 4 blocks from its start, 4 from its end).
        for name, tensors in sorted(seen.items()):
            t, out = tensors[0]
            block, size = GEOMETRY[name] if name in GEOMETRY else (1, {"F16": 2, "BF16": 2, "F32": 4}[name])
            take = 4 * block
            tag = "real_" + model.split("-")[0].lower() + "_" + name.lower()
            write_case(tag + "_head", None, out[:take])
            lines.append(f"sample {model} {name} {t.name} {t.data_offset} {take} {tag}_head")
            tail_block = (out.size - take) // block
            off = t.data_offset + tail_block * size
            write_case(tag + "_tail", None, out[tail_block * block:tail_block * block + take])
            lines.append(f"sample {model} {name} {t.name} {off} {take} {tag}_tail")

    with open(os.path.join(HERE, "manifest.txt"), "w") as f:
        f.write("# generated by make_dequant_vectors.py; numpy %s, gguf %s, ml_dtypes %s\n"
                % (np.__version__, getattr(gguf, "__version__", "0.19.x"), ml_dtypes.__version__))
        f.write("\n".join(lines) + "\n")
    print(len(lines), "manifest lines")


if __name__ == "__main__":
    main()
