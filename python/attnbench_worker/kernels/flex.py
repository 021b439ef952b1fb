"""flex: torch FlexAttention, compiled, with a BlockMask built directly from our block table
(kernel suite: build(); context parallelism: the partial-attention entry at the end).

BlockMask.from_kv_blocks takes the partial and full key blocks of every query block as sent by
the TypeScript adapter; nothing here evaluates the mask over S x S (create_block_mask would, and
asks for 64 GiB at S = 256k). Partial blocks are resolved by a mask_mod that evaluates the slices
on tensors (slicemask.SliceMask: row -> interval lookup, bisection over sorted slices).
"""

import math

import torch

from .base import Call, Unsupported, module_available
from ..tables import env_knob
from .flex_coarse import COARSE, bitmap_mask_mod, block_form, coarse_tables
from .flex_tiles import tile_options

ID = "flex"
GROUP = "torch"
_compiled = None
# The row note of each mask_mod form (the report's range-kernel table reads "slice predicate" / "slice mask_mod").
FORM_TEXT = {"rows": "mask_mod over per-row key ranges", "slices": "mask_mod over the slice predicate",
             "blocks": "mask_mod over a {fine}-token block bitmap on 128-token blocks"}


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
    coarse, fine = None, None  # blocks under 128: flex's own tiles, the `fine` blocks in a bitmap (flex_coarse.py)
    if bq == bk and block_form(ctx.direction, bq) == "coarse":
        coarse = coarse_tables(kvn, kvi, fkvn, fkvi, bq, nbk)
    if coarse is not None:
        bitmap, (kvn, kvi, fkvn, fkvi) = coarse
        fine, bq, bk = bq, COARSE, COARSE
        nbk = math.ceil(ctx.sk / bk)

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
    form = None
    if has_partial and coarse is not None:
        kw["mask_mod"], form = bitmap_mask_mod(bitmap, fine, group_size=ctx.group), "blocks"
    elif has_partial:
        kw["mask_mod"], form = ctx.slice_mask.flex_mask_mod(mask_form(ctx.direction), group_size=ctx.group, per_head=len(ctx.bands) > 1)
    bm = BlockMask.from_kv_blocks(
        kvn[None].to(torch.int32), kvi[None].to(torch.int32),
        None if fkvn is None else fkvn[None].to(torch.int32), None if fkvi is None else fkvi[None].to(torch.int32),
        BLOCK_SIZE=(bq, bk), seq_lengths=(ctx.sq, ctx.sk), **kw,
    )
    return bm, (form, fine)


def build(ctx):
    if ctx.format != "block_table":
        raise Unsupported(f"flex takes a block table, not {ctx.format}")
    bm, (form, fine) = block_mask(ctx)
    flex = compiled_flex()
    native = ctx.gqa == "native" and ctx.group > 1
    notes = ["BlockMask from block table" + (f" + {FORM_TEXT[form].format(fine=fine)}" if form else " (no partial blocks)")]
    if fine and not form:
        notes.append(f"{fine}-token blocks on 128-token blocks (ATTNBENCH_FLEX_BLOCK)")
    if ctx.gqa == "expand" and ctx.group > 1:
        from .base import expand_kv

        notes.append("expanded GQA K/V")

        def prep(q, k, v):
            return q, expand_kv(k, ctx.group), expand_kv(v, ctx.group)
    else:
        prep = None

    bq, bk = bm.BLOCK_SIZE
    kw = {}
    tiles = tile_options(bq, bk)  # blocks under 128: tiles that divide them, a backward that fits (flex_tiles.py)
    if tiles:
        kw["kernel_options"] = tiles
        notes.append(f"kernel tiles for {bq}x{bk} blocks: {tiles}")

    def fn(q, k, v):
        return flex(q, k, v, block_mask=bm, scale=ctx.scale, enable_gqa=native, **kw)

    return Call(fn, prep=prep, notes=notes, compiled=True)


