#!/usr/bin/env python3
"""Writes a Hugging Face checkpoint folder (config.json + model.safetensors, float32) from a GGUF, so the runtime's
Hugging Face loader can be checked against transformers on the same weights as the GGUF references.

    python3 samples/make/gguf_to_hf.py                       # both real models -> samples/.cache/real/<name>-hf/
    python3 samples/make/gguf_to_hf.py MODEL.gguf OUT_DIR    # one
    python3 samples/make/gguf_to_hf.py --tokenizer ...       # also tokenizer.json etc. (needs transformers)

numpy + gguf + safetensors only, so CI can run it without torch. The conversion undoes what llama.cpp's
convert_hf_to_gguf.py does, as transformers' own GGUF loader does:
- every tensor is de-quantised to float32 and stored in transformers' [out, in] orientation;
- llama: the Q and K rows are un-permuted (the converter interleaves each head's halves for llama.cpp's RoPE);
- gemma3: 1 is subtracted from every RMSNorm weight (Gemma computes x * (1 + w); the converter stores 1 + w);
- names go back to transformers' (model.layers.N.self_attn.q_proj.weight, ...).
config.json is built from the GGUF metadata. samples/make/check_hf_folder.py (needs torch + transformers) loads the
result with transformers and compares its logits with the committed references made from the GGUF itself.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REAL = os.path.join(os.path.dirname(HERE), ".cache", "real")
DEFAULTS = [
    ("SmolLM2-135M-Instruct.Q4_1.gguf", "smollm2-135m-hf"),
    ("gemma-3-270m-q4_k_m.gguf", "gemma3-270m-hf"),
]

# llama.cpp block tensor suffix -> transformers module path inside model.layers.N (per architecture).
BLOCK_NAMES = {
    "llama": {
        "attn_norm": "input_layernorm", "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj",
        "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj", "ffn_norm": "post_attention_layernorm",
        "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj",
    },
    "gemma3": {
        "attn_norm": "input_layernorm", "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj",
        "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj", "attn_q_norm": "self_attn.q_norm",
        "attn_k_norm": "self_attn.k_norm", "post_attention_norm": "post_attention_layernorm",
        "ffn_norm": "pre_feedforward_layernorm", "post_ffw_norm": "post_feedforward_layernorm",
        "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj",
    },
}


def field(reader, key, default=None):
    f = reader.fields.get(key)
    if f is None:
        return default
    v = f.contents()
    return v


def unpermute(w: np.ndarray, heads: int) -> np.ndarray:
    """Inverse of convert_hf_to_gguf's LlamaModel.permute: rows of each head go back to (half 0, half 1)."""
    rows = w.shape[0]
    return w.reshape(heads, rows // heads // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def config_for(reader, arch):
    p = arch
    g = lambda k, d=None: field(reader, f"{p}.{k}", d)
    tokens = reader.fields["tokenizer.ggml.tokens"]
    vocab = len(tokens.data)
    heads = int(g("attention.head_count"))
    kv = int(g("attention.head_count_kv", heads))
    d = int(g("embedding_length"))
    head_dim = int(g("attention.key_length", d // heads))
    tied = not any(t.name == "output.weight" for t in reader.tensors)
    common = {
        "hidden_size": d, "intermediate_size": int(g("feed_forward_length")),
        "num_hidden_layers": int(g("block_count")), "num_attention_heads": heads, "num_key_value_heads": kv,
        "head_dim": head_dim, "vocab_size": vocab, "max_position_embeddings": int(g("context_length", 2048)),
        "rms_norm_eps": float(g("attention.layer_norm_rms_epsilon", 1e-5)), "rope_theta": float(g("rope.freq_base", 10000.0)),
        "tie_word_embeddings": tied, "torch_dtype": "float32", "dtype": "float32",
        "bos_token_id": field(reader, "tokenizer.ggml.bos_token_id"), "eos_token_id": field(reader, "tokenizer.ggml.eos_token_id"),
        "pad_token_id": field(reader, "tokenizer.ggml.padding_token_id"),
    }
    if arch == "llama":
        return {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu",
                "attention_bias": False, "mlp_bias": False, "rope_scaling": None, **common}
    if arch == "gemma3":
        layers = common["num_hidden_layers"]
        window = g("attention.sliding_window")
        # llama.cpp's gemma3 build: 5 sliding-window layers then 1 global, RoPE base 10000 on the local layers.
        layer_types = ["sliding_attention" if i % 6 < 5 else "full_attention" for i in range(layers)]
        return {"architectures": ["Gemma3ForCausalLM"], "model_type": "gemma3_text",
                "hidden_activation": "gelu_pytorch_tanh", "query_pre_attn_scalar": head_dim,
                "sliding_window": int(window) if window is not None else None, "sliding_window_pattern": 6,
                "layer_types": layer_types, "rope_local_base_freq": 10000.0, "rope_scaling": None,
                "final_logit_softcapping": None, "attn_logit_softcapping": None, "attention_bias": False, **common}
    sys.exit(f"architecture {arch} is not handled by this script (llama, gemma3)")


def tensors_for(reader, arch, cfg):
    from gguf.quants import dequantize
    names = BLOCK_NAMES[arch]
    out = {}
    for t in reader.tensors:
        shape = tuple(int(x) for x in reversed(t.shape.tolist()))
        w = np.asarray(dequantize(t.data, t.tensor_type), dtype=np.float32).reshape(shape)
        if t.name == "token_embd.weight":
            hf = "model.embed_tokens.weight"
        elif t.name == "output_norm.weight":
            hf = "model.norm.weight"
        elif t.name == "output.weight":
            hf = "lm_head.weight"
        elif t.name.startswith("blk."):
            _, layer, rest = t.name.split(".", 2)
            suffix = rest.removesuffix(".weight")
            if suffix not in names or not rest.endswith(".weight"):
                sys.exit(f"{t.name}: no transformers name for this tensor")
            hf = f"model.layers.{layer}.{names[suffix]}.weight"
            if arch == "llama" and suffix == "attn_q":
                w = unpermute(w, cfg["num_attention_heads"])
            elif arch == "llama" and suffix == "attn_k":
                w = unpermute(w, cfg["num_key_value_heads"])
        else:
            continue  # e.g. rope_freqs: not a transformers parameter
        if arch == "gemma3" and t.name.endswith("norm.weight"):
            w = w - np.float32(1)
        out[hf] = np.ascontiguousarray(w)
    return out


def write_tokenizer(gguf_path, out_dir):
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(os.path.dirname(gguf_path), gguf_file=os.path.basename(gguf_path))
    tok.save_pretrained(out_dir)


def convert(gguf_path, out_dir, tokenizer=False):
    import gguf
    from safetensors.numpy import save_file
    reader = gguf.GGUFReader(gguf_path)
    arch = field(reader, "general.architecture")
    cfg = config_for(reader, arch)
    weights = tensors_for(reader, arch, cfg)
    os.makedirs(out_dir, exist_ok=True)
    tmp = os.path.join(out_dir, "model.safetensors.partial")
    save_file(weights, tmp, metadata={"format": "pt", "source": os.path.basename(gguf_path)})
    os.replace(tmp, os.path.join(out_dir, "model.safetensors"))
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    if tokenizer:
        write_tokenizer(gguf_path, out_dir)
    print(f"wrote {out_dir} ({len(weights)} tensors, {arch})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer", action="store_true", help="also write tokenizer files (needs transformers)")
    ap.add_argument("paths", nargs="*")
    a = ap.parse_args()
    if a.paths:
        if len(a.paths) != 2:
            ap.error("give MODEL.gguf OUT_DIR, or nothing for both real models")
        convert(a.paths[0], a.paths[1], a.tokenizer)
        return
    for gguf_name, out_name in DEFAULTS:
        src = os.path.join(REAL, gguf_name)
        if not os.path.exists(src):
            sys.exit(f"{src} missing: run scripts/fetch-real-models.sh first")
        convert(src, os.path.join(REAL, out_name), a.tokenizer)


if __name__ == "__main__":
    main()
