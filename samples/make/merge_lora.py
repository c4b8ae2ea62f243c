#!/usr/bin/env python3
"""Merges a committed LoRA adapter (samples/realistic/<name>/) into the base GGUF and writes
samples/.cache/realistic/<name>.gguf. numpy + gguf only (no torch), so CI can run it in seconds.

    python3 samples/make/merge_lora.py                 # every adapter under samples/realistic/
    python3 samples/make/merge_lora.py r-deployment    # one
    python3 samples/make/merge_lora.py --force ...     # rebuild even if the output exists
    python3 samples/make/merge_lora.py path/to/folder  # an adapter folder elsewhere (experiments): <basename>.gguf

For each targeted tensor (adapter_config.json `gguf_target_tensors`: attn_v, attn_output) the base weight is
de-quantised, W + (alpha / r) * B @ A is added in float32 (GGUF's numpy view is [out, in], the same orientation as
the Hugging Face weight, and these two tensors are not permuted by llama.cpp's converter) and stored as F16. Every
other tensor is copied byte for byte in its stored type (Q4_1 / Q8_0 / F32), and every metadata key is copied
(general.name gets the adapter name). The adapter's sha256 and the base's sha256 are checked against the manifest.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = os.path.dirname(HERE)
COMMITTED = os.path.join(SAMPLES, "realistic")
OUT = os.path.join(SAMPLES, ".cache", "realistic")
BASE = os.path.join(SAMPLES, ".cache", "real", "SmolLM2-135M-Instruct.Q4_1.gguf")
HF_TO_GGUF = {"v_proj": "attn_v", "o_proj": "attn_output"}


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def adapter_deltas(folder):
    """{gguf tensor name: float32 delta [out, in]} from a PEFT-style adapter folder."""
    from safetensors.numpy import load_file
    cfg = json.load(open(os.path.join(folder, "adapter_config.json")))
    scale = cfg["lora_alpha"] / cfg["r"]
    w = load_file(os.path.join(folder, "adapter_model.safetensors"))
    deltas = {}
    for key in sorted(w):
        if not key.endswith(".lora_A.weight"):
            continue
        # base_model.model.model.layers.<i>.self_attn.<module>.lora_A.weight
        parts = key.split(".")
        layer, module = int(parts[4]), parts[6]
        if module not in HF_TO_GGUF:
            sys.exit(f"{key}: module {module} is not supported by this merge (only {sorted(HF_TO_GGUF)})")
        a = w[key].astype(np.float32)
        b = w[key.replace("lora_A", "lora_B")].astype(np.float32)
        if a.shape[0] != cfg["r"] or b.shape[1] != cfg["r"]:
            sys.exit(f"{key}: rank {a.shape[0]} / {b.shape[1]} != r {cfg['r']}")
        deltas[f"blk.{layer}.{HF_TO_GGUF[module]}.weight"] = scale * (b @ a)
    return deltas


def field_value(field):
    import gguf
    v = field.contents()
    vtype = field.types[0]
    sub = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
    return v, vtype, sub


def merge(name, force=False):
    import gguf
    folder = name if os.path.isdir(name) else os.path.join(COMMITTED, name)
    name = os.path.basename(os.path.normpath(folder))
    manifest = json.load(open(os.path.join(folder, "MANIFEST.json")))
    adapter = os.path.join(folder, "adapter_model.safetensors")
    if sha256(adapter) != manifest["adapter_sha256"]:
        sys.exit(f"{adapter}: sha256 differs from its MANIFEST.json")
    out = os.path.join(OUT, f"{name}.gguf")
    stamp = out + ".adapter-sha256"
    if not force and os.path.exists(out) and os.path.exists(stamp) and \
            open(stamp).read().strip() == manifest["adapter_sha256"]:
        print(f"ok       {out}")
        return out
    if sha256(BASE) != manifest["base_sha256"]:
        sys.exit(f"{BASE}: sha256 differs from the base the adapter was trained on")
    deltas = adapter_deltas(folder)
    reader = gguf.GGUFReader(BASE)
    os.makedirs(OUT, exist_ok=True)
    tmp = out + ".partial"
    arch = reader.fields["general.architecture"].contents()
    writer = gguf.GGUFWriter(tmp, arch)
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        v, vtype, sub = field_value(field)
        if key == "general.name":
            v = f"SmolLM2 135M Instruct + LoRA {name}"
        writer.add_key_value(key, v, vtype, sub)
    merged = 0
    for t in reader.tensors:
        shape = [int(x) for x in reversed(t.shape.tolist())]  # numpy order [rows, cols]
        if t.name in deltas:
            w = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32).reshape(shape)
            d = deltas.pop(t.name)
            if d.shape != w.shape:
                sys.exit(f"{t.name}: adapter delta {d.shape} != base {w.shape}")
            writer.add_tensor(t.name, (w + d).astype(np.float16))
            merged += 1
        else:
            writer.add_tensor(t.name, t.data, raw_shape=t.data.shape, raw_dtype=t.tensor_type)
    if deltas:
        sys.exit(f"adapter tensors not in the base: {sorted(deltas)}")
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    os.replace(tmp, out)
    with open(stamp, "w") as f:
        f.write(manifest["adapter_sha256"] + "\n")
    print(f"merged   {out} ({merged} tensors as F16)")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("names", nargs="*")
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args()
    names = args.names or sorted(d for d in os.listdir(COMMITTED)
                                 if os.path.exists(os.path.join(COMMITTED, d, "MANIFEST.json")))
    for n in names:
        merge(n, args.force)


if __name__ == "__main__":
    main()
