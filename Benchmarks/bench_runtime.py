#!/usr/bin/env python3
"""Runtime speed and memory vs llama.cpp, one run, same machine, same thread count (issue 4 goals).

Usage: Benchmarks/bench-runtime.sh [--threads 2] [--reps 3] [--skip-swift] [--skip-llama] [--skip-rss] [--skip-build]

1. Ours: `SCAN_BENCH=1 swift test -c release -Xswiftc -enable-testing --filter RuntimeBenchmarkTests/smolLM2Speed`
   (release build, gated benchmark harness, no timing assertions). For both `Numerics` (.llamaCpp, the default of
   `scan generate`, and .float, what the behavioural scan uses): pp64, pp512, tg64 tokens/s on the SmolLM2 Q4_1 GGUF;
   32 prompts of 16 tokens batched vs 32 single sessions; decode steps of N = 1, 4, 8, 12, 32 sequences at once
   (MultiSequenceSession.step, what generateBatch runs) vs N single-sequence steps.
2. llama.cpp (llama-cpp-python, in-process, n_threads = n_threads_batch = THREADS, n_batch = n_ubatch = 512): wall time
   of llama_decode for the 64- and 512-token prompts and for 64 single-token steps after one token; best of REPS.
   Run right after ours, so both see the same machine load.
3. Peak RSS (/usr/bin/time -v, max resident set) of `scan generate MODEL --prompt ... --max-tokens 16` on SmolLM2 and
   Gemma 3 270M, against the GGUF file size (goal <= 1.3x).

Prints a table with the ratios and the goals; writes the raw numbers to $BENCH_OUT/bench-runtime.json
(default /tmp/bench-runtime). Every number is best-of-REPS wall time: on a shared 2-core machine, read it with the
load averages printed before and after.
"""
import argparse, json, os, random, re, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
REAL = os.environ.get("SCAN_REAL_MODELS_DIR", os.path.join(ROOT, "samples/.cache/real"))
SMOL = os.path.join(REAL, "SmolLM2-135M-Instruct.Q4_1.gguf")
GEMMA = os.path.join(REAL, "gemma-3-270m-q4_k_m.gguf")
DECODE_NS = (1, 4, 8, 12, 32)
_quiet_log = None


def load():
    return "%.2f %.2f %.2f" % os.getloadavg()


def bench_ours(threads, reps, skip_build, model):
    env = dict(os.environ, SCAN_BENCH="1", SCAN_THREADS=str(threads), SCAN_BENCH_REPS=str(reps),
               SCAN_NUMERICS="llamaCpp,float", SCAN_REAL_MODELS_DIR=REAL, SCAN_BENCH_MODEL=model)
    cmd = ["swift", "test", "-c", "release", "-Xswiftc", "-enable-testing", "--filter",
           "RuntimeBenchmarkTests/smolLM2Speed"] + (["--skip-build"] if skip_build else [])
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    m = re.search(r"RUNTIME_BENCH threads=\d+ (\{.*\})", p.stdout + p.stderr)
    if not m:
        sys.exit("swift benchmark failed:\n" + p.stdout[-3000:] + p.stderr[-3000:])
    return json.loads(m.group(1))


