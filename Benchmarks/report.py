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


def open_rows(title: str, ours: dict, peers: dict) -> list[str]:
    rows = [title]
    base = ours.get("ours", {}).get("median_s") if isinstance(ours.get("ours"), dict) else None
    contenders = [
        ("ours: open (mmap) + parse + validate", ours.get("ours", ours)),
        ("ours: parse + validate, already mapped", ours.get("ours_parse_only", {})),
    ]
    for key, label in (("ggml_c", "ggml C gguf_init_from_file, no_alloc, ctx=NULL"),
                       ("ggml_c_ctx", "ggml C gguf_init_from_file, no_alloc + ggml ctx"),
                       ("gguf_py", "Python gguf.GGUFReader"),
                       ("safetensors_py", "safetensors.safe_open (Rust crate) + keys()")):
        if key in peers:
            contenders.append((label, peers[key]))
    for label, r in contenders:
        if not isinstance(r, dict) or "median_s" not in r:
            reason = (r or {}).get("error") or (r or {}).get("skipped") or "no result"
            rows.append(f"  {label:<50} {'—':>11}   ({reason})")
            continue
        ratio = f"{r['median_s'] / base:10.2f}x" if base else "          ?"
        rows.append(f"  {label:<50} {fmt_time(r['median_s'])} {ratio}   (min {fmt_time(r['min_s']).strip()}, n={r['iterations']})")
    return rows


def dequant_rows(title: str, ours: dict, peers: dict) -> list[str]:
    rows = [title]
    o = ours.get("ours", {})
    base = o.get("gbps")
    contenders = [("ours (single thread)", o), ("ggml C to_float (single thread)", peers.get("ggml_c", {})),
                  ("numpy gguf.quants.dequantize", peers.get("numpy", {}))]
    for label, r in contenders:
        if "gbps" not in r:
            rows.append(f"  {label:<50} {'—':>11}   ({r.get('error', 'no result')})")
            continue
        ratio = f"{base / r['gbps']:10.2f}x" if base else "          ?"
        per = ", ".join(f"{k} {v:.3g}" for k, v in sorted(r.get("per_type_gbps", {}).items()))
        rows.append(f"  {label:<50} {r['gbps']:7.3f} GB/s {ratio}   ({r['seconds']:.3f} s; per type GB/s: {per})")
    if o.get("unsupported_types"):
        rows.append(f"  ours skipped types without a dequantizer: {', '.join(o['unsupported_types'])}")
    return rows


def main() -> None:
    folder = sys.argv[1] if len(sys.argv) > 1 else "/tmp/bench-formats"
    lines = []
    try:
        load_avg = " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load_avg = "?"
    lines.append(f"bench-formats: {os.cpu_count()} cores, load average {load_avg} (other jobs skew timings)")
    lines.append("")
    lines.append("(a)/(b) open + fully validate, median in-process time; ratio = contender time / ours (>1: ours faster)")
    p = load(folder, "peers-gguf-open-smollm")
    o = load(folder, "ours-gguf-open-smollm")
    size = p.get("size") or 0
    lines += open_rows(f"SmolLM2-135M-Instruct Q4_1 GGUF ({size / 1e6:.0f} MB, {o.get('tensor_count', '?')} tensors, "
                       f"{o.get('kv_count', '?')} keys)", o, p)
    if os.path.exists(os.path.join(folder, "ours-gguf-open-gemma.json")):
        p = load(folder, "peers-gguf-open-gemma")
        o = load(folder, "ours-gguf-open-gemma")
        size = p.get("size") or 0
        lines += open_rows(f"Gemma 3 270M Q4_K_M GGUF ({size / 1e6:.0f} MB, {o.get('tensor_count', '?')} tensors, "
                           f"{o.get('kv_count', '?')} keys)", o, p)
    p = load(folder, "peers-st-open-big")
    o = load(folder, "ours-st-open-big")
    size = p.get("size") or 0
    lines += open_rows(f"safetensors F16 ({size / 1e9:.2f} GB, {o.get('tensor_count', '?')} tensors)", o, p)
    lines.append("")
    lines.append("(c) full dequantizing pass over every tensor to float32, GB/s of tensor bytes per core; "
                 "ratio = ours / contender (>1: ours faster)")
    for tag, title in (("smollm", "SmolLM2-135M-Instruct Q4_1 (Q4_1, Q8_0, F32)"),
                       ("gemma", "Gemma 3 270M Q4_K_M (Q8_0, Q5_0, Q4_K, Q6_K, F32)")):
        if os.path.exists(os.path.join(folder, f"ours-dequant-{tag}.json")):
            lines += dequant_rows(title, load(folder, f"ours-dequant-{tag}"), load(folder, f"peers-dequant-{tag}"))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
