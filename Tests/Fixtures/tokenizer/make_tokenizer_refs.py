#!/usr/bin/env python3
"""Reference token ids for the Swift tokenizer tests, produced by llama.cpp through llama-cpp-python.

For every vocabulary below and every text in tokenizer_cases.json this records what llama.cpp returns for
  llama_tokenize(text, add_special, parse_special=True)   with add_special in (True, False)
  llama_token_to_piece(id, special) concatenated          with special in (False, True)   (decode)
  llama_detokenize(ids, remove_special=True, unparse_special=False)                        (detokenize)
plus, for FUZZ_COUNT seeded random strings (written to tokenizer_fuzz_cases.json), the ids with
add_special=False; and writes refs/<name>.json (ids as JSON arrays, decoded bytes as hex).

Usage:  python3 make_tokenizer_refs.py [--real-dir DIR]
  Vocab-only GGUFs come from ../shared/realfiles (relative to the repository root).
  The real models (SmolLM2-135M-Instruct.Q4_1.gguf, gemma-3-270m-q4_k_m.gguf) are read from --real-dir
  (default: <repo>/samples/.cache/real, see scripts/fetch-real-models.sh); they are skipped if absent.
Requires: pip install llama-cpp-python (the version is recorded in every output file).
"""
import argparse, ctypes, hashlib, json, os, sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
REALFILES = os.path.join(REPO, "..", "shared", "realfiles", "gguf")

# name -> path relative to ../shared/realfiles/gguf (vocab-only files) or "real:<file>" (real models)
VOCABS = {
    "smollm2-135m": "real:SmolLM2-135M-Instruct.Q4_1.gguf",
    "gemma3-270m": "real:gemma-3-270m-q4_k_m.gguf",
    "llama-spm": "llama-vocab/ggml-vocab-llama-spm.gguf",
    "phi-3": "llama-vocab/ggml-vocab-phi-3.gguf",
    "baichuan": "llama-vocab/ggml-vocab-baichuan.gguf",
    "gpt-2": "llama-vocab/ggml-vocab-gpt-2.gguf",
    "falcon": "llama-vocab/ggml-vocab-falcon.gguf",
    "deepseek-coder": "llama-vocab/ggml-vocab-deepseek-coder.gguf",
    "deepseek-llm": "llama-vocab/ggml-vocab-deepseek-llm.gguf",
    "starcoder": "llama-vocab/ggml-vocab-starcoder.gguf",
    "refact": "llama-vocab/ggml-vocab-refact.gguf",
    "mpt": "llama-vocab/ggml-vocab-mpt.gguf",
    "gpt-neox": "llama-vocab/ggml-vocab-gpt-neox.gguf",
    "stablelm-2024": "llama-vocab-history/ggml-vocab-stablelm-2024-06-04.gguf",
    "llama-2023-12": "llama-vocab-history/ggml-vocab-llama-2023-12-28.gguf",
    "tiny-llama3": "gridcore-runner/vocab-bpe-llama3.gguf",
    "tiny-qwen2": "gridcore-runner/vocab-bpe-qwen2.gguf",
    "tiny-smollm": "gridcore-runner/vocab-bpe-smollm.gguf",
    "tiny-gpt4o": "gridcore-runner/vocab-bpe-gpt4o.gguf",
    "tiny-spm-zeroscores": "gridcore-runner/vocab-spm-zeroscores.gguf",
}


FUZZ_COUNT = 100
FUZZ_SEED = 20261129
FUZZ_ALPHABET = (
    list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    + [" ", "  ", "   ", "    ", "\t", "\n", "\n\n", "\r\n", " \n", "'", "'s", "'t", "'re", "'ll", "'D", "'VE"]
    + list("!?.,;:-_()[]{}<>/\\|$+=^~`@#%&*\"")
    + ["é", "ß", "Ω", "ж", "中", "日本", "한", "ا", "א", "ह", "ि", "e\u0301", "\u00a0", "\u3000", "\u2003",
       "\u200b", "\u200d", "\u0085", "🙂", "👍🏽", "👨\u200d👩\u200d👧", "½", "²", "٣", "１", "Ａ", "ａ", "！",
       "‘", "’", "“", "—", "…", "ǅ", "ﬁ", "\u0001"]
    + ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<s>", "</s>", "<start_of_turn>", "<end_of_turn>",
       "<bos>", "<eos>", "<unk>", "<0x41>", "<|eot_id|>", "<pad>", "▁", "Ġ"]
)


