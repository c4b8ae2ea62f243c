#!/usr/bin/env python3
"""Writes the container fixtures (pickles, torch-style zips, .npy/.npz, hostile zips) and expected.json.

Run from anywhere: python3 Tests/Fixtures/containers/make_fixtures.py
Needs numpy. Never unpickles anything it did not create itself (the malicious pickles are written
opcode by opcode and never loaded). Output is deterministic (fixed zip timestamps).
"""
import collections, datetime, fractions, io, json, os, pickle, pickletools, struct, zipfile, zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
EXPECTED = {"pickles": {}, "zips": {}, "npy": {}, "sniff": {}}
DATE = (2024, 1, 1, 0, 0, 0)


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


def ops(data):
    """pickletools' view: (offset, opcode name) of every opcode of the first pickle."""
    return [[pos, op.name] for op, arg, pos in pickletools.genops(data)]


class Recorder(pickle.Unpickler):
    """A real unpickler that records every find_class call (used only on our own benign pickles)."""
    def __init__(self, data):
        super().__init__(io.BytesIO(data))
        self.found = []

    def find_class(self, module, name):
        self.found.append([module, name])
        return super().find_class(module, name)


def oracle_globals(data):
    """(module, name, offset, opcode) of each global, names from CPython's unpickler, offsets from pickletools."""
    r = Recorder(data)
    r.load()
    positions = [[pos, op.name] for op, arg, pos in pickletools.genops(data) if op.name in ("GLOBAL", "STACK_GLOBAL", "INST")]
    assert len(positions) == len(r.found), (positions, r.found)
    return [[m, n, p, o] for (m, n), (p, o) in zip(r.found, positions)]


def add_pickle(name, data, globals_, calls=None, sniff="pickle"):
    write(name, data)
    EXPECTED["pickles"][name] = {"ops": ops(data), "globals": globals_, "calls": calls, "length": len(data)}
    EXPECTED["sniff"][name] = sniff


# --- Benign pickles from CPython, protocols 0-5 ----------------------------------------------------
sample = {
    "ints": [0, 1, -1, 255, 65535, 2**31 - 1, -2**31, 2**63 - 1, 2**64, -2**70],
    "floats": [0.5, -1e300, float("inf")],
    "text": ["", "x", "héllo", "a\nb'\"\\", "y" * 300],
    "bytes": [b"", b"\x00\xff", b"z" * 300],
    "tuple": (None, True, False, ()),
    "od": collections.OrderedDict([("k", 1), ("j", [2])]),
    "frac": fractions.Fraction(1, 3),
    "date": datetime.date(2024, 2, 29),
    "set": {1, 2},
    "frozen": frozenset({"f"}),
    "shared": None,
}
shared = ["shared-list"]
sample["shared"] = [shared, shared]  # memo GET
import argparse
rec = []
rec.append((rec,))                     # recursive list/tuple: POP / POP_MARK after a memo hit
sample["recursive"] = rec
rect = ([],)
rect[0].append(rect)                   # a tuple inside itself: POP_MARK (protocol 1+) / POPs (protocol 0)
sample["rectuple"] = rect
sample["bytearray"] = bytearray(b"ba")  # BYTEARRAY8 in protocol 5
sample["namespace"] = argparse.Namespace(a=1)  # NEWOBJ + BUILD (copyreg.__newobj__ below protocol 2)
sample["long4"] = 2 ** 4000              # LONG4
for proto in range(0, 6):
    data = pickle.dumps(sample, protocol=proto)
    add_pickle(f"pickle_proto{proto}.pkl", data, oracle_globals(data))

# --- Malicious pickles, hand-written opcodes (never loaded) ---------------------------------------
# protocol 0: GLOBAL os system, MARK, STRING, TUPLE, REDUCE, STOP
p = b"cos\nsystem\n(S'echo pwned'\ntR."
add_pickle("malicious_os_system_p0.pkl", p, [["os", "system", 0, "GLOBAL"]],
           calls=[[p.index(b"R"), "REDUCE", "os.system"]])

# protocol 4: STACK_GLOBAL from SHORT_BINUNICODE + MEMOIZE, args via TUPLE1
body = (b"\x8c\x02os\x94" + b"\x8c\x06system\x94" + b"\x93\x94" + b"\x8c\x0aecho pwned\x94" + b"\x85\x94" + b"R\x94" + b".")
p = b"\x80\x04\x95" + struct.pack("<Q", len(body)) + body
add_pickle("malicious_os_system_p4.pkl", p, [["os", "system", p.index(b"\x93"), "STACK_GLOBAL"]],
           calls=[[p.index(b"R\x94."), "REDUCE", "os.system"]])

