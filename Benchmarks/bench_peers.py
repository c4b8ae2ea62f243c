#!/usr/bin/env python3
"""Peer timings for Benchmarks/bench-formats.sh: the reference implementations, measured in-process.

Every timing excludes interpreter start and imports; each operation is repeated and the median is reported.
Prints one JSON object on stdout.

    bench_peers.py gguf-open PATH [--no-gguf-py]
                                          ggml's C parser (gguf_init_from_file, no_alloc=true; with ctx=NULL and
                                          with a ggml context as llama.cpp's loader asks for), and gguf.GGUFReader
    bench_peers.py st-open PATH           safetensors.safe_open (Rust crate behind a Python binding): open, which
                                          parses and validates the whole header, plus keys()
    bench_peers.py dequant PATH [--tensors JSON]
                                          full dequantizing pass over every tensor into a float32 buffer:
                                          numpy via gguf.quants.dequantize, and ggml's own C to_float (type traits)

Environment: BENCH_MIN_SECONDS (default 2), BENCH_MAX_ITERATIONS (default 200) bound the repetitions.
"""
from __future__ import annotations

import ctypes
import glob
import json
import os
import statistics
import sys
import time

MIN_SECONDS = float(os.environ.get("BENCH_MIN_SECONDS", "2"))
MAX_ITERATIONS = int(os.environ.get("BENCH_MAX_ITERATIONS", "200"))


def measure(fn, min_seconds: float = MIN_SECONDS, max_iterations: int = MAX_ITERATIONS, warmup: int = 1) -> dict:
    """Runs fn until min_seconds have passed (at least 3 times unless one call exceeds min_seconds)."""
    for _ in range(warmup):
        fn()
    samples = []
    start = time.perf_counter()
    while len(samples) < max_iterations:
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds and len(samples) >= 3:
            break
        if samples[0] >= min_seconds and len(samples) >= 1 and elapsed >= 2 * min_seconds:
            break
    return {"median_s": statistics.median(samples), "min_s": min(samples), "iterations": len(samples)}


# MARK: - ggml through ctypes

def find_libggml_base() -> str | None:
    """The libggml-base shared library that llama-cpp-python installs (gguf_* live in it)."""
    try:
        import llama_cpp  # noqa: F401  (only to locate the package)
        roots = [os.path.dirname(llama_cpp.__file__)]
    except Exception:
        import site
        roots = [os.path.join(p, "llama_cpp") for p in site.getsitepackages()]
    for root in roots:
        for pattern in ("lib/libggml-base.so*", "lib/libggml.so*", "libggml-base.so*", "libggml.so*"):
            hits = sorted(glob.glob(os.path.join(root, pattern)))
            if hits:
                return hits[0]
    return None


class GGUFInitParams(ctypes.Structure):
    # ggml/include/gguf.h: struct gguf_init_params { bool no_alloc; struct ggml_context ** ctx; };
    _fields_ = [("no_alloc", ctypes.c_bool), ("ctx", ctypes.POINTER(ctypes.c_void_p))]


def load_ggml():
    path = find_libggml_base()
    if path is None:
        return None, "llama_cpp (llama-cpp-python) not installed: no libggml-base.so found"
    lib = ctypes.CDLL(path)
    lib.gguf_init_from_file.restype = ctypes.c_void_p
    lib.gguf_init_from_file.argtypes = [ctypes.c_char_p, GGUFInitParams]
    lib.gguf_free.argtypes = [ctypes.c_void_p]
    lib.gguf_get_n_tensors.restype = ctypes.c_int64
    lib.gguf_get_n_tensors.argtypes = [ctypes.c_void_p]
    lib.ggml_free.argtypes = [ctypes.c_void_p]
    return lib, path


