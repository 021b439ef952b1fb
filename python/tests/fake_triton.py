"""A CPU stand-in for the part of Triton that triton_ranges' kernels use, for tests without a GPU.

`install()` puts fake `triton` and `triton.language` modules in sys.modules. `@triton.jit` then
returns a launcher that runs the kernel's own Python source once per program id of the grid, with
tensors for Triton's blocks and Ptr objects (a flat tensor + an offset tensor) for pointers. So the
real kernel source runs: its work-list walk, index arithmetic, GQA packing, band masks, online
softmax and gradient formulas, in float32 dots over the operands' dtype. What it cannot check is
Triton's compiler (layouts, register use, wgmma): that needs the GPU.
"""

import sys
import types

import torch


class Ptr:
    def __init__(self, buf, off=0):
        self.buf = buf
        self.off = off

    def __add__(self, x):
        return Ptr(self.buf, self.off + x)

    __radd__ = __add__

    @property
    def dtype(self):
        return types.SimpleNamespace(element_ty=self.buf.dtype)


def _idx(off):
    return off if torch.is_tensor(off) else torch.tensor(off)


def load(ptr, mask=None, other=0.0):
    off = _idx(ptr.off).to(torch.int64)
    if mask is None:
        return ptr.buf[off]
    mask = torch.broadcast_to(mask, off.shape)
    safe = torch.where(mask, off, torch.zeros_like(off))
    val = ptr.buf[safe]
    return torch.where(mask, val, torch.tensor(other, dtype=val.dtype))


def store(ptr, val, mask=None):
    off = _idx(ptr.off).to(torch.int64)
    val = torch.broadcast_to(torch.as_tensor(val), off.shape).to(ptr.buf.dtype)
    if mask is None:
        mask = torch.ones_like(off, dtype=torch.bool)
    mask = torch.broadcast_to(mask, off.shape)
    if ptr.buf[off[mask]].numel() != torch.unique(off[mask]).numel():
        raise AssertionError("two lanes of one store write the same address")
    ptr.buf[off[mask]] = val[mask]


def atomic_add(ptr, val, mask=None, sem=None):
    off = _idx(ptr.off).to(torch.int64)
    val = torch.broadcast_to(torch.as_tensor(val), off.shape).to(ptr.buf.dtype)
    if mask is None:
        mask = torch.ones_like(off, dtype=torch.bool)
    mask = torch.broadcast_to(mask, off.shape)
    ptr.buf.index_put_((off[mask],), val[mask], accumulate=True)


def dot(a, b, acc=None):
    assert a.dim() == 2 and b.dim() == 2 and a.shape[1] == b.shape[0], (a.shape, b.shape)
    assert min(a.shape[0], a.shape[1], b.shape[1]) >= 16, f"tl.dot needs sizes >= 16, got {tuple(a.shape)} @ {tuple(b.shape)}"
    assert a.dtype == b.dtype, (a.dtype, b.dtype)
    r = a.float() @ b.float()
    return r if acc is None else acc + r


class _Ctx:
    pid = (0, 0, 0)


def program_id(axis):
    return torch.tensor(_Ctx.pid[axis], dtype=torch.int32)


def arange(a, b):
    n = b - a
    assert n & (n - 1) == 0, f"tl.arange needs a power of two, got {n}"
    return torch.arange(a, b, dtype=torch.int32)


def zeros(shape, dtype):
    return torch.zeros(shape, dtype=dtype)


def full(shape, value, dtype):
    return torch.full(shape, value, dtype=dtype)


def where(c, a, b):
    a = a if torch.is_tensor(a) else torch.tensor(a, dtype=b.dtype if torch.is_tensor(b) else torch.float32)
    b = b if torch.is_tensor(b) else torch.tensor(b, dtype=a.dtype)
    return torch.where(c, a, b)


class constexpr:  # noqa: N801 - Triton's name
    pass


class Kernel:
    def __init__(self, fn):
        self.fn = fn

    def __call__(self, *a, **k):  # a jit function called from another one
        return self.fn(*a, **k)

    def __getitem__(self, grid):
        def launch(*args, num_warps=None, num_stages=None, **consts):
            args = [Ptr(x.view(-1)) if torch.is_tensor(x) else x for x in args]
            for t in args:
                if isinstance(t, Ptr):
                    assert t.buf.is_contiguous()
            g = tuple(grid) + (1,) * (3 - len(grid))
            for z in range(g[2]):
                for y in range(g[1]):
                    for x in range(g[0]):
                        _Ctx.pid = (x, y, z)
                        self.fn(*args, **consts)
        return launch


def install():
    tl = types.ModuleType("triton.language")
    tl.constexpr = constexpr
    tl.float32, tl.int32, tl.int64, tl.int1 = torch.float32, torch.int32, torch.int64, torch.bool
    tl.program_id, tl.arange, tl.zeros, tl.full, tl.where = program_id, arange, zeros, full, where
    tl.load, tl.store, tl.atomic_add, tl.dot = load, store, atomic_add, dot
    tl.trans = lambda x: x.transpose(0, 1)
    tl.exp2, tl.log2, tl.maximum = torch.exp2, torch.log2, torch.maximum
    tl.minimum = lambda x, y: torch.minimum(torch.as_tensor(x), torch.as_tensor(y))
    tl.max = lambda x, axis: torch.amax(x, dim=axis)
    tl.sum = lambda x, axis: torch.sum(x, dim=axis)
    tl.static_range = range
    tl.range = lambda *a, num_stages=None, **kw: range(*(int(x) for x in a))  # the persistent loops' tl.range(..., num_stages=1)
    triton = types.ModuleType("triton")
    triton.jit = Kernel
    triton.language = tl
    triton.cdiv = lambda a, b: (a + b - 1) // b
    sys.modules["triton"] = triton
    sys.modules["triton.language"] = tl
    return triton
