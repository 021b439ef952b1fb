"""CP job files: what src/cp/torch/make-jobs.ts writes (regenerated per run) validates and reads back (stdlib)."""

import copy
import json
import os
import subprocess
import sys
import tempfile
import unittest

from attnbench_worker.cp import manifest
from attnbench_worker.cp.logic import row_ranges

from .ts_jobs import write_ts_jobs


class TestFixture(unittest.TestCase):
    def setUp(self):
        self.paths = manifest.expand_paths([write_ts_jobs()])

    def test_index_lists_manifests(self):
        self.assertEqual(len(self.paths), 3)
        self.assertTrue(all(os.path.isabs(p) and os.path.exists(p) for p in self.paths))

    def test_manifests_validate_and_masks_read_back(self):
        for p in self.paths:
            doc = manifest.load_manifest(p)
            case = doc["case"]
            self.assertEqual(case["world"], 2)
            self.assertEqual(len(doc["ranks"]), 2)
            # The global mask's area, recomputed from its slices, is the case's area.
            g = manifest.load_slices(doc["mask"], doc["_base"])
            rows = row_ranges(g, case["seqlen"], case["seqlen"])
            self.assertEqual(sum(hi - lo for r in rows for lo, hi in r), case["area"])
            # Every step mask reads back with the declared area and shape, and carries flex's
            # arguments (kernel 'auto' on GPUs: these jobs' head dim 8 and float32 are outside
            # triton_ranges' limits, so flex only: its block table, src/cp/torch/partial-arrays.ts).
            for e in doc["masks"]:
                sl = manifest.load_slices(e, doc["_base"])
                rows = row_ranges(sl, e["seqlenQ"], e["seqlenK"])
                self.assertEqual(sum(hi - lo for r in rows for lo, hi in r), e["area"])
                self.assertEqual(sorted(e["arrays"]), ["flex"])
                self.assertEqual(e["arrays"]["flex"]["blockQ"], 128)
            self.assertEqual(doc["version"], 2)
            self.assertIsInstance(case["tolerance"], float)

    def test_groups_are_listed_in_one_order(self):
        doc = manifest.load_manifest(self.paths[1])  # ulysses: one all-to-all group
        self.assertEqual(manifest.all_groups(doc), [(0, 1)])


class TestBadInput(unittest.TestCase):
    def setUp(self):
        with open(manifest.expand_paths([write_ts_jobs()])[0]) as f:
            self.doc = json.load(f)

    def bad(self, mutate, pattern):
        d = copy.deepcopy(self.doc)
        mutate(d)
        with self.assertRaisesRegex(manifest.ManifestError, pattern):
            manifest.validate_manifest(d, "m")

    def test_format_and_version(self):
        self.bad(lambda d: d.update(format="other"), "not a CP job manifest")
        self.bad(lambda d: d.update(version=99), "version")

    def test_world_vs_rank_programs(self):
        self.bad(lambda d: d["case"].update(world=4), "2 rank programs for world 4")

    def test_undeclared_buffer_and_bad_peer(self):
        def undeclared(d):
            d["ranks"][0]["forward"].append({"kind": "merge", "into": "o", "from": "nowhere"})

        self.bad(undeclared, "not declared")

        def peer(d):
            d["ranks"][0]["forward"].insert(0, {"kind": "p2p", "ops": [{"op": "send", "peer": 7, "buf": "kv"}]})

        self.bad(peer, "peer in 0..1")

    def test_kernel_arrays(self):
        self.bad(lambda d: d["masks"][0].update(arrays=[]), "arrays must be an object")
        self.bad(lambda d: d["masks"][0]["arrays"]["flex"].update(blockQ="x"), "array reference or a number")
        self.bad(lambda d: d["masks"][0]["arrays"]["flex"]["kvIndices"].update(dtype="int8"), "unsupported dtype")

    def test_mask_index_and_unknown_step(self):
        def mask(d):
            for st in d["ranks"][0]["forward"]:
                if st["kind"] == "attn":
                    st["mask"] = 999

        self.bad(mask, "must index masks")
        self.bad(lambda d: d["ranks"][1]["backward"].append({"kind": "teleport"}), "unknown step kind")


class TestUnreadable(unittest.TestCase):
    def test_index_and_manifest_errors_name_the_file(self):
        with tempfile.TemporaryDirectory() as d:
            bad = os.path.join(d, "bad.json")
            with open(bad, "w") as f:
                f.write("{not json")
            missing = os.path.join(d, "nope.json")
            for read in (lambda p: manifest.expand_paths([p]), manifest.load_manifest):
                with self.assertRaisesRegex(manifest.ManifestError, r"bad\.json: not JSON \(.* at line 1\)"):
                    read(bad)
                with self.assertRaisesRegex(manifest.ManifestError, r"cannot read .*nope\.json"):
                    read(missing)


class TestCommandLine(unittest.TestCase):
    def run_cli(self, *args):
        env = dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(__file__), "..", ".."))
        return subprocess.run([sys.executable, "-m", "attnbench_worker.cp", *args], capture_output=True, text=True, env=env,
                              timeout=120)

    def test_missing_file_is_exit_2_with_one_line(self):
        with tempfile.TemporaryDirectory() as d:
            r = self.run_cli("run", os.path.join(d, "nope.json"), "--out", os.path.join(d, "o.jsonl"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("cannot read", r.stderr)

    def test_bad_virtual_ranks(self):
        r = self.run_cli("run", os.devnull, "--out", os.devnull, "--virtual-ranks", "0")
        self.assertEqual(r.returncode, 2)


if __name__ == "__main__":
    unittest.main()
