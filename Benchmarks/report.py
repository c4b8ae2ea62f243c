#!/usr/bin/env python3
"""Prints the table for Benchmarks/bench-formats.sh from the JSON results in a folder (default /tmp/bench-formats)."""
from __future__ import annotations

import json
import os
import sys


def load(folder: str, name: str) -> dict:
    try:
        with open(os.path.join(folder, name + ".json"), encoding="utf-8") as f:
            text = f.read().strip()
        return json.loads(text) if text else {"error": "no output"}
    except FileNotFoundError:
        return {"error": "not run"}
    except json.JSONDecodeError as e:
        return {"error": f"bad JSON: {e}"}


def fmt_time(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:8.2f} s "
    if seconds >= 1e-3:
        return f"{seconds * 1e3:8.3f} ms"
    return f"{seconds * 1e6:8.1f} µs"


def open_rows(title: str, ours: dict, peers: dict) -> tuple[list[str], dict]:
    """Rows for one file; also returns {label: cpu median} for the goal checks."""
    rows = [title]
    o = ours.get("ours") if isinstance(ours.get("ours"), dict) else {}
    base_wall, base_cpu = o.get("median_s"), o.get("cpu_median_s")
    contenders = [
        ("ours: open (mmap) + parse + validate", o or ours),
        ("ours: parse + validate, already mapped", ours.get("ours_parse_only", {})),
    ]
    for key, label in (("ggml_c", "ggml C gguf_init_from_file, no_alloc, ctx=NULL"),
                       ("ggml_c_ctx", "ggml C gguf_init_from_file, no_alloc + ggml ctx"),
                       ("gguf_py", "Python gguf.GGUFReader"),
                       ("safetensors_py", "safetensors.safe_open (Rust crate) + keys()")):
        if key in peers:
            contenders.append((label, peers[key]))
    cpu: dict = {}
    for label, r in contenders:
        if not isinstance(r, dict) or "median_s" not in r:
            reason = (r or {}).get("error") or (r or {}).get("skipped") or "no result"
            rows.append(f"  {label:<50} {'—':>11}  {'—':>11}   ({reason})")
            continue
        cpu[label] = r.get("cpu_median_s")
        wall_ratio = f"{r['median_s'] / base_wall:8.2f}x" if base_wall else "       ?"
        cpu_ratio = f"{r['cpu_median_s'] / base_cpu:8.2f}x" if base_cpu and r.get("cpu_median_s") else "       ?"
        cpu_time = fmt_time(r["cpu_median_s"]) if r.get("cpu_median_s") is not None else "          ?"
        rows.append(f"  {label:<50} {fmt_time(r['median_s'])}  {cpu_time} {wall_ratio} {cpu_ratio}   "
                    f"(wall min {fmt_time(r['min_s']).strip()}, n={r['iterations']})")
    return rows, cpu


def dequant_rows(title: str, ours: dict, peers: dict) -> tuple[list[str], dict]:
    rows = [title]
    o = ours.get("ours", {})
    base = o.get("cpu_gbps")
    contenders = [("ours (single thread)", o), ("ggml C to_float (single thread)", peers.get("ggml_c", {})),
                  ("numpy gguf.quants.dequantize", peers.get("numpy", {}))]
    for label, r in contenders:
        if "gbps" not in r:
            rows.append(f"  {label:<50} {'—':>11}   ({r.get('error', 'no result')})")
            continue
        ratio = f"{base / r['cpu_gbps']:8.2f}x" if base and r.get("cpu_gbps") else "       ?"
        per = ", ".join(f"{k} {v:.3g}" for k, v in sorted(r.get("per_type_gbps", {}).items()))
        rows.append(f"  {label:<50} {r['gbps']:7.3f} GB/s  {r.get('cpu_gbps', float('nan')):7.3f} GB/s {ratio}   "
                    f"(CPU GB/s per type: {per})")
    if o.get("unsupported_types"):
        rows.append(f"  ours skipped types without a dequantizer: {', '.join(o['unsupported_types'])}")
    return rows, o.get("per_type_gbps", {})


