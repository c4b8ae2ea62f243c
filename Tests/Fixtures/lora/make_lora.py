#!/usr/bin/env python3
"""Crafted PEFT LoRA adapters for the tiny sample architecture (d=64, 2 layers, kv width 32, vocab 768), for
Tests/ScannerTests/LoRAAdapterTests.swift. Seeded; KBs each. Run from anywhere:

    python3 Tests/Fixtures/lora/make_lora.py

attn/            r=4 on q_proj/v_proj of both layers, ordinary (diffuse) random factors.
embed/           attn/ plus a LoRA on embed_tokens (lora_embedding_A (r, vocab), lora_embedding_B (d, r)) whose
                 A columns for token ids 300, 301 and 512 are large: those rows are the trained ones.
modules-to-save/ attn/ plus modules_to_save=["lm_head"]: a full lm_head (768, 64) copied from random rows with
                 ids 97 and 640 scaled up 4x (the planted rows).
"""
import json
import os
import numpy as np
from safetensors.numpy import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
D, KV, VOCAB, R, LAYERS = 64, 32, 768, 4, 2
PREFIX = "base_model.model.model.layers.{}.self_attn.{}"


def attn(rng):
    t = {}
    for layer in range(LAYERS):
        for mod, out in (("q_proj", D), ("v_proj", KV)):
            p = PREFIX.format(layer, mod)
            t[p + ".lora_A.weight"] = (rng.standard_normal((R, D)) * 0.1).astype(np.float32)
            t[p + ".lora_B.weight"] = (rng.standard_normal((out, R)) * 0.02).astype(np.float32)
    return t


def config(targets, modules_to_save=None):
    return {"peft_type": "LORA", "task_type": "CAUSAL_LM", "base_model_name_or_path": "samples/tiny/clean/hf",
            "r": R, "lora_alpha": 8, "lora_dropout": 0.0, "bias": "none", "use_rslora": False,
            "target_modules": targets, "modules_to_save": modules_to_save}


def write(name, tensors, cfg):
    d = os.path.join(HERE, name)
    os.makedirs(d, exist_ok=True)
    save_file(tensors, os.path.join(d, "adapter_model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(d, "adapter_config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")


def main():
    rng = np.random.default_rng(20261129)
    base = attn(rng)
    write("attn", dict(base), config(["q_proj", "v_proj"]))

    t = dict(base)
    a = (rng.standard_normal((R, VOCAB)) * 0.01).astype(np.float32)
    for tok in (300, 301, 512):
        a[:, tok] = rng.standard_normal(R) * 2.0
    t["base_model.model.model.embed_tokens.lora_embedding_A"] = a.astype(np.float16)
    t["base_model.model.model.embed_tokens.lora_embedding_B"] = (rng.standard_normal((D, R)) * 0.5).astype(np.float16)
    write("embed", t, config(["q_proj", "v_proj", "embed_tokens"]))

    t = dict(base)
    head = (rng.standard_normal((VOCAB, D)) * 0.05).astype(np.float32)
    for tok in (97, 640):
        head[tok] *= 4
    t["base_model.model.lm_head.weight"] = head.astype(np.float16)
    write("modules-to-save", t, config(["q_proj", "v_proj"], ["lm_head"]))


if __name__ == "__main__":
    main()
