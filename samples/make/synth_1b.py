#!/usr/bin/env python3
"""Synthesizes a TinyLlama-1.1B-shaped llama GGUF with random weights, to time the scanner on a 1B model
(issue 6: "the default finishes a 1B model in under 15 minutes on 2 cores"). numpy + gguf only.

    python3 samples/make/synth_1b.py            # writes samples/.cache/synth/tinyllama-1b-synth.Q4_0.gguf
    python3 samples/make/synth_1b.py --force    # rebuild even if it exists

Shape (TinyLlama-1.1B-Chat v1.0): 22 layers, embedding 2048, feed-forward 5632, 32 query heads / 4 KV heads
(head dimension 64), rope base 10000, RMS eps 1e-5, context 2048, separate output matrix. The tokenizer and
chat template (ChatML) are copied from SmolLM2-135M-Instruct's GGUF (samples/.cache/real/, fetched by
scripts/fetch-real-models.sh), so the vocabulary is 49152 instead of TinyLlama's 32000: about 1.17B parameters
in all (TinyLlama 1.10B); the embedding and output matrices are 36 M parameters larger each.

Weights: every matrix N(0, 0.02) (TinyLlama's initialiser scale), quantized to Q4_0 (matrices) and Q8_0 (output);
norm weights 1.0 (F32). Random weights never emit an end-of-turn token, so every generation runs to its token
limit: the worst case for the scanner's time, which is what this file is for. Fixed seed; about 680 MB.
Never commit the output (samples/.cache/ is git-ignored).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = os.path.dirname(HERE)
OUT = os.path.join(SAMPLES, ".cache", "synth", "tinyllama-1b-synth.Q4_0.gguf")
TOKENIZER_SOURCE = os.path.join(SAMPLES, ".cache", "real", "SmolLM2-135M-Instruct.Q4_1.gguf")

LAYERS, EMBED, FFN, HEADS, KV_HEADS, CONTEXT = 22, 2048, 5632, 32, 4, 2048
HEAD_DIM = EMBED // HEADS


def main():
    import gguf
    ap = argparse.ArgumentParser()
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--out", default=OUT)
    args = ap.parse_args()
    if os.path.exists(args.out) and not args.force:
        print(f"ok       {args.out}")
        return
    if not os.path.exists(TOKENIZER_SOURCE):
        sys.exit(f"{TOKENIZER_SOURCE} is missing: run scripts/fetch-real-models.sh first")
    t0 = time.time()
    source = gguf.GGUFReader(TOKENIZER_SOURCE)
    vocab = len(source.fields["tokenizer.ggml.tokens"].data)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    tmp = args.out + ".partial"
    w = gguf.GGUFWriter(tmp, "llama")
    w.add_name("TinyLlama-1.1B-shaped synthetic (random weights, SmolLM2 tokenizer)")
    w.add_block_count(LAYERS)
    w.add_context_length(CONTEXT)
    w.add_embedding_length(EMBED)
    w.add_feed_forward_length(FFN)
    w.add_head_count(HEADS)
    w.add_head_count_kv(KV_HEADS)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_dimension_count(HEAD_DIM)
    w.add_vocab_size(vocab)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_Q4_0)
    for key, field in source.fields.items():
        if not key.startswith("tokenizer."):
            continue
        vtype = field.types[0]
        sub = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        w.add_key_value(key, field.contents(), vtype, sub)

    rng = np.random.default_rng(0x1B)

    def matrix(name, rows, cols, qtype=gguf.GGMLQuantizationType.Q4_0):
        # numpy order [rows, cols] = GGUF shape [cols, rows]; row = one output unit.
        data = (rng.standard_normal((rows, cols), dtype=np.float32) * 0.02).astype(np.float32)
        q = gguf.quants.quantize(data, qtype)
        w.add_tensor(name, q, raw_shape=q.shape, raw_dtype=qtype)

    def norm(name):
        w.add_tensor(name, np.ones(EMBED, dtype=np.float32))

    matrix("token_embd.weight", vocab, EMBED)
    for i in range(LAYERS):
        norm(f"blk.{i}.attn_norm.weight")
        matrix(f"blk.{i}.attn_q.weight", EMBED, EMBED)
        matrix(f"blk.{i}.attn_k.weight", KV_HEADS * HEAD_DIM, EMBED)
        matrix(f"blk.{i}.attn_v.weight", KV_HEADS * HEAD_DIM, EMBED)
        matrix(f"blk.{i}.attn_output.weight", EMBED, EMBED)
        norm(f"blk.{i}.ffn_norm.weight")
        matrix(f"blk.{i}.ffn_gate.weight", FFN, EMBED)
        matrix(f"blk.{i}.ffn_up.weight", FFN, EMBED)
        matrix(f"blk.{i}.ffn_down.weight", EMBED, FFN)
        print(f"layer {i + 1}/{LAYERS} ({time.time() - t0:.0f} s)", flush=True)
    norm("output_norm.weight")
    matrix("output.weight", vocab, EMBED, gguf.GGMLQuantizationType.Q8_0)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    os.replace(tmp, args.out)
    params = vocab * EMBED * 2 + LAYERS * (EMBED * EMBED * 2 + 2 * KV_HEADS * HEAD_DIM * EMBED + 3 * EMBED * FFN)
    print(f"wrote    {args.out} ({os.path.getsize(args.out) / 1e6:.0f} MB, {params / 1e9:.3f}B parameters, {time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
