#!/usr/bin/env python3
"""Writes the malformed-file corpus: small GGUF and safetensors files, each breaking one rule.

Every file is listed in EXPECTED.json with the rule our parser must report and the absolute byte
offset of the violation. Run: python3 samples/malformed/make_malformed.py (no dependencies).
"""
import json, os, struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "files")
expected = {}

def s64(b: bytes) -> bytes: return struct.pack("<Q", len(b)) + b
def gstr(t: str) -> bytes: return s64(t.encode())

class G:
    """Builds a GGUF v3 file field by field, remembering offsets of interest."""
    def __init__(self, version=3):
        self.b = bytearray(b"GGUF" + struct.pack("<I", version))
        self.kvs = []
        self.tensors = []
    def kv_str(self, k, v): self.kvs.append(gstr(k) + struct.pack("<I", 8) + gstr(v))
    def kv_u32(self, k, v): self.kvs.append(gstr(k) + struct.pack("<I", 4) + struct.pack("<I", v))
    def kv_raw(self, raw): self.kvs.append(raw)
    def tensor(self, name, dims, ttype, offset):
        self.tensors.append(gstr(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
                            + struct.pack("<I", ttype) + struct.pack("<Q", offset))
    def build(self, data=b"", align=32, n_tensors=None, n_kv=None):
        out = bytearray(self.b)
        out += struct.pack("<Q", len(self.tensors) if n_tensors is None else n_tensors)
        out += struct.pack("<Q", len(self.kvs) if n_kv is None else n_kv)
        offsets = {"kv": len(out)}
        for kv in self.kvs: out += kv
        offsets["tensors"] = len(out)
        for t in self.tensors: out += t
        offsets["header_end"] = len(out)
        if self.tensors:
            out += b"\0" * ((-len(out)) % align)
        offsets["data"] = len(out)
        out += data
        return bytes(out), offsets

def valid_gguf():
    g = G()
    g.kv_str("general.architecture", "llama")
    g.kv_u32("general.alignment", 32)
    g.tensor("a.weight", [8, 2], 0, 0)      # 64 bytes F32
    g.tensor("b.weight", [32], 8, 64)       # 34 bytes Q8_0 -> padded to 96
    data = bytes(range(64)) + b"\x00\x3c" + bytes(32) + b"\0" * 30
    return g, data

def put(name, data, rule, offset, note):
    with open(os.path.join(OUT, name), "wb") as f: f.write(data)
    expected[name] = {"rule": rule, "offset": offset, "note": note}

def main():
    os.makedirs(OUT, exist_ok=True)
    g, data = valid_gguf()
    ok, offs = g.build(data)
    with open(os.path.join(HERE, "valid-small.gguf"), "wb") as f: f.write(ok)

    # Truncations at structural boundaries.
    put("gguf-truncated-magic.gguf", ok[:3], "gguf.truncated", 0, "3 bytes: magic cut")
    put("gguf-truncated-counts.gguf", ok[:12], "gguf.truncated", 8, "tensor count cut")
    gk = G(); gk.kv_str("general.architecture", "llama"); gk.kv_u32("general.alignment", 32)
    okk, ok_offs = gk.build()
    put("gguf-truncated-kv.gguf", okk[:ok_offs["kv"] + 30], "gguf.truncated", ok_offs["kv"] + 28, "first value type cut")
    put("gguf-truncated-kv-count.gguf", ok[:offs["kv"] + 10], "gguf.length-too-large", 16, "2 keys cannot fit in 10 bytes")
    put("gguf-truncated-tensorinfo.gguf", ok[:offs["tensors"] + 50], "gguf.truncated", offs["tensors"] + 48, "second tensor info cut")
    put("gguf-truncated-data.gguf", ok[:offs["data"] + 70], "gguf.tensor-out-of-bounds", offs["tensors"] + 8 + 8 + 4 + 8 + 4 + 8 + 0 if False else None, "data section cut inside the second tensor")
    put("gguf-bad-magic.gguf", b"GGML" + ok[4:], "gguf.bad-magic", 0, "wrong magic")
    put("gguf-version-4.gguf", ok[:4] + struct.pack("<I", 4) + ok[8:], "gguf.unsupported-version", 4, "version 4")
    put("gguf-version-0.gguf", ok[:4] + struct.pack("<I", 0) + ok[8:], "gguf.unsupported-version", 4, "version 0")

    # Huge counts.
    put("gguf-kv-count-2e40.gguf", ok[:8] + struct.pack("<Q", 2) + struct.pack("<Q", 1 << 40) + ok[24:],
        "gguf.length-too-large", 16, "kv count 2^40")
    put("gguf-tensor-count-2e40.gguf", ok[:8] + struct.pack("<Q", 1 << 40) + ok[16:],
        "gguf.length-too-large", 8, "tensor count 2^40")
    put("gguf-tensor-count-max.gguf", ok[:8] + struct.pack("<Q", (1 << 64) - 1) + ok[16:],
        "gguf.length-too-large", 8, "tensor count 2^64-1 (the Databricks wrap)")

    # String length past EOF / 2^64-1.
    g2 = G(); g2.kv_raw(struct.pack("<Q", 1 << 62) + b"general.architecture")
    b2, o2 = g2.build()
    put("gguf-string-length-past-eof.gguf", b2, "gguf.length-too-large", o2["kv"], "key length 2^62")
    g3 = G(); g3.kv_raw(gstr("general.name") + struct.pack("<I", 8) + struct.pack("<Q", (1 << 64) - 1) + b"x")
    b3, o3 = g3.build()
    put("gguf-string-length-max.gguf", b3, "gguf.length-too-large", o3["kv"] + 8 + 12 + 4, "value length 2^64-1")

    # Array bombs.
    g4 = G(); g4.kv_raw(gstr("tokenizer.ggml.tokens") + struct.pack("<I", 9) + struct.pack("<I", 8) + struct.pack("<Q", 1 << 40))
    b4, o4 = g4.build()
    put("gguf-array-count-2e40.gguf", b4, "gguf.length-too-large", o4["kv"] + 8 + 21 + 4 + 4, "string array of 2^40")
    nest = gstr("bomb") + struct.pack("<I", 9)
    for _ in range(64): nest += struct.pack("<I", 9) + struct.pack("<Q", 1)
    nest += struct.pack("<I", 0) + struct.pack("<Q", 0)
    g5 = G(); g5.kv_raw(nest)
    b5, o5 = g5.build()
    put("gguf-nested-array-depth-bomb.gguf", b5, "gguf.array-nesting-too-deep", o5["kv"] + 8 + 4 + 4 + 12 * 4, "arrays nested 64 deep")

    # Bad value types, invalid UTF-8, empty and duplicate keys.
    g6 = G(); g6.kv_raw(gstr("general.name") + struct.pack("<I", 13) + b"\0" * 8)
    b6, o6 = g6.build()
    put("gguf-unknown-value-type.gguf", b6, "gguf.unknown-value-type", o6["kv"] + 8 + 12, "value type 13")
    g7 = G(); g7.kv_raw(s64(b"general.\xff\xfename") + struct.pack("<I", 4) + struct.pack("<I", 1))
    b7, o7 = g7.build()
    put("gguf-invalid-utf8-key.gguf", b7, "gguf.invalid-utf8", o7["kv"] + 8, "key with bytes ff fe")
    g8 = G(); g8.kv_raw(s64(b"") + struct.pack("<I", 4) + struct.pack("<I", 1))
    b8, o8 = g8.build()
    put("gguf-empty-key.gguf", b8, "gguf.empty-key", o8["kv"], "empty key")
    g9 = G(); g9.kv_str("general.name", "a"); g9.kv_str("general.name", "b")
    b9, o9 = g9.build()
    put("gguf-duplicate-key.gguf", b9, "gguf.duplicate-key", o9["kv"] + len(gstr("general.name")) + 4 + len(gstr("a")), "key twice")
    g10 = G(); g10.kv_raw(gstr("general.alignment") + struct.pack("<I", 4) + struct.pack("<I", 24))
    b10, o10 = g10.build()
    put("gguf-alignment-not-pow2.gguf", b10, "gguf.invalid-alignment", o10["kv"] + len(gstr("general.alignment")) + 4, "alignment 24")
    g11 = G(); g11.kv_raw(gstr("general.alignment") + struct.pack("<I", 10) + struct.pack("<Q", 32))
    b11, o11 = g11.build()
    put("gguf-alignment-u64.gguf", b11, "gguf.invalid-alignment", o11["kv"] + len(gstr("general.alignment")) + 4, "alignment as UINT64")

    # Tensor-info violations.
    def one_tensor(name, dims, ttype, offset, data, note, rule, field_offset):
        g = G(); g.kv_str("general.architecture", "llama"); g.tensor(name, dims, ttype, offset)
        b, o = g.build(data)
        return b, o
    b, o = one_tensor("t", [4, 2], 0, 0, bytes(32), "", "", 0)
    t0 = o["tensors"]
    nd_off = t0 + len(gstr("t"))
    b_dims = bytearray(b); struct.pack_into("<I", b_dims, nd_off, 9)
    put("gguf-too-many-dims.gguf", bytes(b_dims), "gguf.too-many-dimensions", nd_off, "9 dimensions")
    b_neg = bytearray(b); struct.pack_into("<Q", b_neg, nd_off + 4, (1 << 64) - 1)
    put("gguf-negative-dim.gguf", bytes(b_neg), "gguf.invalid-dimension", nd_off + 4, "dim -1 as int64")
    b_ovf = bytearray(b); struct.pack_into("<Q", b_ovf, nd_off + 4, 1 << 40); struct.pack_into("<Q", b_ovf, nd_off + 12, 1 << 40)
    put("gguf-shape-overflow.gguf", bytes(b_ovf), "gguf.size-overflow", nd_off, "2^40 x 2^40 elements")
    type_off = nd_off + 4 + 16
    b_ty = bytearray(b); struct.pack_into("<I", b_ty, type_off, 99)
    put("gguf-unknown-tensor-type.gguf", bytes(b_ty), "gguf.unknown-tensor-type", type_off, "type id 99")
    b_rm = bytearray(b); struct.pack_into("<I", b_rm, type_off, 4)
    put("gguf-removed-tensor-type.gguf", bytes(b_rm), "gguf.removed-tensor-type", type_off, "type id 4 (Q4_2)")
    b_pb = bytearray(b); struct.pack_into("<I", b_pb, type_off, 8)
    put("gguf-partial-block.gguf", bytes(b_pb), "gguf.partial-block", nd_off, "Q8_0 with row length 4")
    b_mis = bytearray(b); struct.pack_into("<Q", b_mis, type_off + 4, 4)
    put("gguf-misaligned-tensor.gguf", bytes(b_mis), "gguf.misaligned-tensor", t0, "offset 4 with alignment 32")
    b_oob = bytearray(b); struct.pack_into("<Q", b_oob, type_off + 4, 1 << 20)
    put("gguf-offset-past-eof.gguf", bytes(b_oob), "gguf.tensor-out-of-bounds", t0, "offset 1 MiB in a small file")
    b_wrap = bytearray(b); struct.pack_into("<Q", b_wrap, type_off + 4, (1 << 64) - 32)
    put("gguf-offset-wraps.gguf", bytes(b_wrap), "gguf.tensor-out-of-bounds", t0, "offset 2^64-32 (wraps when added)")

    g12 = G(); g12.tensor("x", [8], 0, 0); g12.tensor("y", [8], 0, 0)
    b12, o12 = g12.build(bytes(32))
    put("gguf-overlapping-tensors.gguf", b12, "gguf.overlapping-tensors", o12["tensors"] + len(gstr("x")) + 4 + 8 + 4 + 8, "two tensors at offset 0")
    g13 = G(); g13.tensor("x", [8], 0, 0); g13.tensor("x", [8], 0, 32)
    b13, o13 = g13.build(bytes(64))
    put("gguf-duplicate-tensor-name.gguf", b13, "gguf.duplicate-tensor-name", o13["tensors"] + len(gstr("x")) + 4 + 8 + 4 + 8, "name twice")
    # Names that differ in bytes but are canonically equivalent Unicode: ggml compares bytes (two keys / tensors),
    # a normalising reader sees one. 'K' (U+004B) and the Kelvin sign (U+212A); composed and decomposed e-acute.
    g15 = G(); g15.kv_str("general.K", "a"); g15.kv_str("general.\u212a", "b")
    b15, o15 = g15.build()
    put("gguf-equivalent-keys.gguf", b15, "gguf.equivalent-keys", o15["kv"] + len(g15.kvs[0]), "keys K and Kelvin sign")
    g16 = G(); g16.tensor("w\u00e9", [8], 0, 0); g16.tensor("we\u0301", [8], 0, 32)
    b16, o16 = g16.build(bytes(64))
    put("gguf-equivalent-tensor-names.gguf", b16, "gguf.equivalent-tensor-names", o16["tensors"] + len(g16.tensors[0]), "composed and decomposed e-acute")
    g14 = G(); g14.tensor_raw = None
    g14.tensors.append(s64(b"\xc3\x28") + struct.pack("<I", 1) + struct.pack("<Q", 8) + struct.pack("<I", 0) + struct.pack("<Q", 0))
    b14, o14 = g14.build(bytes(32))
    put("gguf-invalid-utf8-tensor-name.gguf", b14, "gguf.invalid-utf8", o14["tensors"] + 8, "tensor name c3 28")

    # safetensors
    def st(header: bytes, data: bytes, n=None):
        return struct.pack("<Q", len(header) if n is None else n) + header + data
    put("st-too-small.safetensors", b"\x01\x02", "safetensors.too-small", 0, "2 bytes")
    put("st-header-2e63.safetensors", st(b"{}", b"", n=1 << 63), "safetensors.header-too-large", 0, "header length 2^63")
    put("st-header-past-eof.safetensors", st(b"{}", b"", n=1000), "safetensors.header-past-end", 0, "header length 1000 in a 10-byte file")
    put("st-not-object.safetensors", st(b"[1]     ", b""), "safetensors.header-not-object", 8, "header is an array")
    put("st-invalid-json.safetensors", st(b'{"a": }', b""), "safetensors.invalid-json", 8 + 6, "bad JSON")
    put("st-invalid-utf8.safetensors", st(b'{"\xff": 1}', b""), "safetensors.invalid-json", 8 + 2, "invalid UTF-8 in a key")
    h = b'{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'
    put("st-unknown-dtype.safetensors", st(h.replace(b"F32", b"F33"), bytes(8)), "safetensors.unknown-dtype", 9, "dtype F33")
    put("st-size-mismatch.safetensors", st(h.replace(b"[2]", b"[3]"), bytes(8)), "safetensors.size-mismatch", 9, "3 floats in 8 bytes")
    put("st-offset-past-eof.safetensors", st(h.replace(b"[0,8]", b"[0,4096]").replace(b"[2]", b"[1024]"), bytes(8)),
        "safetensors.invalid-offsets", 9, "offsets past the data")
    put("st-trailing-bytes.safetensors", st(h, bytes(16)), "safetensors.data-size-mismatch", 8 + len(h) + 8, "8 bytes no tensor covers")
    h2 = b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}'
    put("st-overlap.safetensors", st(h2, bytes(12)), "safetensors.invalid-offsets", 8 + h2.index(b'"b"'), "b overlaps a")
    h3 = b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}}'
    put("st-hole.safetensors", st(h3, bytes(20)), "safetensors.invalid-offsets", 8 + h3.index(b'"b"'), "4-byte hole (polyglot space)")
    h4 = b'{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}'
    put("st-shape-overflow.safetensors", st(h4, bytes(8)), "safetensors.size-overflow", 9, "shape product 2^64")
    h5 = b'{"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}'
    put("st-negative-shape.safetensors", st(h5, bytes(8)), "safetensors.invalid-entry", 9, "negative dim")
    h6 = b'{"__metadata__":{"a":1}}'
    put("st-metadata-not-string.safetensors", st(h6, b""), "safetensors.invalid-entry", 8 + 17, "metadata value is a number")
    h7 = '{"w\u00e9":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"we\u0301":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}'.encode()
    put("st-equivalent-names.safetensors", st(h7, bytes(8)), "safetensors.equivalent-names", 8 + h7.index('"we\u0301"'.encode()),
        "composed and decomposed e-acute (Python loads two tensors)")
    h8 = '{"__metadata__":{"K":"a","\u212a":"b"}}'.encode()
    put("st-equivalent-metadata-keys.safetensors", st(h8, b""), "safetensors.equivalent-metadata-keys",
        8 + h8.index('"\u212a"'.encode()), "metadata keys K and Kelvin sign (Python keeps two)")
    deep = b"{" + b'"a":[' * 0 + b'"x":' + b"[" * 200 + b"]" * 200 + b"}"
    put("st-depth-bomb.safetensors", st(deep, b""), "safetensors.invalid-json", None, "JSON nested 200 deep")

    with open(os.path.join(HERE, "EXPECTED.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
    print(f"wrote {len(expected)} malformed files")

if __name__ == "__main__":
    main()
