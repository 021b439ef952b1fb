"""flex: torch FlexAttention, compiled, with a BlockMask built directly from our block table.

BlockMask.from_kv_blocks takes the partial and full key blocks of every query block as sent by
the TypeScript adapter; nothing here evaluates the mask over S x S (create_block_mask would, and
asks for 64 GiB at S = 256k). Partial blocks are resolved by a mask_mod that evaluates the slices
on tensors (slicemask.SliceMask: row -> interval lookup, bisection over sorted slices).
"""

import math

import torch

from .base import Call, Unsupported, module_available

ID = "flex"
GROUP = "torch"
_compiled = None


def available():
    reason = module_available("torch", "triton")
    if reason:
        return reason
    if not torch.cuda.is_available():
        return "torch sees no CUDA GPU"
    try:
        from torch.nn.attention.flex_attention import BlockMask  # noqa: F401
    except ImportError:
        return "this torch has no torch.nn.attention.flex_attention"
    return None


def compiled_flex():
    global _compiled
    if _compiled is None:
        import torch._dynamo
        from torch.nn.attention.flex_attention import flex_attention

        # Every job brings a new BlockMask / mask_mod: without a high limit dynamo would stop
        # compiling after a few and fall back to eager (unfused) attention, silently.
        for name in ("cache_size_limit", "recompile_limit", "accumulated_cache_size_limit", "accumulated_recompile_limit"):
            if hasattr(torch._dynamo.config, name):
                setattr(torch._dynamo.config, name, 100000)
        _compiled = torch.compile(flex_attention, dynamic=False, fullgraph=True)
    return _compiled


def block_mask(ctx):
    """The BlockMask of a 'block_table' job, over query heads (per-head tables are expanded)."""
    from torch.nn.attention.flex_attention import BlockMask

    bq, bk = int(ctx.arg("blockQ")), int(ctx.arg("blockK"))
    nbk = math.ceil(ctx.sk / bk)
    kvn = ctx.arg("kvNumBlocks")
    kvi = ctx.arg("kvIndices")
    fkvn = ctx.arg("fullKvNumBlocks", default=None)
    fkvi = ctx.arg("fullKvIndices", default=None)

    def pad(ix):  # [Hm, nbq, maxK] -> [Hm, nbq, nbk]: from_kv_blocks reads the column count off the last dim
        if ix.shape[-1] >= nbk:
            return ix[..., :nbk].contiguous()
        return torch.nn.functional.pad(ix, (0, nbk - ix.shape[-1]))

    def heads(x):  # mask heads -> query heads (one shared mask stays at H = 1)
        if x.shape[0] == 1:
            return x
        return x[ctx.mask_head_of_query_head()]

    kvn, kvi = heads(kvn), heads(pad(kvi))
    if fkvn is not None:
        fkvn, fkvi = heads(fkvn), heads(pad(fkvi))
    has_partial = bool(int(kvn.max()) > 0) if kvn.numel() else False
    kw = {}
    if has_partial:
        kw["mask_mod"] = ctx.slice_mask.mask_mod(group_size=ctx.group, per_head=len(ctx.bands) > 1)
    bm = BlockMask.from_kv_blocks(
        kvn[None].to(torch.int32), kvi[None].to(torch.int32),
        None if fkvn is None else fkvn[None].to(torch.int32), None if fkvi is None else fkvi[None].to(torch.int32),
        BLOCK_SIZE=(bq, bk), seq_lengths=(ctx.sq, ctx.sk), **kw,
    )
    return bm, has_partial


def build(ctx):
    if ctx.format != "block_table":
        raise Unsupported(f"flex takes a block table, not {ctx.format}")
    bm, has_partial = block_mask(ctx)
    flex = compiled_flex()
    native = ctx.gqa == "native" and ctx.group > 1
    notes = ["BlockMask from block table" + (" + slice mask_mod" if has_partial else " (no partial blocks)")]
    if ctx.gqa == "expand" and ctx.group > 1:
        from .base import expand_kv

        notes.append("expanded GQA K/V")

        def prep(q, k, v):
            return q, expand_kv(k, ctx.group), expand_kv(v, ctx.group)
    else:
        prep = None

    bq, bk = bm.BLOCK_SIZE
    kw = {}
    if bq < 128 or bk < 128:
        # flex's template asserts that its tiles divide the sparse block size; the defaults are 128.
        kw["kernel_options"] = {"BLOCK_M": min(64, bq), "BLOCK_N": min(64, bk), "BLOCK_M1": 32, "BLOCK_N1": min(64, bk),
                                "BLOCK_M2": min(64, bq), "BLOCK_N2": 32}
        notes.append(f"kernel tiles for {bq}x{bk} blocks: {kw['kernel_options']}")

    def fn(q, k, v):
        return flex(q, k, v, block_mask=bm, scale=ctx.scale, enable_gqa=native, **kw)

    return Call(fn, prep=prep, notes=notes, compiled=True)
