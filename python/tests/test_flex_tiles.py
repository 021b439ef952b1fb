"""flex tile options for 64-blocks (issue 17: the backward raised NoValidChoicesError)."""
import unittest

from attnbench_worker.kernels.flex_tiles import tile_options


class FlexTiles(unittest.TestCase):
    def test_default_blocks_keep_flex_defaults(self):
        self.assertIsNone(tile_options(128, 128))

    def test_tiles_divide_the_blocks_and_the_backward_fits(self):
        for bq, bk in [(64, 64), (64, 128), (128, 64), (32, 32)]:
            t = tile_options(bq, bk)
            for k in ("fwd_BLOCK_M", "bwd_BLOCK_M1", "bwd_BLOCK_M2"):
                self.assertEqual(bq % t[k], 0, (bq, bk, k))
            for k in ("fwd_BLOCK_N", "bwd_BLOCK_N1", "bwd_BLOCK_N2"):
                self.assertEqual(bk % t[k], 0, (bq, bk, k))
            self.assertEqual(t["bwd_BLOCK_N1"] % t["bwd_BLOCK_M1"], 0)
            self.assertEqual(t["bwd_BLOCK_M2"] % t["bwd_BLOCK_N2"], 0)
            # one pipeline stage in the backward: the 3-stage default overflows shared memory at d=128
            self.assertEqual(t["bwd_num_stages"], 1)
            self.assertNotIn("BLOCK_M1", t)  # direction-prefixed only: the forward keeps its own stages


if __name__ == "__main__":
    unittest.main()