def bench_llama(threads, reps, path):
    import llama_cpp
    llama_cpp.llama_backend_init()
    global _quiet_log  # the ctypes callback must outlive the call, or llama.cpp calls freed memory
    _quiet_log = llama_cpp.llama_log_callback(lambda level, text, data: None)
    llama_cpp.llama_log_set(_quiet_log, None)
    mp = llama_cpp.llama_model_default_params()
    model = llama_cpp.llama_model_load_from_file(path.encode(), mp)
    cp = llama_cpp.llama_context_default_params()
    cp.n_ctx, cp.n_batch, cp.n_ubatch = 1024, 512, 512
    cp.n_threads, cp.n_threads_batch = threads, threads
    ctx = llama_cpp.llama_init_from_model(model, cp)
    mem = llama_cpp.llama_get_memory(ctx)
    vocab = llama_cpp.llama_vocab_n_tokens(llama_cpp.llama_model_get_vocab(model))
    rnd = random.Random(1)

    def decode(tokens):
        arr = (llama_cpp.llama_token * len(tokens))(*tokens)
        rc = llama_cpp.llama_decode(ctx, llama_cpp.llama_batch_get_one(arr, len(tokens)))
        if rc != 0:
            sys.exit(f"llama_decode failed: {rc}")

    out = {}
    decode([rnd.randrange(vocab) for _ in range(8)])  # warm-up: page in the weights
    for n in (64, 512):
        toks = [rnd.randrange(vocab) for _ in range(n)]
        best = float("inf")
        for _ in range(reps):
            llama_cpp.llama_memory_clear(mem, True)
            t = time.perf_counter()
            decode(toks)
            best = min(best, time.perf_counter() - t)
        out[f"pp{n}"] = n / best
    best = float("inf")
    for _ in range(reps):
        llama_cpp.llama_memory_clear(mem, True)
        decode([1])
        toks = [rnd.randrange(vocab) for _ in range(64)]
        t = time.perf_counter()
        for tok in toks:
            decode([tok])
        best = min(best, time.perf_counter() - t)
    out["tg64"] = 64 / best
    llama_cpp.llama_free(ctx)
    llama_cpp.llama_model_free(model)
    return out


