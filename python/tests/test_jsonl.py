import os
import tempfile
import unittest

from attnbench_worker.jsonl import iter_records


class IterRecordsTest(unittest.TestCase):
    def test_torn_and_foreign_lines_are_skipped(self):
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "rows.jsonl")
            with open(p, "w") as f:
                f.write('{"id": "a"}\n[1, 2]\n\n{"id": "b", "x": 1}\n{"id": "c", "tor')
            self.assertEqual([r["id"] for r in iter_records(p)], ["a", "b"])

    def test_missing_file_has_no_records(self):
        self.assertEqual(list(iter_records("/nonexistent/rows.jsonl")), [])
        self.assertEqual(list(iter_records(None)), [])


if __name__ == "__main__":
    unittest.main()