# protocol 4 through the memo: strings memoized, popped, fetched back with BINGET before STACK_GLOBAL
p = (b"\x80\x04" + b"\x8c\x02os\x94" + b"0" + b"\x8c\x06system\x94" + b"0" + b"h\x00h\x01\x93"
     + b"X\x02\x00\x00\x00id\x85R.")
add_pickle("malicious_memo_stack_global.pkl", p, [["os", "system", p.index(b"\x93"), "STACK_GLOBAL"]],
           calls=[[p.index(b"R."), "REDUCE", "os.system"]])

# escapes: STRING with \x escapes and UNICODE with \u escapes spell "os" / "system"
p = b"\x80\x04S'o\\x73'\nVsys\\u0074em\n\x93S'id'\n\x85R."
add_pickle("malicious_escaped_names.pkl", p, [["os", "system", p.index(b"\x93"), "STACK_GLOBAL"]],
           calls=[[p.index(b"R."), "REDUCE", "os.system"]])

# builtins.getattr chain: getattr(__import__('os'), 'system')('id') via INST and nested REDUCE
p = b"c__builtin__\n__import__\n(S'os'\ntR"  # __import__('os') as a call result
p = b"cbuiltins\ngetattr\n(" + p + b"S'system'\ntR(S'id'\ntR."
g = [["builtins", "getattr", 0, "GLOBAL"], ["__builtin__", "__import__", p.index(b"c__builtin__"), "GLOBAL"]]
reduces = [i for i in range(len(p)) if p[i:i+1] == b"R"]
add_pickle("malicious_getattr_chain.pkl", p, g,
           calls=[[reduces[0], "REDUCE", "__builtin__.__import__"], [reduces[1], "REDUCE", "builtins.getattr"],
                  [reduces[2], "REDUCE", "result"]])

# INST and OBJ (protocol 0/1 call forms)
p = b"(S'id'\nios\nsystem\n." 
add_pickle("malicious_inst.pkl", p, [["os", "system", p.index(b"ios"), "INST"]], calls=[[p.index(b"ios"), "INST", "os.system"]])
p = b"(cos\nsystem\nS'id'\no."
add_pickle("malicious_obj.pkl", p, [["os", "system", 1, "GLOBAL"]], calls=[[p.index(b"o."), "OBJ", "os.system"]])

# --- torch.save-style zip checkpoint, written by hand (no torch needed) ---------------------------
def torch_data_pkl():
    """Protocol 2 pickle of OrderedDict({'weight': _rebuild_tensor_v2(persistent storage, ...)})."""
    out = bytearray(b"\x80\x02")
    out += b"ccollections\nOrderedDict\nq\x00)Rq\x01"             # OrderedDict()
    out += b"X\x06\x00\x00\x00weightq\x02"                           # key
    out += b"ctorch._utils\n_rebuild_tensor_v2\nq\x03"              # callable
    out += b"((X\x07\x00\x00\x00storageq\x04ctorch\nFloatStorage\nq\x05X\x01\x00\x00\x000q\x06X\x03\x00\x00\x00cpuq\x07K\x06tq\x08Q"  # BINPERSID
    out += b"K\x00K\x02K\x03\x86q\tK\x03K\x01\x86q\n\x89ccollections\nOrderedDict\nq\x0b)Rq\x0ctq\rRq\x0e"  # args, REDUCE
    out += b"s}q\x0fX\x08\x00\x00\x00_versionq\x10K\x01sb."      # SETITEM; BUILD with metadata
    return bytes(out)