# --- partial-attention entry (context parallelism; base.PartialStep) --------------------------------
# step.arrays (src/cp/torch/partial-arrays.ts, flex): blockQ, blockK, kvNumBlocks [1, nbq],
# kvIndices [1, nbq, maxK], fullKvNumBlocks [1, nbq], fullKvIndices [1, nbq, maxFullK]. Partial
# blocks are resolved by the slices' mask_mod (slicemask.SliceMask), as in the kernel suite.
_cp = {"compiled": None, "static": None, "aux": None, "notes": []}
NOTES = _cp["notes"]  # read by the CP runner into its rows


def partial_available(device):
    if device.type != "cuda":
        return "flex runs on CUDA tensors (use --kernel reference on CPU)"
    return available()


def _cp_static_first():
    """ATTNBENCH_FLEX_CP_DYNAMIC=0: compile per shape from the first call (dynamic=False) instead of
    letting dynamo mark shapes dynamic after the first change. An A/B knob (issue13.sh call30): flex's
    CP backward measured 1.5-2.1x slower from 2026-12-05 on, and dynamic-shape kernels are one suspect."""
    return env_knob("ATTNBENCH_FLEX_CP_DYNAMIC", "1") == "0"


def _cp_compiled():
    """flex_attention compiled for CP: plans bring many shapes (Sq, Sk, heads), so dynamo may mark
    them dynamic after the first change; _call falls back to static shapes if that fails."""
    if _cp["compiled"] is None:
        import inspect

        import torch._dynamo
        from torch.nn.attention import flex_attention as fa

        for name in ("cache_size_limit", "recompile_limit", "accumulated_cache_size_limit", "accumulated_recompile_limit"):
            if hasattr(torch._dynamo.config, name):
                setattr(torch._dynamo.config, name, max(getattr(torch._dynamo.config, name), 100000))
        _cp["aux"] = "return_aux" in inspect.signature(fa.flex_attention).parameters and hasattr(fa, "AuxRequest")
        if _cp_static_first():
            _cp["static"] = torch.compile(fa.flex_attention, dynamic=False)
            NOTES.append("flex: compiled per shape (ATTNBENCH_FLEX_CP_DYNAMIC=0)")
        _cp["compiled"] = _cp["static"] or torch.compile(fa.flex_attention)
    return _cp["compiled"]


def mask_form(direction, cp=False):
    """The mask_mod form flex gets ('slices', 'rows' or 'auto': slicemask.SliceMask.flex_mask_mod).
    ATTNBENCH_FLEX_MASK (ATTNBENCH_FLEX_CP_MASK first for CP steps) forces one form in both
    directions. Defaults, each the faster form measured on an H100 (2026-12-06): the kernel suite takes
    the row tables where they are small ('auto') in both directions (32k, 64:8, against the slice
    predicate: backward causal_document 241.9 vs 129.6 TFLOP/s, full_document 300.6 vs 179.4,
    share_question 129.9 vs 51.6; forward 273.0 vs 250.8, 332.3 vs 309.7, 283.6 vs 250.2;
    results/h100/kernels/flexmask-s13_*.jsonl); CP steps take the row tables in the backward (ulysses,
    causal_document, P = 8: 29.0 -> 14.8 ms) and the predicate in the forward (3.3 ms against 3.7 with
    the row tables; results/h100/cp/issue13-s12_flex_*.jsonl, issue13-s13_flex*_p8.jsonl)."""
    forced = (env_knob("ATTNBENCH_FLEX_CP_MASK") if cp else None) or env_knob("ATTNBENCH_FLEX_MASK")
    if forced:
        return forced
    return "slices" if cp and direction == "fwd" else "auto"


def _note_form(notes, direction, form):
    text = f"flex {direction}: {FORM_TEXT[form]}"
    if text not in notes:
        notes.append(text)


def _cp_mask_mod(mask, direction="fwd"):
    """The step's mask_mod in the form `mask_form` picks for the direction; the form goes into NOTES."""
    mod, form = mask.flex_mask_mod(mask_form(direction, cp=True))
    _note_form(NOTES, direction, form)
    return mod


