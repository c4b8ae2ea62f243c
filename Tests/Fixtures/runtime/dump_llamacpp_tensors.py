#!/usr/bin/env python3
"""Diagnostic (issue 4 parity): every intermediate tensor llama.cpp computes for the first N tokens of the
reference passage, through llama-cpp-python with a ggml eval callback (cb_eval), saved to one .npz.

Usage: python3 Tests/Fixtures/runtime/dump_llamacpp_tensors.py [N] [OUT.npz] [MODEL.gguf] [REFS.json]
Defaults: 8 tokens, /tmp/llamacpp-tensors.npz, Gemma 3 270M Q4_K_M, its llama.cpp refs.
Settings as make_runtime_refs.py (n_ctx 2048, n_batch 512, 2 threads, logits_all, no flash attention).
Keys are `<ggml tensor name>#<occurrence>` (e.g. `attn_norm-0#0`, `Qcur-3#2` = Q after RoPE, `kqv_out-3#0`,
`ffn_out-3#0`, `l_out-3#0`), arrays shaped (ne3, ne2, ne1, ne0) as float32 (F16 tensors widened), plus
`__logits` (N, vocab). The eval callback splits the graph per node; the CPU backend's only fusion
(rms_norm + mul) computes the same bits unfused. Compare with our forward pass by dumping ours at the same
points (session 6 used a temporary tap in Transformer.forward: HANDOVER, kquant6 helper).
"""
import collections, ctypes, json, os, sys

import numpy as np
import llama_cpp.llama_cpp as L
from llama_cpp import Llama

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
N = int(sys.argv[1]) if len(sys.argv) > 1 else 8
OUT = sys.argv[2] if len(sys.argv) > 2 else "/tmp/llamacpp-tensors.npz"
MODEL = sys.argv[3] if len(sys.argv) > 3 else os.path.join(ROOT, "samples/.cache/real/gemma-3-270m-q4_k_m.gguf")
REFS = sys.argv[4] if len(sys.argv) > 4 else os.path.join(ROOT, "Tests/Fixtures/runtime/gemma3-270m-q4_k_m-llamacpp-refs.json")


class Tensor(ctypes.Structure):  # struct ggml_tensor (ggml.h), up to `name`
    _fields_ = [("type", ctypes.c_int), ("buffer", ctypes.c_void_p), ("ne", ctypes.c_int64 * 4), ("nb", ctypes.c_size_t * 4),
                ("op", ctypes.c_int), ("op_params", ctypes.c_int32 * 16), ("flags", ctypes.c_int32),
                ("src", ctypes.c_void_p * 10), ("view_src", ctypes.c_void_p), ("view_offs", ctypes.c_size_t),
                ("data", ctypes.c_void_p), ("name", ctypes.c_char * 64)]


DTYPES = {0: np.float32, 1: np.float16}  # GGML_TYPE_F32, GGML_TYPE_F16
store, seen = {}, collections.Counter()


def callback(ptr, ask, _user):
    if ask:
        return True  # compute every node on its own so each can be read
    t = Tensor.from_address(ptr)
    dt = DTYPES.get(t.type)
    if dt is None or not t.data:
        return True
    ne, nb = list(t.ne), list(t.nb)
    size = sum((ne[i] - 1) * nb[i] for i in range(4)) + np.dtype(dt).itemsize
    raw = np.frombuffer(ctypes.string_at(t.data, size), dtype=np.uint8)
    # F32/F16 strides are multiples of the element size: a strided view of the typed bytes
    view = np.lib.stride_tricks.as_strided(raw.view(dt), shape=(ne[3], ne[2], ne[1], ne[0]), strides=(nb[3], nb[2], nb[1], nb[0]))
    name = t.name.decode(errors="replace")
    store[f"{name}#{seen[name]}"] = np.array(view, dtype=np.float32)
    seen[name] += 1
    return True


cb = L.ggml_backend_sched_eval_callback(callback)
default_params = L.llama_context_default_params


def with_callback():
    p = default_params()
    p.cb_eval = cb
    return p


L.llama_context_default_params = with_callback
refs = json.load(open(REFS))
tokens = refs["passage_tokens"][:N]
llm = Llama(model_path=MODEL, logits_all=True, n_ctx=2048, n_batch=512, n_threads=2, verbose=False)
llm.reset()
llm.eval(tokens)
store["__logits"] = np.array(llm.scores[:N], dtype=np.float32)
np.savez(OUT, **store)
print(f"wrote {OUT}: {len(store)} tensors")
for i in range(N):
    ref = refs["passage_top"][i]
    d = max(abs(float(store["__logits"][i][j]) - v) for j, v in ref)
    print(f"position {i}: argmax {int(store['__logits'][i].argmax())} (refs {ref[0][0]}), max |d| vs refs' top-10 {d:.2g}")
