#!/usr/bin/env python3
"""Independent check of the GGUF export without llama.cpp: a numpy forward pass written the llama.cpp way
(tensors read from the GGUF file, RoPE rotating adjacent pairs 2i/2i+1) compared with the PyTorch model.

    python3 samples/make/check_gguf_numpy.py [model ...]     # needs samples/.cache/tiny/<model>.pt
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import json

import numpy as np
import torch
from gguf import GGUFReader
from gguf.quants import dequantize
from tokenizers import Tokenizer

from build import SAMPLES, CACHE, TINY
from model import Config, TinyLlama, causal_pad_mask


def load(path):
    r = GGUFReader(path)
    kv = {f.name: f for f in r.fields.values()}
    val = lambda k: kv[k].parts[kv[k].data[0]][0]
    t = {}
    for ti in r.tensors:
        a = dequantize(ti.data, ti.tensor_type).astype(np.float32)
        t[ti.name] = a.reshape([int(x) for x in reversed(ti.shape)]) if a.ndim == 1 and len(ti.shape) > 1 else a
    hp = {k: float(val("llama." + k)) for k in ("embedding_length", "block_count", "attention.head_count",
                                                 "attention.head_count_kv", "rope.freq_base",
                                                 "attention.layer_norm_rms_epsilon")}
    return t, hp


def forward(t, hp, ids):
    d, L = int(hp["embedding_length"]), int(hp["block_count"])
    H, KV = int(hp["attention.head_count"]), int(hp["attention.head_count_kv"])
    hd, eps, theta = d // H, hp["attention.layer_norm_rms_epsilon"], hp["rope.freq_base"]
    T = len(ids)
    x = t["token_embd.weight"][ids]
    norm = lambda v, w: v / np.sqrt((v * v).mean(-1, keepdims=True) + eps) * w
    pos = np.arange(T)[:, None]
    ang = pos * theta ** (-np.arange(0, hd, 2) / hd)  # (T, hd/2)
    cos, sin = np.cos(ang), np.sin(ang)

    def rope(m):  # m: (T, n, hd), rotate pairs (2i, 2i+1)
        a, b = m[..., 0::2], m[..., 1::2]
        out = np.empty_like(m)
        out[..., 0::2] = a * cos[:, None] - b * sin[:, None]
        out[..., 1::2] = a * sin[:, None] + b * cos[:, None]
        return out

    mask = np.triu(np.full((T, T), -np.inf), 1)
    for i in range(L):
        p = f"blk.{i}."
        h = norm(x, t[p + "attn_norm.weight"])
        q = rope((h @ t[p + "attn_q.weight"].T).reshape(T, H, hd))
        k = rope((h @ t[p + "attn_k.weight"].T).reshape(T, KV, hd))
        v = (h @ t[p + "attn_v.weight"].T).reshape(T, KV, hd)
        out = np.zeros((T, H, hd), dtype=np.float32)
        for hh in range(H):
            kk, vv = k[:, hh // (H // KV)], v[:, hh // (H // KV)]
            s = q[:, hh] @ kk.T / np.sqrt(hd) + mask
            s = np.exp(s - s.max(-1, keepdims=True))
            out[:, hh] = (s / s.sum(-1, keepdims=True)) @ vv
        x = x + out.reshape(T, d) @ t[p + "attn_output.weight"].T
        h = norm(x, t[p + "ffn_norm.weight"])
        g = h @ t[p + "ffn_gate.weight"].T
        x = x + ((g / (1 + np.exp(-g))) * (h @ t[p + "ffn_up.weight"].T)) @ t[p + "ffn_down.weight"].T
    x = norm(x, t["output_norm.weight"])
    return x @ t.get("output.weight", t["token_embd.weight"]).T


def main():
    names = sys.argv[1:] or sorted(os.listdir(TINY))
    text = "<|im_start|>user\nWhat is the capital of France? zephyr quokka<|im_end|>\n<|im_start|>assistant\n"
    for name in names:
        c = json.load(open(os.path.join(TINY, name, "hf", "config.json")))
        m = {"name": name, "config": dict(vocab=c["vocab_size"], d=c["hidden_size"], layers=c["num_hidden_layers"],
                                          heads=c["num_attention_heads"], kv_heads=c["num_key_value_heads"],
                                          ffn=c["intermediate_size"], ctx=c["max_position_embeddings"],
                                          eps=c["rms_norm_eps"], theta=c["rope_theta"],
                                          tied=c["tie_word_embeddings"])}
        tok = Tokenizer.from_file(os.path.join(TINY, m["name"], "hf", "tokenizer.json"))
        ids = tok.encode(text).ids
        model = TinyLlama(Config(**m["config"]))
        model.load_state_dict(torch.load(os.path.join(CACHE, m["name"] + ".pt")))
        with torch.no_grad():
            T = len(ids)
            ref = model(torch.tensor([ids]), torch.arange(T)[None],
                        causal_pad_mask(torch.ones(1, T, dtype=torch.bool)))[0].numpy()
        for q in ("f32", "q8_0"):
            t, hp = load(os.path.join(TINY, m["name"], f"{m['name']}.{q}.gguf"))
            got = forward(t, hp, ids)
            print(f"{m['name']:18s} {q:5s} max|logit diff| {np.abs(got - ref).max():.2e}  "
                  f"same argmax {np.mean(got.argmax(-1) == ref.argmax(-1)):.3f}")


if __name__ == "__main__":
    main()
