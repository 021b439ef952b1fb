"""Binary arrays: large int32 inputs travel as raw little-endian files, referenced from JSON.

An array reference is a JSON object {"dtype": "int32", "shape": [...], "path": str, "offset": int,
"encoding": "raw" | "zlib", "nbytes": int}. `path` is absolute or relative to the job's base
directory; `nbytes` is the stored size (compressed size for zlib).
"""

import array
import os
import sys
import zlib

DTYPES = {"int32": ("i", 4)}


class ArrayError(ValueError):
    pass


def is_array_ref(v):
    return isinstance(v, dict) and "path" in v and "shape" in v and "dtype" in v


def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def validate_ref(ref, where):
    if ref.get("dtype") not in DTYPES:
        raise ArrayError(f"{where}: unsupported dtype {ref.get('dtype')!r} (expected int32)")
    shape = ref.get("shape")
    if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
        raise ArrayError(f"{where}: shape must be a list of non-negative integers")
    if not isinstance(ref.get("path"), str) or not ref["path"]:
        raise ArrayError(f"{where}: path must be a non-empty string")
    off = ref.get("offset", 0)
    if not isinstance(off, int) or isinstance(off, bool) or off < 0:
        raise ArrayError(f"{where}: offset must be a non-negative integer")
    enc = ref.get("encoding", "raw")
    if enc not in ("raw", "zlib"):
        raise ArrayError(f"{where}: unknown encoding {enc!r}")
    nbytes = ref.get("nbytes", numel(shape) * DTYPES[ref["dtype"]][1])
    if not isinstance(nbytes, int) or nbytes < 0:
        raise ArrayError(f"{where}: nbytes must be a non-negative integer")
    if enc == "raw" and nbytes != numel(shape) * DTYPES[ref["dtype"]][1]:
        raise ArrayError(f"{where}: nbytes {nbytes} does not match shape {shape}")


def resolve(ref, base_dir):
    p = ref["path"]
    return p if os.path.isabs(p) else os.path.join(base_dir or ".", p)


def read_bytes(ref, base_dir):
    """The array's raw little-endian bytes (decompressed)."""
    path = resolve(ref, base_dir)
    itemsize = DTYPES[ref["dtype"]][1]
    want = numel(ref["shape"]) * itemsize
    enc = ref.get("encoding", "raw")
    nbytes = ref.get("nbytes", want)
    try:
        with open(path, "rb") as f:
            f.seek(ref.get("offset", 0))
            data = f.read(nbytes)
    except OSError as e:
        raise ArrayError(f"cannot read array file {path}: {e.strerror}") from None
    if len(data) != nbytes:
        raise ArrayError(f"array file {path} is truncated: wanted {nbytes} bytes at offset {ref.get('offset', 0)}, got {len(data)}")
    if enc == "zlib":
        data = zlib.decompress(data)
    if len(data) != want:
        raise ArrayError(f"array {path}: {len(data)} bytes for shape {ref['shape']}")
    return data


def load_list(ref, base_dir):
    """Pure-python load: a flat array.array('i') (row-major)."""
    a = array.array(DTYPES[ref["dtype"]][0])
    a.frombytes(read_bytes(ref, base_dir))
    if sys.byteorder == "big":
        a.byteswap()
    return a


def load_torch(ref, base_dir, device):
    import torch

    data = bytearray(read_bytes(ref, base_dir))
    if sys.byteorder == "big":  # pragma: no cover
        a = array.array("i")
        a.frombytes(bytes(data))
        a.byteswap()
        data = bytearray(a.tobytes())
    shape = ref["shape"]
    t = torch.frombuffer(data, dtype=torch.int32) if len(data) else torch.empty(0, dtype=torch.int32)
    return t.reshape(shape).to(device)


def write_array(path, values, shape=None, base_dir=None):
    """Appends int32 values to a file and returns their reference (tests and tools)."""
    a = array.array("i", values)
    if sys.byteorder == "big":  # pragma: no cover
        a.byteswap()
    data = a.tobytes()
    with open(path, "ab") as f:
        off = f.tell()
        f.write(data)
    ref_path = os.path.relpath(path, base_dir) if base_dir else path
    return {"dtype": "int32", "shape": list(shape) if shape is not None else [len(values)], "path": ref_path,
            "offset": off, "encoding": "raw", "nbytes": len(data)}