def fuzz_cases():
    import random
    rng = random.Random(FUZZ_SEED)
    return ["".join(rng.choice(FUZZ_ALPHABET) for _ in range(rng.randint(1, 40))) for _ in range(FUZZ_COUNT)]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main():
    import llama_cpp

    ap = argparse.ArgumentParser()
    ap.add_argument("--real-dir", default=os.path.join(REPO, "samples", ".cache", "real"))
    ap.add_argument("--only", nargs="*")
    args = ap.parse_args()

    cases = json.load(open(os.path.join(HERE, "tokenizer_cases.json"), encoding="utf-8"))["cases"]
    fuzz = fuzz_cases()
    with open(os.path.join(HERE, "tokenizer_fuzz_cases.json"), "w", encoding="utf-8") as f:
        json.dump({"description": f"{FUZZ_COUNT} random strings, seed {FUZZ_SEED} (make_tokenizer_refs.py)",
                   "cases": fuzz}, f, ensure_ascii=True, indent=0)
    os.makedirs(os.path.join(HERE, "refs"), exist_ok=True)
    summary = {}
    for name, rel in VOCABS.items():
        if args.only and name not in args.only:
            continue
        if rel.startswith("real:"):
            path = os.path.join(args.real_dir, rel[5:])
            recorded = rel
        else:
            path = os.path.join(REALFILES, rel)
            recorded = "realfiles:gguf/" + rel
        if not os.path.exists(path):
            print(f"{name}: missing {path}, skipped", file=sys.stderr)
            continue
        try:
            llm = llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)
        except Exception as e:  # llama.cpp refuses the vocabulary
            print(f"{name}: llama.cpp cannot load it ({e}), skipped", file=sys.stderr)
            summary[name] = f"not loadable: {e}"
            continue
        vocab = llama_cpp.llama_model_get_vocab(llm.model)

        def piece(tok, special):
            buf = ctypes.create_string_buffer(256)
            n = llama_cpp.llama_token_to_piece(vocab, tok, buf, 256, 0, special)
            if n < 0:
                buf = ctypes.create_string_buffer(-n)
                n = llama_cpp.llama_token_to_piece(vocab, tok, buf, -n, 0, special)
            return buf.raw[:n]

        def detok(ids, remove_special, unparse_special):
            arr = (llama_cpp.llama_token * len(ids))(*ids)
            size = 64 + 64 * len(ids)
            buf = ctypes.create_string_buffer(size)
            n = llama_cpp.llama_detokenize(vocab, arr, len(ids), buf, size, remove_special, unparse_special)
            assert n >= 0, n
            return buf.raw[:n]

        out_cases = []
        for index, text in enumerate(cases):
            for add_special in (True, False):
                ids = llm.tokenize(text.encode("utf-8"), add_bos=add_special, special=True)
                entry = {"text": index, "add_special": add_special, "ids": ids}
                if add_special:
                    entry["decode"] = b"".join(piece(t, False) for t in ids).hex()
                    entry["decode_special"] = b"".join(piece(t, True) for t in ids).hex()
                    entry["detokenize"] = detok(ids, True, False).hex()
                out_cases.append(entry)
        doc = {
            "vocab": name,
            "file": recorded,
            "sha256": sha256(path),
            "generator": f"llama-cpp-python {llama_cpp.__version__} (tokenize(add_bos=add_special, special=True))",
            "n_vocab": llm.n_vocab(),
            "cases": out_cases,
            "fuzz_ids": [llm.tokenize(t.encode("utf-8"), add_bos=False, special=True) for t in fuzz],
        }
        with open(os.path.join(HERE, "refs", name + ".json"), "w", encoding="utf-8") as f:
            json.dump(doc, f, separators=(",", ":"))
            f.write("\n")
        summary[name] = f"{len(out_cases)} cases"
        print(name, summary[name])
        del llm
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
