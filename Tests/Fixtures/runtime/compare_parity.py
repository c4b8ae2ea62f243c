#!/usr/bin/env python3
"""Position-by-position comparison of our passage logits with llama.cpp's (a diagnostic for issue 4 parity).

Usage:
  SCAN_REAL_MODELS=1 SCAN_PARITY_DUMP=/tmp/parity swift test -c release -Xswiftc -enable-testing \
      --filter RuntimeParityDumpTests            # writes /tmp/parity/<model>-<numerics>-<mode>.f32
  python3 Tests/Fixtures/runtime/compare_parity.py MODEL.gguf REFS.json OURS.f32 [OURS2.f32 ...]
      [--llama-cache /tmp/parity/llama-b512.npy] [--n-batch 512]

llama.cpp's full logits for the reference passage (tokens from REFS.json) come from llama-cpp-python with the
settings of make_runtime_refs.py (n_ctx 2048, n_batch 512, 2 threads, logits_all) and are cached in .npy.
For each of our dumps it prints the top-1 agreement, mean |logit diff| over llama.cpp's top-10 ids and over
the whole vocabulary, the share of bit-identical logits, the first position whose logits differ, and the
mean |diff| per 100-position bucket (does the error grow with position, as a KV-cache cause would?).
"""
import argparse
import json
import os

import numpy as np


def llama_logits(model, passage, n_batch, cache):
    if cache and os.path.exists(cache):
        return np.load(cache)
    from llama_cpp import Llama
    llm = Llama(model_path=model, logits_all=True, n_ctx=2048, n_batch=n_batch, n_ubatch=n_batch, n_threads=2, verbose=False)
    llm.reset()
    llm.eval(passage)
    scores = np.array(llm.scores[: len(passage)], dtype=np.float32)
    if cache:
        np.save(cache, scores)
    return scores


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("refs")
    ap.add_argument("ours", nargs="+")
    ap.add_argument("--llama-cache")
    ap.add_argument("--n-batch", type=int, default=512)
    a = ap.parse_args()
    refs = json.load(open(a.refs))
    passage = refs["passage_tokens"]
    ref = llama_logits(a.model, passage, a.n_batch, a.llama_cache)
    vocab = ref.shape[1]
    top10 = np.argsort(-ref, axis=1, kind="stable")[:, :10]
    stored = np.array([row[0][0] for row in refs["passage_top"]])
    print(f"llama.cpp logits: {ref.shape}, argmax equal to the committed refs at {(ref.argmax(1) == stored).sum()}/{len(passage)}")
    for path in a.ours:
        ours = np.fromfile(path, dtype=np.float32).reshape(-1, vocab)
        n = min(len(ours), len(ref))
        o, r = ours[:n], ref[:n]
        agree = (o.argmax(1) == r.argmax(1)).sum()
        d = np.abs(o - r)
        d10 = np.take_along_axis(d, top10[:n], axis=1)
        same_rows = np.all(o == r, axis=1)
        first = int(np.argmin(same_rows)) if not same_rows.all() else n
        buckets = " ".join(f"{d[i:i + 100].mean():.3g}" for i in range(0, n, 100))
        print(f"{os.path.basename(path)}: top-1 {agree}/{n} = {agree / n:.4f}; mean |d| top-10 {d10.mean():.4g}, "
              f"all {d.mean():.4g}, max {d.max():.4g}; identical logits {(o == r).mean():.4f}, identical rows "
              f"{same_rows.sum()}, first differing position {first}")
        print(f"  mean |d| per 100 positions: {buckets}")


if __name__ == "__main__":
    main()
