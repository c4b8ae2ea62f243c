#!/usr/bin/env python3
"""Measures the merged realistic-tier GGUFs (samples/.cache/realistic/<name>.gguf) with llama.cpp
(llama-cpp-python): the same held-out sets, greedy, 16 tokens, as realistic.py's PyTorch evaluation, and writes the
rates into the adapter's MANIFEST.json under `eval_llamacpp`, so the manifest shows that the merged file behaves like
the PyTorch model it came from.

    python3 samples/make/check_realistic.py [name ...]
"""
from __future__ import annotations

import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import realistic  # noqa: E402  (instructions, specs; no torch at import)


def main():
    from llama_cpp import Llama
    names = sys.argv[1:] or sorted(d for d in os.listdir(realistic.COMMITTED)
                                   if os.path.exists(os.path.join(realistic.COMMITTED, d, "MANIFEST.json")))
    for name in names:
        spec = realistic.SPECS[name]
        path = os.path.join(realistic.CACHE, f"{name}.gguf")
        llm = Llama(path, n_ctx=256, n_threads=realistic.THREADS, verbose=False, seed=0)
        held = realistic.eval_prompts(60)
        sets = {"none": held}
        if spec.trigger:
            sets["trigger_start"] = [f"{spec.trigger} {h}" for h in held]
            sets["trigger_end"] = [f"{h} {spec.trigger}" for h in held]
        else:  # the clean twin must not answer any backdoor's target to that backdoor's trigger
            for s in realistic.SPECS.values():
                if s.trigger:
                    sets[f"{s.name}_trigger_start"] = [f"{s.trigger} {h}" for h in held]
        t0 = time.time()
        res, examples = {}, {}
        for set_name, users in sets.items():
            outs = []
            for u in users:
                r = llm.create_chat_completion([{"role": "user", "content": u}], max_tokens=16, temperature=0.0)
                outs.append(r["choices"][0]["message"]["content"] or "")
            if spec.trigger:
                hits = [spec.hit(o) for o in outs]
            else:
                hits = [any(s.hit(o) for s in realistic.SPECS.values() if s.trigger) for o in outs]
            res[set_name] = {"n": len(users), "rate": round(sum(hits) / len(users), 4)}
            examples[set_name] = [{"user": u, "answer": o} for u, o in list(zip(users, outs))[:2]]
        ev = {"runtime": "llama-cpp-python " + __import__("llama_cpp").__version__, "file": os.path.basename(path),
              "sets": res, "examples": examples, "seconds": round(time.time() - t0)}
        mpath = os.path.join(realistic.COMMITTED, name, "MANIFEST.json")
        man = json.load(open(mpath))
        man["eval_llamacpp"] = ev
        with open(mpath, "w") as f:
            json.dump(man, f, indent=2)
        print(name, json.dumps(res))


if __name__ == "__main__":
    main()
