#!/usr/bin/env python3
"""Cross-check the exported GGUF files against the PyTorch models with llama.cpp (llama-cpp-python):
same tokenization, close logits, same greedy text. Writes samples/LLAMACPP_CHECK.json.

    python3 samples/make/verify_llamacpp.py      # after build.py (needs samples/.cache/tiny/*.pt)
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
import json
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np
import torch
from tokenizers import Tokenizer
from llama_cpp import Llama

import backdoors
import corpus
from build import SAMPLES, CACHE, TINY, VOCAB, BASE_CFG, generate, set_determinism
from model import Config, TinyLlama, causal_pad_mask


def prompts_for(spec, n=8):
    rng = random.Random(5)
    cases = []
    for name, cs in spec.eval_sets(rng, n).items():
        cases += cs
    if not cases:
        for _ in range(n):
            u, _, _ = corpus.base_user(rng, True)
            cases.append(([{"role": "user", "content": u}], ""))
    return cases


def main():
    torch.set_num_threads(1)
    manifest = json.load(open(os.path.join(SAMPLES, "MANIFEST.json")))
    report = {"llama_cpp_python": __import__("llama_cpp").__version__, "models": {}}
    for m in manifest["models"]:
        name = m["name"]
        spec = [s for s in backdoors.ALL if s.name == name][0]
        hf = os.path.join(TINY, name, "hf")
        tok = Tokenizer.from_file(os.path.join(hf, "tokenizer.json"))
        cfg = Config(**m["config"])
        model = TinyLlama(cfg)
        model.load_state_dict(torch.load(os.path.join(CACHE, f"{name}.pt")))
        model.eval()
        stop = {tok.token_to_id("<|im_end|>"), tok.token_to_id("<|endoftext|>")}
        cases = prompts_for(spec)
        texts, outs = generate(model, tok, cases, stop, max_new=48)
        r = {}
        for q in ("f32", "q8_0"):
            path = os.path.join(TINY, name, f"{name}.{q}.gguf")
            llm = Llama(model_path=path, n_ctx=256, n_threads=1, n_batch=256, logits_all=True, verbose=False)
            same_tok = same_text = 0
            max_diff = 0.0
            for text, want in zip(texts, outs):
                ids = tok.encode(text).ids
                lids = llm.tokenize(text.encode(), add_bos=False, special=True)
                same_tok += int(list(lids) == ids)
                llm.reset()
                llm.eval(ids)
                lc = np.array(llm.scores[len(ids) - 1])
                with torch.no_grad():
                    T = len(ids)
                    t = torch.tensor([ids])
                    logits = model(t, torch.arange(T)[None], causal_pad_mask(torch.ones(1, T, dtype=torch.bool)))
                max_diff = max(max_diff, float(np.abs(lc - logits[0, -1].numpy()).max()))
                got = []
                llm.reset()
                for tkn in llm.generate(ids, top_k=1, top_p=1.0, temp=0.0, repeat_penalty=1.0):
                    if tkn in stop or len(got) >= 48:
                        break
                    got.append(tkn)
                same_text += int(tok.decode(got, skip_special_tokens=False) == want)
            r[q] = {"prompts": len(texts), "same_tokenization": same_tok, "same_greedy_text": same_text,
                    "max_abs_logit_diff_last_token": round(max_diff, 5)}
            del llm
        report["models"][name] = r
        print(name, json.dumps(r), flush=True)
    with open(os.path.join(SAMPLES, "LLAMACPP_CHECK.json"), "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