def partial_prepare(step, direction=None):
    """The step's BlockMask for a direction (None: both, returns the forward's), once per mask
    (outside timing)."""
    if direction is None:
        partial_prepare(step, "bwd")
        direction = "fwd"
    key = f"block_mask_{direction}"
    if key in step.cache:
        return step.cache[key]
    from torch.nn.attention.flex_attention import BlockMask

    a = step.arrays
    for name in ("blockQ", "blockK", "kvNumBlocks", "kvIndices", "fullKvNumBlocks", "fullKvIndices"):
        if name not in a:
            raise RuntimeError(f"flex needs the step's block table ({name}); the job files were written without flex's arrays")
    bq, bk = int(a["blockQ"]), int(a["blockK"])
    nbq = -(-step.seqlen_q // bq)
    nbk = -(-step.seqlen_k // bk)

    def pad(ix):  # [1, nbq, maxK] -> [1, 1, nbq, nbk]: from_kv_blocks reads nbk off the last dim
        ix = ix.reshape(1, nbq, -1).to(torch.int32)
        ix = ix[..., :nbk] if ix.shape[-1] >= nbk else torch.nn.functional.pad(ix, (0, nbk - ix.shape[-1]))
        return ix.unsqueeze(0).contiguous()

    bm = BlockMask.from_kv_blocks(
        a["kvNumBlocks"].reshape(1, 1, nbq).to(torch.int32), pad(a["kvIndices"]),
        a["fullKvNumBlocks"].reshape(1, 1, nbq).to(torch.int32), pad(a["fullKvIndices"]),
        BLOCK_SIZE=(bq, bk), mask_mod=_cp_mask_mod(step.slice_mask(), direction), seq_lengths=(step.seqlen_q, step.seqlen_k),
    )
    step.cache[key] = bm
    return bm


def _call(q, k, v, step, direction="fwd"):
    """q [Sq, Hq, D] -> flex layout [1, H, S, D]; returns out [Sq, Hq, D], lse [Sq, Hq]."""
    from torch.nn.attention import flex_attention as fa

    compiled = _cp_compiled()
    qf, kf, vf = (x.permute(1, 0, 2).unsqueeze(0) for x in (q, k, v))
    kw = dict(block_mask=partial_prepare(step, direction), scale=step.scale, enable_gqa=qf.shape[1] != kf.shape[1])
    if _cp["aux"]:
        kw["return_aux"] = fa.AuxRequest(lse=True)
    else:
        kw["return_lse"] = True
    fn = _cp["static"] or compiled
    try:
        out, lse = fn(qf, kf, vf, **kw)
    except Exception as e:  # noqa: BLE001 - dynamic-shape compile trouble: retry with static shapes
        if _cp["static"] is not None:
            raise
        _cp["static"] = torch.compile(fa.flex_attention, dynamic=False)
        NOTES.append(f"flex: dynamic shapes failed ({type(e).__name__}), compiled per shape")
        out, lse = _cp["static"](qf, kf, vf, **kw)
    if _cp["aux"]:
        lse = lse.lse
    return out[0].permute(1, 0, 2), lse[0].transpose(0, 1)


def partial_forward(q, k, v, step):
    out, lse = _call(q, k, v, step)
    return out.contiguous(), lse.float().contiguous()


def partial_backward(q, k, v, o, lse, do, step):
    """Autograd through one partial call with the gradients the merge implies: with
    w = exp(l_b - L), dL/do_b = w dO and dL/dl_b = w rowsum(dO (o_b - O)) (recomputes the forward)."""
    with torch.enable_grad():
        qg, kg, vg = (x.detach().requires_grad_(True) for x in (q, k, v))
        out_p, lse_p = _call(qg, kg, vg, step, "bwd")
        lse_p = lse_p.float()
        fin = torch.where(torch.isinf(lse), torch.full_like(lse, math.inf), lse)
        w = torch.exp(lse_p.detach() - fin)  # 0 where the partial or the final row is empty
        g_out = (w[..., None] * do.float()).to(out_p.dtype)
        g_lse = w * (do.float() * (out_p.detach().float() - o.float())).sum(-1)
        torch.autograd.backward([out_p, lse_p], [g_out, g_lse])
    return qg.grad, kg.grad, vg.grad


PARTIAL_BWD_NOTE = "bwd: flex autograd on each partial call (recomputes its forward)"
