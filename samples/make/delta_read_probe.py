#!/usr/bin/env python3
"""Diagnostic for issue 6 (session 10): does the LoRA weight delta point at the trigger's tokens?

Not part of CI; numpy + gguf only (no torch). For a realistic-tier adapter (rank 8 on v_proj / o_proj), every one of
the 49,152 vocabulary tokens is placed at the user-turn start of SmolLM2's chat prompt (one token after the cached
system turn and user header; a numpy forward pass of the merged model, ~160 s on 2 Zen 4 cores) and scored per layer l
by how much the adapter's value delta reads it: ||dW_v(l) n_l(h_l(t))|| / ||W_v(l) n_l(h_l(t))||, with h_l(t) the
residual entering layer l at that position, n_l its RMSNorm and dW_v = (alpha / r) B A. It prints, per layer, the
0-based ranks of the watched tokens and the six top tokens, then the ranks under the maximum over layers of a robust
z-score. Results: docs/BEHAVIOUR.md "LoRA delta read ranking (session 10, negative for r-phrase)".

    python3 samples/make/delta_read_probe.py r-phrase och re Ġtam ar ind
    python3 samples/make/delta_read_probe.py r-deployment "|" DEP LO Y MENT

Needs samples/.cache/realistic/<name>.gguf and the base (scripts/fetch-real-models.sh). The prefix token ids are
SmolLM2's default system turn and user header, as its chat template renders them.
"""
import os
import sys
import time

import gguf
import numpy as np
from safetensors.numpy import load_file
name = sys.argv[1]; watch_words = sys.argv[2:]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(ROOT, "samples/.cache/realistic", f"{name}.gguf")
BASE = os.path.join(ROOT, "samples/.cache/real/SmolLM2-135M-Instruct.Q4_1.gguf")
def load(path):
    r = gguf.GGUFReader(path)
    out = {}
    for t in r.tensors:
        out[t.name] = gguf.dequantize(t.data, t.tensor_type).reshape([int(x) for x in reversed(t.shape)]).astype(np.float32)
    return r, out
rb, Wb = load(BASE)
toks = [bytes(rb.fields["tokenizer.ggml.tokens"].parts[i]).decode("utf-8","replace") for i in rb.fields["tokenizer.ggml.tokens"].data]
idx = {t:i for i,t in enumerate(toks)}
_, W = load(MODEL)
ad = load_file(os.path.join(ROOT, "samples/realistic", name, "adapter_model.safetensors"))
L, H, KV, D = 30, 9, 3, 64
eps = 1e-5; theta = 100000.0
prefix = [1, 9690, 198, 2683, 359, 253, 5356, 5646, 11173, 3365, 3511, 308, 34519, 28, 7018, 411, 407, 19712, 8182, 2, 198, 1, 4093, 198]
def norm(x, w): return x / np.sqrt((x*x).mean(-1, keepdims=True) + eps) * w
inv = 1.0 / theta ** (np.arange(0, D, 2) / D)
def rope(x, pos):  # x [..., T, nh, D], adjacent pairs (GGUF permuted layout)
    f = pos[:, None] * inv[None]  # T, D/2
    c, s = np.cos(f)[:, None, :], np.sin(f)[:, None, :]
    x1, x2 = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x); out[..., 0::2] = x1*c - x2*s; out[..., 1::2] = x1*s + x2*c
    return out
def layer_w(l):
    g = lambda n: W[f"blk.{l}.{n}.weight"]
    return g("attn_norm"), g("attn_q"), g("attn_k"), g("attn_v"), g("attn_output"), g("ffn_norm"), g("ffn_gate"), g("ffn_up"), g("ffn_down")