def torch_zip(name, pkl, method=zipfile.ZIP_STORED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for member, data, m in [("archive/data.pkl", pkl, method), ("archive/byteorder", b"little", zipfile.ZIP_STORED),
                                ("archive/data/0", struct.pack("<6f", *range(6)), zipfile.ZIP_STORED),
                                ("archive/version", b"3\n", zipfile.ZIP_STORED)]:
            info = zipfile.ZipInfo(member, DATE)
            info.compress_type = m
            z.writestr(info, data)
    write(name, buf.getvalue())
    return buf.getvalue()


pkl = torch_data_pkl()
ops(pkl)  # must disassemble with pickletools
torch_zip("torch_checkpoint.pt", pkl)
g = [["collections", "OrderedDict", pkl.index(b"ccollections"), "GLOBAL"],
     ["torch._utils", "_rebuild_tensor_v2", pkl.index(b"ctorch._utils"), "GLOBAL"],
     ["torch", "FloatStorage", pkl.index(b"ctorch\nFloat"), "GLOBAL"],
     ["collections", "OrderedDict", pkl.rindex(b"ccollections"), "GLOBAL"]]
EXPECTED["pickles"]["torch_checkpoint.pt:archive/data.pkl"] = {"ops": ops(pkl), "globals": g, "calls": None, "length": len(pkl)}
EXPECTED["sniff"]["torch_checkpoint.pt"] = "pytorchZip"
mal = open(os.path.join(HERE, "malicious_os_system_p4.pkl"), "rb").read()
torch_zip("torch_malicious_deflated.pt", mal, zipfile.ZIP_DEFLATED)
EXPECTED["sniff"]["torch_malicious_deflated.pt"] = "pytorchZip"

# legacy (non-zip) torch.save: magic number pickle, protocol pickle, sys_info pickle, then the object
legacy = (pickle.dumps(0x1950a86a20f9469cfc6c, protocol=2) + pickle.dumps(1001, protocol=2)
          + pickle.dumps({"little_endian": True}, protocol=2) + mal)
write("torch_legacy.pt", legacy)
EXPECTED["sniff"]["torch_legacy.pt"] = "pytorchLegacy"
EXPECTED["legacy_pickle_offsets"] = [0, len(pickle.dumps(0x1950a86a20f9469cfc6c, protocol=2)),
                                     len(pickle.dumps(0x1950a86a20f9469cfc6c, protocol=2)) + len(pickle.dumps(1001, protocol=2)),
                                     len(legacy) - len(mal)]

# --- NumPy -----------------------------------------------------------------------------------------
def save_npy(name, arr, version=None, **kw):
    buf = io.BytesIO()
    if version is None:
        np.save(buf, arr, **kw)
    else:
        np.lib.format.write_array(buf, arr, version=version, **kw)
    write(name, buf.getvalue())
    return buf.getvalue()


save_npy("f32_3x4.npy", np.arange(12, dtype="<f4").reshape(3, 4))
EXPECTED["npy"]["f32_3x4.npy"] = {"descr": "<f4", "fortran": False, "shape": [3, 4], "version": 1, "objects": False}
save_npy("fortran_i16.npy", np.asfortranarray(np.arange(6, dtype=">i2").reshape(2, 3)))
EXPECTED["npy"]["fortran_i16.npy"] = {"descr": ">i2", "fortran": True, "shape": [2, 3], "version": 1, "objects": False}
save_npy("scalar_u8_v2.npy", np.array(7, dtype="u1"), version=(2, 0))
EXPECTED["npy"]["scalar_u8_v2.npy"] = {"descr": "|u1", "fortran": False, "shape": [], "version": 2, "objects": False}
save_npy("structured_v3.npy", np.zeros(2, dtype=[("é", "<i4"), ("b", "<f8", (2,))]), version=(3, 0))
EXPECTED["npy"]["structured_v3.npy"] = {"descr": None, "fortran": False, "shape": [2], "version": 3, "objects": False, "item": 20}
save_npy("objects.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
EXPECTED["npy"]["objects.npy"] = {"descr": "|O", "fortran": False, "shape": [2], "version": 1, "objects": True}
for n in EXPECTED["npy"]:
    EXPECTED["sniff"][n] = "numpyNPY"

for name, fn, method in [("arrays.npz", np.savez, 0), ("arrays_compressed.npz", np.savez_compressed, 8)]:
    buf = io.BytesIO()
    fn(buf, weights=np.ones((2, 2), dtype="<f2"), bias=np.zeros(3, dtype="<f8"))
    write(name, buf.getvalue())
    EXPECTED["sniff"][name] = "numpyNPZ"
    EXPECTED["zips"][name] = {"names": ["weights.npy", "bias.npy"], "method": method}

# --- Hostile and odd zips ---------------------------------------------------------------------------
def plain_zip(members, method=zipfile.ZIP_STORED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n, d in members:
            info = zipfile.ZipInfo(n, DATE)
            info.compress_type = method
            z.writestr(info, d)
    return bytearray(buf.getvalue())


def set_sizes(data, member_index, usize=None, csize=None):
    """Patches the declared sizes of one member in both its local header and its central record."""
    cd = data.rindex(b"PK\x05\x06")
    cd_off = struct.unpack_from("<I", data, cd + 16)[0]
    pos = cd_off
    for i in range(member_index + 1):
        nlen, elen, clen = struct.unpack_from("<HHH", data, pos + 28)
        if i == member_index:
            lho = struct.unpack_from("<I", data, pos + 42)[0]
            for base, off in ((pos, 20), (lho, 18)):
                if csize is not None: struct.pack_into("<I", data, base + off, csize)
                if usize is not None: struct.pack_into("<I", data, base + off + 4, usize)
        pos += 46 + nlen + elen + clen
    return data


zeros = bytes(10 << 20)  # 10 MiB of zeros deflate to ~10 KB (ratio ~1000:1)
bomb = plain_zip([("zeros.bin", zeros)], zipfile.ZIP_DEFLATED)
write("bomb_honest.zip", bytes(bomb))                                 # declared 10 MiB, true
write("bomb_declared_huge.zip", bytes(set_sizes(bytearray(bomb), 0, usize=0xFFFFFFFE)))
write("bomb_lying_small.zip", bytes(set_sizes(bytearray(bomb), 0, usize=1000)))
EXPECTED["zips"]["bomb_honest.zip"] = {"names": ["zeros.bin"], "method": 8, "usize": 10 << 20}
for n in ("bomb_honest.zip", "bomb_declared_huge.zip", "bomb_lying_small.zip"):
    EXPECTED["sniff"][n] = "zip"

# overlapping members: A's stored data is B's whole local header + data (extracting A yields B's bytes)
b_data = b"payload-of-b"
b_name = b"b.txt"
lh_b = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0x21, zlib.crc32(b_data), len(b_data), len(b_data), len(b_name), 0) + b_name
a_data = lh_b + b_data
a_name = b"a.txt"
lh_a = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0x21, zlib.crc32(a_data), len(a_data), len(a_data), len(a_name), 0) + a_name
body = lh_a + a_data
def central(name, data, off):
    return struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 0, 0, 0x21, zlib.crc32(data), len(data), len(data),
                       len(name), 0, 0, 0, 0, 0, off) + name
