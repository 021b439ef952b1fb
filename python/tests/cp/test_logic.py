"""CP plan logic without tensors (standard library only)."""

import unittest

from attnbench_worker.cp import logic


class TestRanges(unittest.TestCase):
    def test_overlap_runs_cover_shared_tokens_only(self):
        # a = [0,4) + [8,12) (concatenated), b = [2,10)
        runs = logic.overlap_runs([(0, 4), (8, 12)], [(2, 10)])
        self.assertEqual(runs, [(2, 0, 2), (4, 6, 2)])
        self.assertEqual(logic.overlap_runs([(0, 4)], [(4, 8)]), [])

    def test_overlap_runs_zigzag_into_group_tokens(self):
        # rank shard (zigzag) inside the gathered tokens of a group
        group = [(0, 2), (6, 8), (2, 4), (4, 6)]
        self.assertEqual(logic.overlap_runs([(2, 4), (4, 6)], group), [(0, 4, 2), (2, 6, 2)])

    def test_coalesced_runs_join_runs_contiguous_on_both_sides_only(self):
        # own ranges copied into the front of a concatenated buffer: one run
        own = [(40, 44), (2, 5), (9, 10)]
        cat = own + [(20, 26)]
        self.assertEqual(logic.overlap_runs(cat, own), [(0, 0, 4), (4, 4, 3), (7, 7, 1)])
        self.assertEqual(logic.coalesced_runs(cat, own), [(0, 0, 8)])
        # zigzag group order: two ranges adjacent in both the shard and the group read as one run
        group = [(0, 2), (6, 8), (2, 4), (4, 6)]
        self.assertEqual(logic.coalesced_runs([(2, 4), (4, 6)], group), [(0, 4, 4)])
        # contiguous in a but not in b: kept apart
        self.assertEqual(logic.coalesced_runs([(2, 4), (4, 6)], [(4, 6), (2, 4)]), [(0, 2, 2), (2, 0, 2)])
        self.assertEqual(logic.coalesced_runs([(0, 4), (8, 12)], [(2, 10)]), [(2, 0, 2), (4, 6, 2)])
        # contiguous in b only: kept apart too
        self.assertEqual(logic.coalesced_runs([(0, 2), (5, 7)], [(5, 7), (0, 2)]), [(0, 2, 2), (2, 0, 2)])

    def test_head_offset(self):
        self.assertEqual(logic.head_offset((4, 8), (0, 8), "x"), 4)
        with self.assertRaises(logic.PlanError):
            logic.head_offset((4, 9), (0, 8), "x")


class TestHeads(unittest.TestCase):
    def test_gqa_kv_heads(self):
        self.assertEqual(logic.kv_heads_for((8, 16), 64, 8), (1, 2))
        self.assertEqual(logic.kv_heads_for((4, 12), 64, 8), (0, 2))
        self.assertEqual(logic.kv_head_index((8, 16), (0, 8), 64, 8), [1] * 8)
        self.assertEqual(logic.kv_head_index((0, 4), (0, 1), 64, 8), [0] * 4)  # replicated kv head
        with self.assertRaises(logic.PlanError):
            logic.kv_head_index((8, 16), (0, 1), 64, 8)

    def test_gqa_grouping(self):
        self.assertEqual(logic.gqa_grouping([0, 0, 1, 1]), (0, 2))
        self.assertEqual(logic.gqa_grouping([3, 3, 3]), (3, 1))
        self.assertIsNone(logic.gqa_grouping([0, 1, 1]))  # uneven: the kernel expands K/V
        self.assertIsNone(logic.gqa_grouping([]))


class TestGroups(unittest.TestCase):
    def test_torch_orders_members_by_rank(self):
        key, perm = logic.torch_group_order([2, 0, 3, 1])
        self.assertEqual(key, (0, 1, 2, 3))
        self.assertEqual(perm, [1, 3, 0, 2])  # torch rank t is plan position perm[t]
        with self.assertRaises(logic.PlanError):
            logic.torch_group_order([1, 1])


class TestSteps(unittest.TestCase):
    FWD = [
        {"kind": "p2p", "ops": [{"op": "send", "peer": 1, "buf": "kv"}, {"op": "recv", "peer": 1, "buf": "kv@1"}], "handle": "h"},
        {"kind": "attn", "q": "q", "kv": "kv", "out": "o", "mask": 0, "heads": [0, 4], "flops": 1},
        {"kind": "wait", "handle": "h"},
        {"kind": "attn", "q": "q", "kv": "kv@1", "out": "o.p", "mask": 1, "heads": [0, 4], "flops": 1},
        {"kind": "merge", "into": "o", "from": "o.p"},
    ]

    def test_phase_inputs_are_read_before_written(self):
        self.assertEqual(logic.phase_inputs(self.FWD), ["kv", "q"])
        self.assertEqual(logic.phase_writes(self.FWD), ["kv@1", "o", "o.p"])

    def test_attn_bwd_reads_o_lse_and_updates_grads(self):
        st = {"kind": "attn_bwd", "q": "q", "kv": "kv", "o": "o", "lse": "o", "dout": "do", "dq": "dq", "dkv": "dkv", "mask": 0,
              "heads": [0, 4], "flops": 1}
        r, w = logic.step_reads_writes(st)
        self.assertEqual(w, ["dq", "dkv"])
        self.assertIn("do", r)
        self.assertEqual(logic.phase_inputs([st]), ["q", "kv", "o", "do"])

    def test_unknown_step(self):
        with self.assertRaises(logic.PlanError):
            logic.step_reads_writes({"kind": "teleport"})

    def test_default_outputs_are_the_well_known_buffers(self):
        prog = {"buffers": {"o": {}, "dq": {}, "dkv": {}, "q": {}}}
        self.assertEqual(logic.default_outputs(prog, "fwd"), {"o": "o"})
        self.assertEqual(logic.default_outputs(prog, "bwd"), {"dq": "dq", "dkv": "dkv"})


class TestMaskRows(unittest.TestCase):
    def test_slice_kinds_follow_spec_section_2(self):
        # one slice of each kind, 3 rows x 5 columns, stacked in q
        sl = [(0, 3, 0, 5, 0), (3, 6, 0, 5, 1), (6, 9, 0, 5, 2), (9, 12, 0, 5, 3)]
        rows = logic.row_ranges(sl, 12, 5)
        self.assertEqual(rows[0], [(0, 5)])
        self.assertEqual([r[0] for r in rows[3:6]], [(0, 3), (0, 4), (0, 5)])  # causal, bottom-right
        self.assertEqual([r[0] for r in rows[6:9]], [(0, 5), (1, 5), (2, 5)])  # invcausal, top-left
        self.assertEqual([r[0] for r in rows[9:12]], [(0, 3), (1, 4), (2, 5)])  # bicausal band
        area = sum(hi - lo for r in rows for lo, hi in r)
        self.assertEqual(area, 15 + 12 + 12 + 9)

    def test_several_ranges_per_row_and_empty_rows(self):
        rows = logic.row_ranges([(0, 2, 0, 2, 0), (0, 2, 4, 6, 0)], 3, 6)
        self.assertEqual(rows, [[(0, 2), (4, 6)], [(0, 2), (4, 6)], []])


class TestStats(unittest.TestCase):
    def test_median_and_percentiles(self):
        self.assertEqual(logic.median([3, 1, 2]), 2)
        self.assertEqual(logic.median([4, 1, 2, 3]), 2.5)
        self.assertAlmostEqual(logic.percentile([0, 10], 20), 2.0)
        self.assertEqual(logic.percentile([5], 80), 5)


if __name__ == "__main__":
    unittest.main()
