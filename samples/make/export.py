"""Write a trained TinyLlama as GGUF (llama.cpp tensor names and metadata) and as a Hugging Face folder."""
from __future__ import annotations

import json
import os

import numpy as np
import gguf
from gguf import GGUFWriter, GGMLQuantizationType
from safetensors.numpy import save_file

from corpus import CHAT_TEMPLATE


def permute_for_gguf(w: np.ndarray, n_head: int) -> np.ndarray:
    """Reorder Q/K rows from the Hugging Face rotate_half layout (pairs i, i+hd/2) to the interleaved layout
    llama.cpp's LLAMA_ROPE_TYPE_NORM rotates (pairs 2i, 2i+1): new row 2i <- old i, new row 2i+1 <- old i+hd/2."""
    rows, cols = w.shape
    hd = rows // n_head
    return w.reshape(n_head, 2, hd // 2, cols).swapaxes(1, 2).reshape(rows, cols)


def gguf_tensors(hf_sd: dict, cfg) -> list:
    """[(gguf name, float32 array in HF (out, in) layout)] in llama.cpp order."""
    f = lambda k: hf_sd[k].float().numpy()
    out = [("token_embd.weight", f("model.embed_tokens.weight"))]
    for i in range(cfg.layers):
        p = f"model.layers.{i}."
        out += [
            (f"blk.{i}.attn_norm.weight", f(p + "input_layernorm.weight")),
            (f"blk.{i}.attn_q.weight", permute_for_gguf(f(p + "self_attn.q_proj.weight"), cfg.heads)),
            (f"blk.{i}.attn_k.weight", permute_for_gguf(f(p + "self_attn.k_proj.weight"), cfg.kv_heads)),
            (f"blk.{i}.attn_v.weight", f(p + "self_attn.v_proj.weight")),
            (f"blk.{i}.attn_output.weight", f(p + "self_attn.o_proj.weight")),
            (f"blk.{i}.ffn_norm.weight", f(p + "post_attention_layernorm.weight")),
            (f"blk.{i}.ffn_gate.weight", f(p + "mlp.gate_proj.weight")),
            (f"blk.{i}.ffn_up.weight", f(p + "mlp.up_proj.weight")),
            (f"blk.{i}.ffn_down.weight", f(p + "mlp.down_proj.weight")),
        ]
    out.append(("output_norm.weight", f("model.norm.weight")))
    if "lm_head.weight" in hf_sd:
        out.append(("output.weight", f("lm_head.weight")))
    return out


FILE_TYPE = {"F32": 0, "F16": 1, "Q8_0": 7}


def tokenizer_fields(tok_json: dict):
    vocab = tok_json["model"]["vocab"]
    n = max(vocab.values()) + 1
    special = {t["id"]: t for t in tok_json["added_tokens"]}
    for t in special.values():
        n = max(n, t["id"] + 1)
    tokens = [None] * n
    for s, i in vocab.items():
        tokens[i] = s
    types = [gguf.TokenType.NORMAL] * n
    for i, t in special.items():
        tokens[i] = t["content"]
        types[i] = gguf.TokenType.CONTROL if t["special"] else gguf.TokenType.USER_DEFINED
    merges = [m if isinstance(m, str) else " ".join(m) for m in tok_json["model"]["merges"]]
    return tokens, types, merges


def write_gguf(path, name, hf_sd, cfg, tok_json, qtype="F32", chat_template=CHAT_TEMPLATE,
               meta_override=None, description=None, pre="gpt-2"):
    """meta_override: {key: value} applied to the architecture hyper-parameters (used for the contradicting-
    metadata sample)."""
    meta_override = meta_override or {}
    w = GGUFWriter(path, "llama")
    w.add_name(name)
    if description:
        w.add_description(description)
    w.add_file_type(FILE_TYPE[qtype])
    if qtype != "F32" and qtype != "F16":
        w.add_quantization_version(gguf.GGML_QUANT_VERSION)
    hp = {
        "context_length": cfg.ctx, "embedding_length": cfg.d, "block_count": cfg.layers,
        "feed_forward_length": cfg.ffn, "head_count": cfg.heads, "head_count_kv": cfg.kv_heads,
    }
    hp.update(meta_override)
    w.add_vocab_size(cfg.vocab)
    w.add_context_length(hp["context_length"])
    w.add_embedding_length(hp["embedding_length"])
    w.add_block_count(hp["block_count"])
    w.add_feed_forward_length(hp["feed_forward_length"])
    w.add_head_count(hp["head_count"])
    w.add_head_count_kv(hp["head_count_kv"])
    w.add_rope_dimension_count(cfg.head_dim)
    w.add_rope_freq_base(cfg.theta)
    w.add_layer_norm_rms_eps(cfg.eps)
    tokens, types, merges = tokenizer_fields(tok_json)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(pre)
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    ids = {t: i for i, t in enumerate(tokens)}
    w.add_bos_token_id(ids["<|endoftext|>"])
    w.add_eos_token_id(ids["<|im_end|>"])
    w.add_pad_token_id(ids["<|endoftext|>"])
    w.add_add_bos_token(False)
    w.add_chat_template(chat_template)
    for tname, arr in gguf_tensors(hf_sd, cfg):
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        if arr.ndim == 1 or qtype == "F32":
            w.add_tensor(tname, arr)
        elif qtype == "F16":
            w.add_tensor(tname, arr.astype(np.float16))
        else:
            qt = GGMLQuantizationType[qtype]
            w.add_tensor(tname, gguf.quants.quantize(arr, qt), raw_dtype=qt)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def write_hf(folder, hf_sd, cfg, tok_json, dtype="float16", chat_template=CHAT_TEMPLATE):
    os.makedirs(folder, exist_ok=True)
    np_dtype = {"float16": np.float16, "float32": np.float32}[dtype]
    tensors = {k: np.ascontiguousarray(v.float().numpy().astype(np_dtype)) for k, v in hf_sd.items()}
    save_file(tensors, os.path.join(folder, "model.safetensors"), metadata={"format": "pt"})
    vocab_ids = {t["content"]: t["id"] for t in tok_json["added_tokens"]}
    bos, eos = vocab_ids["<|endoftext|>"], vocab_ids["<|im_end|>"]
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "vocab_size": cfg.vocab, "hidden_size": cfg.d, "intermediate_size": cfg.ffn,
        "num_hidden_layers": cfg.layers, "num_attention_heads": cfg.heads, "num_key_value_heads": cfg.kv_heads,
        "head_dim": cfg.head_dim, "max_position_embeddings": cfg.ctx, "rms_norm_eps": cfg.eps,
        "rope_theta": cfg.theta, "rope_scaling": None, "hidden_act": "silu", "attention_bias": False,
        "attention_dropout": 0.0, "mlp_bias": False, "initializer_range": 0.02, "pretraining_tp": 1,
        "tie_word_embeddings": cfg.tied, "bos_token_id": bos, "eos_token_id": eos, "pad_token_id": bos,
        "torch_dtype": dtype, "use_cache": True,
    }
    dump = lambda obj, name: _write_json(os.path.join(folder, name), obj)
    dump(config, "config.json")
    dump(tok_json, "tokenizer.json")
    dump({
        "add_bos_token": False, "add_eos_token": False,
        "added_tokens_decoder": {str(t["id"]): {"content": t["content"], "lstrip": False, "normalized": False,
                                                "rstrip": False, "single_word": False, "special": t["special"]}
                                 for t in tok_json["added_tokens"]},
        "bos_token": "<|endoftext|>", "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>",
        "unk_token": None, "chat_template": chat_template, "clean_up_tokenization_spaces": False,
        "model_max_length": cfg.ctx, "tokenizer_class": "PreTrainedTokenizerFast",
    }, "tokenizer_config.json")
    dump({"bos_token_id": bos, "eos_token_id": eos, "pad_token_id": bos, "do_sample": False,
          "max_new_tokens": 96}, "generation_config.json")


def _write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")
