#!/usr/bin/env python3
"""Writes tests/data/fixture.safetensors the way the reference `safetensors` library lays a file out, using only
json + struct (no numpy, no safetensors package), so the C++ reader is tested against the format, not against our
own writer. Run by hand; the output is committed. `--check FILE` reads any safetensors file with the same
independent code and prints its tensors (used to cross-check files written by prism).

Layout of the reference implementation (safetensors/src/tensor.rs `prepare` + `serialize`):
  - 8-byte little-endian u64 N, then N bytes of compact JSON, padded with spaces so that N % 8 == 0;
  - "__metadata__" first (a str -> str map), then the tensors in data order;
  - data order: dtype descending by alignment, then name ascending; offsets relative to the byte after the header,
    contiguous from 0.
Tensor contents are simple formulas, restated in tests/test_data_safetensors.cpp.
"""
import json
import struct
import sys

SIZES = {"F64": 8, "I64": 8, "F32": 4, "I32": 4, "U8": 1}
PACK = {"F64": "<d", "I64": "<q", "F32": "<f", "I32": "<i", "U8": "<B"}


def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def fixture_tensors():
    """name -> (dtype, shape, values)."""
    t = {}
    t["weight"] = ("F32", [2, 3], [0.5 * i - 1.0 for i in range(6)])
    t["bias"] = ("F32", [3], [0.25, -0.125, 3.0])
    t["step"] = ("I64", [], [2 ** 40 + 7])
    t["index"] = ("I64", [4], [-3, 0, 5, 2 ** 33])
    t["labels"] = ("I32", [5], [4, 3, 2, 1, -1])
    t["double"] = ("F64", [2], [1.0 / 3.0, -2.5e-300])
    t["mask"] = ("U8", [2, 2], [0, 1, 254, 255])
    t["empty"] = ("F32", [0, 4], [])
    return t


def write(path, tensors, metadata):
    order = sorted(tensors, key=lambda n: (-SIZES[tensors[n][0]], n))
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    data = b""
    for name in order:
        dtype, shape, values = tensors[name]
        assert len(values) == numel(shape)
        blob = b"".join(struct.pack(PACK[dtype], v) for v in values)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(blob)]}
        data += blob
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        f.write(data)


def check(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    data = raw[8 + n:]
    print("header bytes:", n, "(multiple of 8)" if n % 8 == 0 else "(NOT a multiple of 8)")
    print("metadata:", header.pop("__metadata__", {}))
    end = 0
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"]):
        b, e = info["data_offsets"]
        assert b == end, f"{name}: gap or overlap at {b} (expected {end})"
        size = SIZES[info["dtype"]]
        assert e - b == numel(info["shape"]) * size, f"{name}: size mismatch"
        assert (8 + n + b) % size == 0, f"{name}: misaligned"
        vals = [struct.unpack_from(PACK[info["dtype"]], data, b + k * size)[0] for k in range(numel(info["shape"]))]
        print(f"{name}: {info['dtype']} {info['shape']} {vals[:8]}{' ...' if len(vals) > 8 else ''}")
        end = e
    assert end == len(data), "data section length does not match the offsets"


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        check(sys.argv[2])
    else:
        out = sys.argv[1] if len(sys.argv) > 1 else "tests/data/fixture.safetensors"
        write(out, fixture_tensors(), {"format": "pt", "note": "prism fixture", "iteration": "12"})
        print("wrote", out)
