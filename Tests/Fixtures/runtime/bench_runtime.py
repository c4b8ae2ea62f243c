#!/usr/bin/env python3
"""Runtime speed vs llama.cpp on SmolLM2-135M-Instruct Q4_1, same machine, same run, 2 threads.

Usage: python3 Tests/Fixtures/runtime/bench_runtime.py [--threads 2] [--skip-swift] [--skip-llama]
Measures prompt processing (pp64, pp512) and generation (tg64) in tokens/s with llama-cpp-python
(PyPI) and with our runtime (`SCAN_BENCH=1 swift test -c release --filter RuntimeBenchmarkTests/smolLM2Speed`),
then prints the ratios ours/llama.cpp. Best of 3 repetitions each.
"""
import argparse, json, os, random, re, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
MODEL = os.path.join(os.environ.get("SCAN_REAL_MODELS_DIR", os.path.join(ROOT, "samples/.cache/real")), "SmolLM2-135M-Instruct.Q4_1.gguf")


def bench_llama(threads, reps=3):
    from llama_cpp import Llama
    llm = Llama(model_path=MODEL, n_ctx=1024, n_batch=512, n_ubatch=512, n_threads=threads, n_threads_batch=threads, verbose=False)
    rnd = random.Random(1)
    vocab = llm.n_vocab()
    out = {}
    for n in (64, 512):
        toks = [rnd.randrange(vocab) for _ in range(n)]
        llm.reset(); llm.eval(toks[:8])
        best = 1e9
        for _ in range(reps):
            llm.reset()
            t = time.perf_counter(); llm.eval(toks); best = min(best, time.perf_counter() - t)
        out[f"pp{n}"] = n / best
    best = 1e9
    for _ in range(reps):
        llm.reset(); llm.eval([1])
        toks = [rnd.randrange(vocab) for _ in range(64)]
        t = time.perf_counter()
        for tok in toks:
            llm.eval([tok])
        best = min(best, time.perf_counter() - t)
    out["tg64"] = 64 / best
    return out


def bench_swift(threads):
    env = dict(os.environ, SCAN_BENCH="1", SCAN_THREADS=str(threads))
    p = subprocess.run(["swift", "test", "-c", "release", "--filter", "RuntimeBenchmarkTests/smolLM2Speed"],
                       cwd=ROOT, env=env, capture_output=True, text=True)
    m = re.search(r"RUNTIME_BENCH threads=\d+ (\{.*\})", p.stdout + p.stderr)
    if not m:
        sys.exit("swift benchmark failed:\n" + p.stdout[-3000:] + p.stderr[-3000:])
    return json.loads(m.group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-swift", action="store_true")
    ap.add_argument("--skip-llama", action="store_true")
    a = ap.parse_args()
    ours = {} if a.skip_swift else bench_swift(a.threads)
    ref = {} if a.skip_llama else bench_llama(a.threads)
    print(f"threads={a.threads}  load avg={os.getloadavg()[0]:.1f}")
    print(f"{'test':10} {'ours t/s':>10} {'llama.cpp':>10} {'ratio':>7}")
    for k in ("pp64", "pp512", "tg64"):
        o, r = ours.get(k), ref.get(k)
        ratio = f"{o / r:7.2f}" if o and r else "      -"
        print(f"{k:10} {o or 0:10.1f} {r or 0:10.1f} {ratio}")
    if ours:
        print(f"batch of 32 x 16-token prompts: {ours['batch32x16_batched_s']:.2f}s batched vs "
              f"{ours['batch32x16_single_s']:.2f}s one by one ({ours['batch32x16_speedup']:.1f}x)")


if __name__ == "__main__":
    main()