def bench_gguf_open(path: str, with_gguf_py: bool = True) -> dict:
    out: dict = {"file": path, "size": os.path.getsize(path)}
    lib, where = load_ggml()
    if lib is None:
        out["ggml_c"] = {"error": where}
        out["ggml_c_ctx"] = {"error": where}
    else:
        out["libggml"] = where
        bpath = path.encode()

        def ggml_open_no_ctx():
            ctx = lib.gguf_init_from_file(bpath, GGUFInitParams(True, None))
            if not ctx:
                raise RuntimeError("gguf_init_from_file failed")
            lib.gguf_free(ctx)

        def ggml_open_with_ctx():
            meta = ctypes.c_void_p()
            ctx = lib.gguf_init_from_file(bpath, GGUFInitParams(True, ctypes.pointer(meta)))
            if not ctx:
                raise RuntimeError("gguf_init_from_file failed")
            lib.gguf_free(ctx)
            lib.ggml_free(meta)

        ctx = lib.gguf_init_from_file(bpath, GGUFInitParams(True, None))
        out["ggml_tensor_count"] = int(lib.gguf_get_n_tensors(ctx)) if ctx else None
        if ctx:
            lib.gguf_free(ctx)
        out["ggml_c"] = measure(ggml_open_no_ctx)
        out["ggml_c_ctx"] = measure(ggml_open_with_ctx)
    if not with_gguf_py:
        out["gguf_py"] = {"skipped": "--no-gguf-py"}
        return out
    try:
        from gguf import GGUFReader

        def reader_open():
            r = GGUFReader(path, "r")
            if len(r.tensors) < 0:
                raise AssertionError
        # about 10+ s per open on a 2-core machine: few iterations, no warm-up
        out["gguf_py"] = measure(reader_open, min_seconds=1, max_iterations=3, warmup=0)
    except ImportError as e:
        out["gguf_py"] = {"error": str(e)}
    return out


def bench_st_open(path: str) -> dict:
    out: dict = {"file": path, "size": os.path.getsize(path)}
    try:
        from safetensors import safe_open
    except ImportError as e:
        out["safetensors_py"] = {"error": str(e)}
        return out

    def open_and_list():
        with safe_open(path, framework="np") as f:
            return len(f.keys())

    out["tensor_count"] = open_and_list()
    out["safetensors_py"] = measure(open_and_list)
    return out


# MARK: - dequantization

def tensor_table(path: str, tensors_json: str | None):
    """(name, type_name, type_id, absolute offset, n_bytes, n_elements) for every tensor.

    Taken from a reference dump (scripts/reference/gguf_reference.py output) when one matching the file is given,
    which spares the GGUFReader's slow open (about a minute for Gemma's 262k-entry vocabulary); else from GGUFReader.
    """
    if tensors_json and os.path.exists(tensors_json):
        with open(tensors_json, encoding="utf-8") as f:
            ref = json.load(f)
        if ref.get("size") == os.path.getsize(path):
            return [(t["name"], t["type"], t["type_id"], t["offset_abs"], t["n_bytes"], t["n_elements"])
                    for t in ref["tensors"]]
    from gguf import GGUFReader
    r = GGUFReader(path, "r")
    return [(t.name, t.tensor_type.name, int(t.tensor_type.value), int(t.data_offset), int(t.n_bytes),
             int(t.n_elements)) for t in r.tensors]


class GGMLTypeTraits(ctypes.Structure):
    # ggml/include/ggml.h (2025): struct ggml_type_traits { const char * type_name; int64_t blck_size;
    #   int64_t blck_size_interleave; size_t type_size; bool is_quantized; ggml_to_float_t to_float;
    #   ggml_from_float_t from_float_ref; };
    _fields_ = [("type_name", ctypes.c_char_p), ("blck_size", ctypes.c_int64), ("blck_size_interleave", ctypes.c_int64),
                ("type_size", ctypes.c_size_t), ("is_quantized", ctypes.c_bool), ("to_float", ctypes.c_void_p),
                ("from_float_ref", ctypes.c_void_p)]


TO_FLOAT = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.POINTER(ctypes.c_float), ctypes.c_int64)