cd = central(a_name, a_data, 0) + central(b_name, b_data, len(lh_a))
eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 2, 2, len(cd), len(body), 0)
write("overlapping.zip", body + cd + eocd)
EXPECTED["sniff"]["overlapping.zip"] = "zip"

# names: traversal, absolute, NUL (patched in), duplicate
z = plain_zip([("../evil.txt", b"1"), ("/etc/passwd", b"2"), ("aXb", b"3"), ("dup", b"4"), ("dup", b"5")])
i = z.find(b"aXb")
while i >= 0:
    z[i + 1] = 0
    i = z.find(b"aXb")
write("bad_names.zip", bytes(z))
EXPECTED["sniff"]["bad_names.zip"] = "zip"

# polyglot: bytes before the archive (offsets not adjusted) and bytes between directory and end record
inner = plain_zip([("x.txt", b"hello")])
write("prefixed.zip", b"JUNKJUNKJUNK" + bytes(inner))  # Python's zipfile reads it by shifting offsets
e = inner.rindex(b"PK\x05\x06")
write("hidden_after_cd.zip", bytes(inner[:e]) + b"HIDDEN" + bytes(inner[e:e + 16]) + struct.pack("<IH", struct.unpack_from("<I", inner, e + 16)[0], 0))
EXPECTED["sniff"]["prefixed.zip"] = "unknown-or-text-with-zip"

# unknown compression method (bzip2 = 12) patched into a stored member, and an encrypted flag
z = plain_zip([("m.bin", b"abc")])
cdp = z.rindex(b"PK\x01\x02")
struct.pack_into("<H", z, 8, 12)
struct.pack_into("<H", z, cdp + 10, 12)
write("method_bzip2.zip", bytes(z))
z = plain_zip([("e.bin", b"abc")])
cdp = z.rindex(b"PK\x01\x02")
struct.pack_into("<H", z, 6, 1)
struct.pack_into("<H", z, cdp + 8, 1)
write("encrypted.zip", bytes(z))
write("empty.zip", bytes(plain_zip([])))
EXPECTED["sniff"]["empty.zip"] = "zip"