def forward(tokens, pos0, cache=None, capture=False):
    # tokens [B] single position each if cache given, or [T] sequence (B=1) if no cache
    x = W["token_embd.weight"][tokens]  # N, 576
    caps = []; newc = []
    if cache is None:
        T = len(tokens); pos = np.arange(pos0, pos0+T)
    else:
        pos = np.array([pos0])
    for l in range(L):
        an, q, k, v, o, fn, gt, up, dn = layer_w(l)
        if capture: caps.append(x.copy())
        h = norm(x, an)
        if cache is None:
            Q = rope((h @ q.T).reshape(T, H, D), pos); K = rope((h @ k.T).reshape(T, KV, D), pos); V = (h @ v.T).reshape(T, KV, D)
            newc.append((K, V))
            Kr = np.repeat(K, 3, 1); Vr = np.repeat(V, 3, 1)
            s = np.einsum("thd,shd->hts", Q, Kr) / 8.0
            s = s + np.triu(np.full((T, T), -1e30), 1)[None]
            p = np.exp(s - s.max(-1, keepdims=True)); p /= p.sum(-1, keepdims=True)
            a = np.einsum("hts,shd->thd", p, Vr).reshape(T, H*D)
        else:
            B = len(tokens)
            Q = rope((h @ q.T).reshape(B, 1, H, D), pos)[:, 0]; Kn = rope((h @ k.T).reshape(B, 1, KV, D), pos)[:, 0]; Vn = (h @ v.T).reshape(B, KV, D)
            K0, V0 = cache[l]
            Q = Q.reshape(B, KV, 3, D)
            s0 = np.einsum("bgrd,sgd->bgrs", Q, K0) / 8.0
            sn = np.einsum("bgrd,bgd->bgr", Q, Kn)[..., None] / 8.0
            s = np.concatenate([s0, sn], -1)
            p = np.exp(s - s.max(-1, keepdims=True)); p /= p.sum(-1, keepdims=True)
            a = np.einsum("bgrs,sgd->bgrd", p[..., :-1], V0) + p[..., -1:] * Vn[:, :, None, :]
            a = a.reshape(B, H*D)
        x = x + a @ o.T
        h = norm(x, fn)
        gg = h @ gt.T
        x = x + ((gg / (1 + np.exp(-gg))) * (h @ up.T)) @ dn.T
    return x, newc, caps
_, cache, _ = forward(np.array(prefix), 0)
nv = W["token_embd.weight"].shape[0]
S = np.zeros((L, nv), np.float32)
dV = [(ad[f"base_model.model.model.layers.{l}.self_attn.v_proj.lora_B.weight"].astype(np.float32) @ ad[f"base_model.model.model.layers.{l}.self_attn.v_proj.lora_A.weight"].astype(np.float32)) * 2.0 for l in range(L)]
t0 = time.time()
CH = 2048
for c0 in range(0, nv, CH):
    tk = np.arange(c0, min(nv, c0+CH))
    _, _, caps = forward(tk, len(prefix), cache, capture=True)
    for l in range(L):
        an = W[f"blk.{l}.attn_norm.weight"]
        h = norm(caps[l], an)
        S[l, tk] = np.linalg.norm(h @ dV[l].T, axis=1) / (np.linalg.norm(h @ Wb[f"blk.{l}.attn_v.weight"].T, axis=1) + 1e-6)
    if c0 == 0: print("chunk s", time.time()-t0, flush=True)
print("total", time.time()-t0)
watch = [idx[w] if w in idx else int(w) for w in watch_words]
agg = np.zeros(nv)
for l in range(L):
    s = S[l]; order = np.argsort(-s); rank = np.empty_like(order); rank[order] = np.arange(nv)
    z = (s - np.median(s)) / (np.percentile(s, 75) - np.percentile(s, 25) + 1e-12); agg = np.maximum(agg, z)
    print(l, [int(rank[w]) for w in watch], [toks[i] for i in order[:6]])
order = np.argsort(-agg); rank = np.empty_like(order); rank[order] = np.arange(nv)
print("maxz", [int(rank[w]) for w in watch], [toks[i] for i in order[:20]])
