"""flex on 64-blocks through 128-token blocks and a block-bitmap mask_mod (kernels/flex_coarse.py):
the coarse tables and the mask_mod give exactly the fine mask, checked by running flex itself (eager,
on CPU: forward only, flex has no CPU backward) against dense attention with per-KV-head masks and
GQA; the backward's key-major tables, which flex derives from the same BlockMask, against the fine
mask's block occupancy."""

import math
import os
import unittest
import warnings

from .helpers import needs_torch, torch


def fine_tables(bit):
    """The TypeScript adapter's table of a block mask: every kept block full, no partial block."""
    h, nbq, _ = bit.shape
    num = bit.sum(-1).to(torch.int32)
    idx = torch.argsort((~bit).to(torch.int8), dim=-1, stable=True).to(torch.int32)
    return torch.zeros(h, nbq, dtype=torch.int32), torch.zeros(h, nbq, 1, dtype=torch.int32), num, idx


@needs_torch
class CoarseBlocks(unittest.TestCase):
    def setUp(self):
        from attnbench_worker.kernels import flex_coarse

        self.fc = flex_coarse
        self.env = os.environ.pop("ATTNBENCH_FLEX_BLOCK", None)

    def tearDown(self):
        os.environ.pop("ATTNBENCH_FLEX_BLOCK", None)
        if self.env is not None:
            os.environ["ATTNBENCH_FLEX_BLOCK"] = self.env

    def attend(self, bit, b, s, hq, mod=None):
        """flex (eager) over the coarse BlockMask against dense attention on the fine mask; -> max errors."""
        from torch.nn.attention.flex_attention import BlockMask, flex_attention

        hm, nb = bit.shape[0], bit.shape[1]
        group = hq // hm
        got = self.fc.coarse_tables(*fine_tables(bit), b, nb)
        self.assertIsNotNone(got)
        bitmap, (kvn, kvi, fkvn, fkvi) = got
        self.assertTrue(torch.equal(bitmap, bit))
        qh = torch.arange(hq) // group  # query head -> mask head
        bm = BlockMask.from_kv_blocks(kvn[qh][None], kvi[qh][None], fkvn[qh][None], fkvi[qh][None], BLOCK_SIZE=(128, 128),
                                      seq_lengths=(s, s), mask_mod=mod or self.fc.bitmap_mask_mod(bitmap, b, group_size=group))
        g = torch.Generator().manual_seed(1)
        q, k, v = (torch.randn(1, hq, s, 16, generator=g, dtype=torch.float64) for _ in range(3))
        with warnings.catch_warnings():  # eager flex on CPU warns that it is not compiled: it is the reference here
            warnings.simplefilter("ignore")
            out = flex_attention(q, k, v, block_mask=bm, scale=0.25)
        dense = bit.repeat_interleave(b, 1).repeat_interleave(b, 2)[:, :s, :s][qh]
        sc = (q @ k.transpose(-1, -2) * 0.25).masked_fill(~dense[None], float("-inf"))
        ref = torch.nan_to_num(torch.softmax(sc, -1)) @ v
        # the backward walks the key-major tables: every 128 x 128 block with a kept cell listed, no other
        nbc = math.ceil(s / 128)
        occupied = torch.zeros(hq, nbc * 128, nbc * 128, dtype=torch.bool)
        occupied[:, :s, :s] = dense
        occupied = occupied.view(hq, nbc, 128, nbc, 128).any(4).any(2)
        listed = torch.zeros(hq, nbc, nbc, dtype=torch.bool)  # [query block, key block] from the key-major tables
        for t in (bm.q_num_blocks, bm.full_q_num_blocks):
            idx = bm.q_indices if t is bm.q_num_blocks else bm.full_q_indices
            for h in range(hq):
                for kb in range(nbc):
                    listed[h, idx[0, h, kb, : int(t[0, h, kb])].long(), kb] = True
        self.assertTrue(torch.equal(listed, occupied))
        return [float((out - ref).abs().max())]

    def test_flex_on_coarse_blocks_is_the_fine_mask(self):
        torch.manual_seed(0)
        for hm, hq, s, keep in ((1, 2, 320, 0.4), (2, 4, 384, 0.3), (2, 2, 256, 1.0), (2, 4, 192, 0.0)):
            bit = torch.rand(hm, math.ceil(s / 64), math.ceil(s / 64)) < keep
            if keep == 0.0:
                bit[:, 0, 0] = True  # one kept block, so the rest are all-empty rows and 128-blocks
            errs = self.attend(bit, 64, s, hq)
            self.assertLess(max(errs), 1e-9, (hm, hq, s, keep, errs))

    def test_a_wrong_mask_mod_is_caught(self):
        torch.manual_seed(0)
        bit = torch.rand(1, 5, 5) < 0.4
        errs = self.attend(bit, 64, 320, 2, mod=lambda b, h, q, k: q >= 0)  # partial 128-blocks wholly kept
        self.assertGreater(max(errs), 1e-3)

    def test_coarse_kinds(self):
        fc = self.fc
        bit = torch.tensor([[[1, 1, 0, 0, 1], [1, 1, 0, 0, 0], [1, 0, 0, 0, 1], [0, 0, 0, 0, 1], [1, 1, 1, 1, 1]]], dtype=torch.bool)
        kind = fc.coarsen(fc.fine_map(*fine_tables(bit), 5), 2)
        # rows of 128-blocks: {0,1} {2,3} {4 + padding}; padding counts as neither kept nor dropped
        self.assertEqual(kind.tolist(), [[[2, 0, 1], [1, 0, 2], [2, 2, 2]]])
        num, idx = fc.tables(kind, 2)
        self.assertEqual(num.tolist(), [[1, 1, 3]])
        self.assertEqual(idx[0, 1, :1].tolist(), [2])
        self.assertEqual(idx[0, 2].tolist(), [0, 1, 2])

    def test_partial_fine_blocks_and_large_bitmaps_keep_their_blocks(self):
        fc = self.fc
        bit = torch.ones(1, 4, 4, dtype=torch.bool)
        bit[0, 2, 0] = False
        kvn, kvi, num, idx = fine_tables(bit)
        kvn[0, 2] = 1  # block (2, 0) partial: the bitmap cannot say which of its cells are kept
        self.assertIsNone(fc.coarse_tables(kvn, kvi, num, idx, 64, 4))
        big = torch.zeros(1, 1 << 14, dtype=torch.int32)
        self.assertIsNone(fc.coarse_tables(big, big[..., None], big, big[..., None], 64, 1 << 14))

    def test_block_form(self):
        fc = self.fc
        self.assertEqual((fc.block_form("fwd", 64), fc.block_form("bwd", 64), fc.block_form("bwd", 128)), ("native", "coarse", "native"))
        os.environ["ATTNBENCH_FLEX_BLOCK"] = "128"
        self.assertEqual(fc.block_form("fwd", 64), "coarse")
        os.environ["ATTNBENCH_FLEX_BLOCK"] = "native"
        self.assertEqual(fc.block_form("bwd", 64), "native")
        os.environ["ATTNBENCH_FLEX_BLOCK"] = "coarse"
        with self.assertRaises(ValueError):
            fc.block_form("bwd", 64)


if __name__ == "__main__":
    unittest.main()