def bench_dequant(path: str, tensors_json: str | None) -> dict:
    import numpy as np

    table = tensor_table(path, tensors_json)
    data = np.memmap(path, dtype=np.uint8, mode="r")
    total_bytes = sum(t[4] for t in table)
    max_elements = max(t[5] for t in table)
    out_buffer = np.empty(max_elements, dtype=np.float32)
    by_type: dict[str, dict] = {}
    for name, tname, tid, off, nb, ne in table:
        agg = by_type.setdefault(tname, {"tensors": 0, "bytes": 0})
        agg["tensors"] += 1
        agg["bytes"] += nb
    result: dict = {"file": path, "size": os.path.getsize(path), "tensor_bytes": total_bytes, "types": by_type}

    # numpy, via the gguf package's reference dequantizer
    try:
        from gguf import GGMLQuantizationType
        from gguf.quants import dequantize

        def numpy_pass():
            per_type: dict[str, float] = {}
            for name, tname, tid, off, nb, ne in table:
                t0 = time.perf_counter()
                values = dequantize(data[off:off + nb], GGMLQuantizationType(tid))
                out_buffer[:ne] = values.reshape(-1)  # F32 "dequantizes" to a view: copy so every type does work
                per_type[tname] = per_type.get(tname, 0.0) + time.perf_counter() - t0
            return per_type

        np.asarray(data[:: 1 << 12]).sum()  # fault the file into the page cache before timing
        t0 = time.perf_counter()
        per_type = numpy_pass()
        elapsed = time.perf_counter() - t0
        result["numpy"] = {"seconds": elapsed, "gbps": total_bytes / elapsed / 1e9,
                           "per_type_gbps": {k: by_type[k]["bytes"] / v / 1e9 for k, v in per_type.items() if v > 0}}
    except Exception as e:  # a type numpy cannot dequantize
        result["numpy"] = {"error": f"{type(e).__name__}: {e}"}

    # ggml's own C dequantizers (the code llama.cpp runs), through ggml_get_type_traits()->to_float
    lib, where = load_ggml()
    if lib is None:
        result["ggml_c"] = {"error": where}
        return result
    try:
        lib.ggml_get_type_traits.restype = ctypes.POINTER(GGMLTypeTraits)
        lib.ggml_get_type_traits.argtypes = [ctypes.c_int]
        funcs = {}
        for name, tname, tid, off, nb, ne in table:
            if tid in funcs:
                continue
            tr = lib.ggml_get_type_traits(tid).contents
            if tr.type_name is None or tr.type_name.decode().upper() != tname.upper():
                raise RuntimeError(f"type traits layout mismatch for {tname}: {tr.type_name!r}")
            funcs[tid] = TO_FLOAT(tr.to_float) if tr.to_float else None
        base = data.ctypes.data
        out_ptr = out_buffer.ctypes.data_as(ctypes.POINTER(ctypes.c_float))

        def ggml_pass():
            per_type: dict[str, float] = {}
            for name, tname, tid, off, nb, ne in table:
                t0 = time.perf_counter()
                fn = funcs[tid]
                if fn is None:  # F32: no to_float in ggml; a copy is the "dequantization"
                    ctypes.memmove(out_ptr, base + off, nb)
                else:
                    fn(base + off, out_ptr, ne)
                per_type[tname] = per_type.get(tname, 0.0) + time.perf_counter() - t0
            return per_type

        ggml_pass()  # warm-up
        best = None
        for _ in range(3):
            t0 = time.perf_counter()
            per_type = ggml_pass()
            elapsed = time.perf_counter() - t0
            if best is None or elapsed < best[0]:
                best = (elapsed, per_type)
        elapsed, per_type = best
        result["ggml_c"] = {"seconds": elapsed, "gbps": total_bytes / elapsed / 1e9, "library": where,
                            "per_type_gbps": {k: by_type[k]["bytes"] / v / 1e9 for k, v in per_type.items() if v > 0}}
    except Exception as e:
        result["ggml_c"] = {"error": f"{type(e).__name__}: {e}"}
    return result


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    command, path = sys.argv[1], sys.argv[2]
    if command == "gguf-open":
        result = bench_gguf_open(path, with_gguf_py="--no-gguf-py" not in sys.argv[3:])
    elif command == "st-open":
        result = bench_st_open(path)
    elif command == "dequant":
        tensors_json = sys.argv[4] if len(sys.argv) > 4 and sys.argv[3] == "--tensors" else None
        result = bench_dequant(path, tensors_json)
    else:
        sys.exit(f"unknown command {command}")
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
