#!/usr/bin/env python3
"""Checks the folders written by gguf_to_hf.py with transformers: loads each folder (AutoModelForCausalLM, float32),
runs the reference passage and prompts of the committed transformers references (made from the GGUF itself by
Tests/Fixtures/runtime/make_runtime_refs.py --backend transformers) and reports top-1 agreement, the largest logit
difference over the reference's top-10 ids, and whether the greedy continuations are identical. Writes
Tests/Fixtures/runtime/hf-folder-check.json. Needs torch + transformers (not run in CI).

    python3 samples/make/check_hf_folder.py
"""
import json
import os
import sys

import numpy as np
import torch
import transformers
from transformers import AutoModelForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
REAL = os.path.join(ROOT, "samples", ".cache", "real")
FIXTURES = os.path.join(ROOT, "Tests", "Fixtures", "runtime")
CASES = [("smollm2-135m-hf", "smollm2-q4_1-refs.json"), ("gemma3-270m-hf", "gemma3-270m-q4_k_m-refs.json")]


def main():
    torch.set_num_threads(2)
    results = {"generator": f"transformers {transformers.__version__}, torch {torch.__version__}", "folders": {}}
    ok = True
    for folder, refs_name in CASES:
        refs = json.load(open(os.path.join(FIXTURES, refs_name)))
        model = AutoModelForCausalLM.from_pretrained(os.path.join(REAL, folder), dtype=torch.float32)
        model.eval()
        ids = torch.tensor([refs["passage_tokens"]])
        with torch.no_grad():
            logits = model(ids).logits[0].float().numpy()
        agree, max_diff = 0, 0.0
        for pos, top in enumerate(refs["passage_top"]):
            row = logits[pos]
            agree += int(np.argmax(row) == top[0][0])
            for tid, lg in top:
                max_diff = max(max_diff, abs(float(row[int(tid)]) - lg))
        greedy_same = 0
        for p in refs["prompts"]:
            # The references' loop: argmax at every step, EOS not special (generate() would stop or mask it).
            seq, out = list(p["prompt_tokens"]), []
            with torch.no_grad():
                for _ in range(len(p["greedy"])):
                    nxt = int(torch.argmax(model(torch.tensor([seq])).logits[0, -1]))
                    out.append(nxt)
                    seq.append(nxt)
            greedy_same += int(out == p["greedy"])
        n = len(refs["passage_tokens"])
        results["folders"][folder] = {"refs": refs_name, "positions": n, "top1_agree": agree,
                                      "max_abs_logit_diff_top10": round(max_diff, 6),
                                      "greedy_identical": f"{greedy_same}/{len(refs['prompts'])}"}
        print(folder, results["folders"][folder])
        ok = ok and agree == n
    with open(os.path.join(FIXTURES, "hf-folder-check.json"), "w") as f:
        json.dump(results, f, indent=1)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