def goal(text: str, cpu: dict, peer: str) -> str:
    ours = cpu.get("ours: open (mmap) + parse + validate")
    other = cpu.get(peer)
    if not ours or not other:
        return f"  {'?':>7}: {text} (missing measurement)"
    return f"  {'met' if ours <= other else 'NOT met':>7}: {text}: ours {fmt_time(ours).strip()}, peer {fmt_time(other).strip()}"


def main() -> None:
    folder = sys.argv[1] if len(sys.argv) > 1 else "/tmp/bench-formats"
    lines = []
    try:
        load_avg = " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load_avg = "?"
    lines.append(f"bench-formats: {os.cpu_count()} cores, load average {load_avg} (other jobs skew timings)")
    lines.append("")
    lines.append("(a)/(b) open + fully validate, median in-process time per open, wall and process CPU;")
    lines.append("        ratios = contender time / ours, wall then CPU (>1: ours faster)")
    lines.append(f"  {'':<50} {'wall':>11}  {'CPU':>11} {'wall x':>9} {'CPU x':>9}")
    goals = []
    p = load(folder, "peers-gguf-open-smollm")
    o = load(folder, "ours-gguf-open-smollm")
    size = p.get("size") or 0
    rows, cpu = open_rows(f"SmolLM2-135M-Instruct Q4_1 GGUF ({size / 1e6:.0f} MB, {o.get('tensor_count', '?')} tensors, "
                          f"{o.get('kv_count', '?')} keys)", o, p)
    lines += rows
    goals.append(goal("SmolLM2 GGUF open+validate <= ggml C (CPU medians)", cpu, "ggml C gguf_init_from_file, no_alloc, ctx=NULL"))
    if os.path.exists(os.path.join(folder, "ours-gguf-open-gemma.json")):
        p = load(folder, "peers-gguf-open-gemma")
        o = load(folder, "ours-gguf-open-gemma")
        size = p.get("size") or 0
        rows, cpu = open_rows(f"Gemma 3 270M Q4_K_M GGUF ({size / 1e6:.0f} MB, {o.get('tensor_count', '?')} tensors, "
                              f"{o.get('kv_count', '?')} keys)", o, p)
        lines += rows
        goals.append(goal("Gemma GGUF open+validate <= ggml C (CPU medians)", cpu,
                          "ggml C gguf_init_from_file, no_alloc, ctx=NULL"))
    p = load(folder, "peers-st-open-big")
    o = load(folder, "ours-st-open-big")
    size = p.get("size") or 0
    rows, cpu = open_rows(f"safetensors F16 ({size / 1e9:.2f} GB, {o.get('tensor_count', '?')} tensors)", o, p)
    lines += rows
    goals.append(goal("safetensors open+validate <= safetensors crate (CPU medians)", cpu,
                      "safetensors.safe_open (Rust crate) + keys()"))
    lines.append("")
    lines.append("(c) full dequantizing pass over every tensor to float32, GB/s of tensor bytes, one thread;")
    lines.append("    ratio = ours / contender on CPU-time GB/s (>1: ours faster)")
    lines.append(f"  {'':<50} {'wall':>12}  {'CPU':>12} {'x':>8}")
    our_types: dict = {}
    for tag, title in (("smollm", "SmolLM2-135M-Instruct Q4_1 (Q4_1, Q8_0, F32)"),
                       ("gemma", "Gemma 3 270M Q4_K_M (Q8_0, Q5_0, Q4_K, Q6_K, F32)")):
        if os.path.exists(os.path.join(folder, f"ours-dequant-{tag}.json")):
            rows, per_type = dequant_rows(title, load(folder, f"ours-dequant-{tag}"), load(folder, f"peers-dequant-{tag}"))
            lines += rows
            for k, v in per_type.items():
                our_types[k] = min(v, our_types.get(k, v))
    for t in ("Q8_0", "Q4_K"):  # F16/BF16 do not occur in these two models
        if t in our_types:
            goals.append(f"  {'met' if our_types[t] >= 1 else 'NOT met':>7}: dequantize {t} >= 1 GB/s per core "
                         f"(ours {our_types[t]:.3f} GB/s CPU)")
        else:
            goals.append(f"  {'?':>7}: dequantize {t} >= 1 GB/s per core (no measurement)")
    lines.append("")
    lines.append("goals (issue 2):")
    lines += goals
    print("\n".join(lines))


if __name__ == "__main__":
    main()
