#!/usr/bin/env python3
"""Reference ids for the tokenizer.json adapter, from Hugging Face `tokenizers`.

Writes the SmolLM2 and Gemma 3 tokenizers and llama.cpp's Llama SentencePiece vocabulary as transformers converts
them from the GGUF (tokenizer.json + tokenizer_config.json) to <real-dir>/<name>-hf-tokenizer/ (not committed:
2-33 MB), then encodes
tokenizer_cases.json and tokenizer_fuzz_cases.json with tokenizers.Tokenizer (add_special_tokens=False)
and writes refs/hf-<name>-tokenizer-json.json.

Note: transformers' GGUF conversion emits a plain ByteLevel pre-tokenizer (it ignores
tokenizer.ggml.pre = "smollm"), so these ids differ from llama.cpp's on multi-digit numbers; the
test checks the adapter against the library that reads the same file.
Usage: python3 make_hf_tokenizer_refs.py [--real-dir DIR]   (needs transformers, tokenizers, gguf)
"""
import argparse, json, os

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))


# (output folder under --real-dir, GGUF folder, GGUF file, refs file). SmolLM2: byte-level BPE; Gemma 3 and
# llama.cpp's Llama SentencePiece vocabulary: SentencePiece-style BPE with byte fallback ("▁" for spaces).
CASES = [
    ("smollm2-hf-tokenizer", None, "SmolLM2-135M-Instruct.Q4_1.gguf", "hf-smollm2-tokenizer-json.json"),
    ("gemma3-hf-tokenizer", None, "gemma-3-270m-q4_k_m.gguf", "hf-gemma3-tokenizer-json.json"),
    ("llama-spm-hf-tokenizer", os.path.join(REPO, "..", "shared", "realfiles", "gguf", "llama-vocab"),
     "ggml-vocab-llama-spm.gguf", "hf-llama-spm-tokenizer-json.json"),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--real-dir", default=os.path.join(REPO, "samples", ".cache", "real"))
    args = ap.parse_args()
    from transformers import AutoTokenizer
    import tokenizers

    texts = json.load(open(os.path.join(HERE, "tokenizer_cases.json"), encoding="utf-8"))["cases"]
    fuzz = json.load(open(os.path.join(HERE, "tokenizer_fuzz_cases.json"), encoding="utf-8"))["cases"]
    for out_name, gguf_dir, gguf_file, refs_name in CASES:
        out_dir = os.path.join(args.real_dir, out_name)
        tok = AutoTokenizer.from_pretrained(gguf_dir or args.real_dir, gguf_file=gguf_file)
        tok.save_pretrained(out_dir)
        fast = tokenizers.Tokenizer.from_file(os.path.join(out_dir, "tokenizer.json"))
        doc = {
            "generator": f"tokenizers {tokenizers.__version__} on transformers' conversion of {gguf_file}",
            "ids": [fast.encode(t, add_special_tokens=False).ids for t in texts],
            "fuzz_ids": [fast.encode(t, add_special_tokens=False).ids for t in fuzz],
        }
        with open(os.path.join(HERE, "refs", refs_name), "w", encoding="utf-8") as f:
            json.dump(doc, f, separators=(",", ":"))
            f.write("\n")
        print("wrote", out_dir, "and refs/" + refs_name)


if __name__ == "__main__":
    main()
