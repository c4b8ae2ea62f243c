#!/usr/bin/env python3
"""Reference ids for the tokenizer.json adapter, from Hugging Face `tokenizers`.

Writes the SmolLM2 tokenizer as transformers converts it from the GGUF (tokenizer.json +
tokenizer_config.json) to <real-dir>/smollm2-hf-tokenizer/ (not committed: ~2 MB), then encodes
tokenizer_cases.json and tokenizer_fuzz_cases.json with tokenizers.Tokenizer (add_special_tokens=False)
and writes refs/hf-smollm2-tokenizer-json.json.

Note: transformers' GGUF conversion emits a plain ByteLevel pre-tokenizer (it ignores
tokenizer.ggml.pre = "smollm"), so these ids differ from llama.cpp's on multi-digit numbers; the
test checks the adapter against the library that reads the same file.
Usage: python3 make_hf_tokenizer_refs.py [--real-dir DIR]   (needs transformers, tokenizers, gguf)
"""
import argparse, json, os

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--real-dir", default=os.path.join(REPO, "samples", ".cache", "real"))
    args = ap.parse_args()
    from transformers import AutoTokenizer
    import tokenizers

    out_dir = os.path.join(args.real_dir, "smollm2-hf-tokenizer")
    tok = AutoTokenizer.from_pretrained(args.real_dir, gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf")
    tok.save_pretrained(out_dir)
    fast = tokenizers.Tokenizer.from_file(os.path.join(out_dir, "tokenizer.json"))
    texts = json.load(open(os.path.join(HERE, "tokenizer_cases.json"), encoding="utf-8"))["cases"]
    fuzz = json.load(open(os.path.join(HERE, "tokenizer_fuzz_cases.json"), encoding="utf-8"))["cases"]
    doc = {
        "generator": f"tokenizers {tokenizers.__version__} on transformers' conversion of SmolLM2-135M-Instruct.Q4_1.gguf",
        "ids": [fast.encode(t, add_special_tokens=False).ids for t in texts],
        "fuzz_ids": [fast.encode(t, add_special_tokens=False).ids for t in fuzz],
    }
    with open(os.path.join(HERE, "refs", "hf-smollm2-tokenizer-json.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print("wrote", out_dir, "and refs/hf-smollm2-tokenizer-json.json")


if __name__ == "__main__":
    main()