def peak_rss(threads):
    scan = os.path.join(ROOT, ".build/release/scan")
    if not os.path.exists(scan):
        import glob
        scan = (glob.glob(os.path.join(ROOT, ".build/*/release/scan")) or [scan])[0]
    out = {}
    for name, path in (("smollm2", SMOL), ("gemma3", GEMMA)):
        if not os.path.exists(path):
            continue
        cmd = ["/usr/bin/time", "-v", scan, "generate", path, "--prompt", "The capital of France is",
               "--max-tokens", "16", "--threads", str(threads)]
        p = subprocess.run(cmd, capture_output=True, text=True)
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
        if p.returncode != 0 or not m:
            out[name] = {"error": p.stderr[-500:]}
            continue
        rss = int(m.group(1)) * 1024
        size = os.path.getsize(path)
        out[name] = {"rss_bytes": rss, "file_bytes": size, "ratio": rss / size}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--skip-swift", action="store_true")
    ap.add_argument("--skip-llama", action="store_true")
    ap.add_argument("--skip-rss", action="store_true")
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--model", default=SMOL, help="GGUF for the speed rows (default SmolLM2 Q4_1; e.g. the Gemma 3 Q4_K_M)")
    a = ap.parse_args()
    res = {"model": os.path.basename(a.model), "threads": a.threads, "load_before": load(), "uptime_before": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()}
    ours = {} if a.skip_swift else bench_ours(a.threads, a.reps, a.skip_build, a.model)
    res["load_after_ours"] = load()
    out = os.environ.get("BENCH_OUT", "/tmp/bench-runtime")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "ours.json"), "w") as f:  # kept even if the peer run fails
        json.dump(ours, f, indent=1, sort_keys=True)
    ref = {} if a.skip_llama else bench_llama(a.threads, a.reps, a.model)
    res["load_after_llama"] = load()
    rss = {} if a.skip_rss else peak_rss(a.threads)
    res["load_after"] = load()
    res.update(ours=ours, llama_cpp=ref, rss=rss)

    print(f"model={res['model']}  threads={a.threads}  load avg (1/5/15 min): before {res['load_before']}, after ours {res['load_after_ours']}, "
          f"after llama.cpp {res['load_after_llama']}")
    print(f"{'test':8} {'ours llamaCpp':>14} {'ours float':>11} {'llama.cpp':>10} {'ratio llamaCpp':>15} {'ratio float':>12}  goal")
    goals = {"pp64": 1.0, "pp512": 1.0, "tg64": 0.8}
    for k in ("pp64", "pp512", "tg64"):
        ol, of, r = ours.get(f"llamaCpp.{k}"), ours.get(f"float.{k}"), ref.get(k)
        rl = f"{ol / r:15.2f}" if ol and r else f"{'-':>15}"
        rf = f"{of / r:12.2f}" if of and r else f"{'-':>12}"
        print(f"{k:8} {ol or 0:14.1f} {of or 0:11.1f} {r or 0:10.1f} {rl} {rf}  >= {goals[k]}x")
    for num in ("llamaCpp", "float"):
        if f"{num}.batch32x16_speedup" not in ours:
            continue
        print(f"[{num}] 32 prompts x 16 tokens, batched vs 32 single runs: wall {ours[f'{num}.batch32x16_batched_s']:.3f} s vs "
              f"{ours[f'{num}.batch32x16_single_s']:.3f} s = {ours[f'{num}.batch32x16_speedup']:.2f}x; CPU "
              f"{ours[f'{num}.batch32x16_batched_cpu_s']:.3f} s vs {ours[f'{num}.batch32x16_single_cpu_s']:.3f} s = "
              f"{ours[f'{num}.batch32x16_speedup_cpu']:.2f}x (goal >= 3x)")
        for label, what in (("chat32", "alone (prompt + first token)"), ("chat32k8", "+ 8 generated tokens each")):
            if f"{num}.{label}_speedup" not in ours:
                continue
            print(f"[{num}] 32 chat-formatted battery requests (mean {ours[f'{num}.chat32_prompt_tokens_mean']:.1f} prompt tokens, "
                  f"{ours[f'{num}.chat32_shared_prefix_tokens']:.0f} shared by all) {what}: 32 single generate calls "
                  f"{ours[f'{num}.{label}_single_s']:.3f} s; generateBatch {ours[f'{num}.{label}_batched_s']:.3f} s = "
                  f"{ours[f'{num}.{label}_speedup']:.2f}x; with the shared prefix evaluated once "
                  f"{ours[f'{num}.{label}_shared_s']:.3f} s = {ours[f'{num}.{label}_shared_speedup']:.2f}x (goal >= 3x)")
        for k, what in ((8, "8 generated tokens each (what the detectors run)"), (32, "32 generated tokens each")):
            if f"{num}.gen32x16k{k}_speedup" in ours:
                print(f"[{num}] 32 prompts x 16 tokens + {what}, generateBatch vs "
                      f"32 single generate calls: wall {ours[f'{num}.gen32x16k{k}_batched_s']:.3f} s vs "
                      f"{ours[f'{num}.gen32x16k{k}_single_s']:.3f} s = {ours[f'{num}.gen32x16k{k}_speedup']:.2f}x; CPU "
                      f"{ours[f'{num}.gen32x16k{k}_speedup_cpu']:.2f}x")
        print(f"[{num}] decode step of N sequences vs N single steps (speedup = N x one-sequence step / N-sequence step):")
        for n in DECODE_NS:
            s = ours.get(f"{num}.decode{n}_step_s")
            if s is not None:
                print(f"    N={n:2}: wall {s * 1e3:7.1f} ms ({ours[f'{num}.decode{n}_speedup']:5.2f}x)   "
                      f"CPU {ours[f'{num}.decode{n}_step_cpu_s'] * 1e3:7.1f} ms ({ours[f'{num}.decode{n}_speedup_cpu']:5.2f}x)")
    for name, r in rss.items():
        if "ratio" in r:
            print(f"peak RSS scan generate {name}: {r['rss_bytes'] / 2**20:.1f} MiB, file {r['file_bytes'] / 2**20:.1f} MiB, "
                  f"{r['ratio']:.2f}x (goal <= 1.3x)")
        else:
            print(f"peak RSS scan generate {name}: failed: {r['error']}")
    with open(os.path.join(out, "bench-runtime.json"), "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