# ZIP64 built by hand: central record with saturated sizes/offset + ZIP64 extra, ZIP64 end record + locator
data64 = b"zip64-member"
name64 = b"big.bin"
lh = struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0x21, zlib.crc32(data64), 0xFFFFFFFF, 0xFFFFFFFF, len(name64), 20)
lh += name64 + struct.pack("<HHQQ", 1, 16, len(data64), len(data64))
body = lh + data64
extra = struct.pack("<HHQQQ", 1, 24, len(data64), len(data64), 0)
cd = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0x21, zlib.crc32(data64), 0xFFFFFFFF, 0xFFFFFFFF,
                 len(name64), len(extra), 0, 0, 0, 0, 0xFFFFFFFF) + name64 + extra
rec64 = struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, 1, 1, len(cd), len(body))
loc = struct.pack("<IIQI", 0x07064B50, 0, len(body) + len(cd), 1)
eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
write("zip64.zip", body + cd + rec64 + loc + eocd)
EXPECTED["sniff"]["zip64.zip"] = "zip"

# data descriptors (flag bit 3): zipfile writing to an unseekable stream, as streaming writers and torch do
class Unseekable(io.RawIOBase):
    def __init__(self):
        self.buf = bytearray()
    def writable(self):
        return True
    def write(self, b):
        self.buf += b
        return len(b)
sink = Unseekable()
with zipfile.ZipFile(sink, "w") as zf:
    for n, d, m in [("s.txt", b"stored with descriptor", zipfile.ZIP_STORED), ("d.txt", b"deflated " * 50, zipfile.ZIP_DEFLATED)]:
        info = zipfile.ZipInfo(n, DATE)
        info.compress_type = m
        with zf.open(info, "w") as f:
            f.write(d)
write("data_descriptors.zip", bytes(sink.buf))
EXPECTED["sniff"]["data_descriptors.zip"] = "zip"

# a real torch.save file (written when torch is importable; otherwise the committed bytes are reused)
real = os.path.join(HERE, "torch_real_save.pt")
try:
    import torch
    buf = io.BytesIO()
    torch.save(collections.OrderedDict(w=torch.arange(6, dtype=torch.float32).reshape(2, 3), b=torch.zeros(2, dtype=torch.float16)), buf)
    if not os.path.exists(real):
        write("torch_real_save.pt", buf.getvalue())
except ImportError:
    pass
if os.path.exists(real):
    with zipfile.ZipFile(real) as z:
        name = [n for n in z.namelist() if n.endswith("/data.pkl")][0]
        pkl = z.read(name)
    EXPECTED["pickles"]["torch_real_save.pt:" + name] = {
        "ops": ops(pkl), "length": len(pkl), "calls": None,
        "globals": [[*a.split(" ", 1), p, op.name] for op, a, p in pickletools.genops(pkl) if op.name == "GLOBAL"]}
    EXPECTED["sniff"]["torch_real_save.pt"] = "pytorchZip"
    EXPECTED["torch_real_member"] = name

# --- Other kinds for the sniffer ---------------------------------------------------------------------
header = json.dumps({"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
header += b" " * (-len(header) % 8)
write("tiny.safetensors", struct.pack("<Q", len(header)) + header + struct.pack("<2f", 1, 2))
EXPECTED["sniff"]["tiny.safetensors"] = "safetensors"
import gzip as _gzip
write("tiny.gz", _gzip.compress(b"hello", mtime=0))
EXPECTED["sniff"]["tiny.gz"] = "gzip"


def pb_varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def pb_len(field, payload):
    return pb_varint(field << 3 | 2) + pb_varint(len(payload)) + payload


node = pb_len(1, b"x") + pb_len(2, b"y") + pb_len(4, b"Relu")
graph = pb_len(1, node) + pb_len(2, b"g")
opset = pb_len(1, b"") + pb_varint(2 << 3) + pb_varint(17)
onnx = pb_varint(1 << 3) + pb_varint(8) + pb_len(2, b"fixture") + pb_len(7, graph) + pb_len(8, opset)
write("tiny.onnx", onnx)
EXPECTED["sniff"]["tiny.onnx"] = "onnx"
write("config.json", b'{"model_type": "llama", "vocab_size": 32000}\n')
EXPECTED["sniff"]["config.json"] = "json"
write("README.txt", "Plain text, with ünïcode.\n".encode())
EXPECTED["sniff"]["README.txt"] = "text"

with open(os.path.join(HERE, "expected.json"), "w") as f:
    json.dump(EXPECTED, f, indent=1, sort_keys=True)
print("wrote", len(os.listdir(HERE)), "files")
