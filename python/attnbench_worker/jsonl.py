"""Reading the JSONL files our runs append to: a run killed mid-write leaves a torn last line, so a
reader skips lines that are not one JSON object (and a missing file has no records)."""

import json
import os


def iter_records(path):
    """Each JSON object of the file at `path`, in order; torn or non-object lines are skipped."""
    if not path or not os.path.exists(path):
        return
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                r = json.loads(line)
            except ValueError:
                continue
            if isinstance(r, dict):
                yield r
