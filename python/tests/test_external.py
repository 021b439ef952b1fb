"""Bring your own kernel (kernels/external.py), without torch: the example kernel registers, runs a
job through the worker like a built-in 'py' kernel, and broken declarations are refused."""

import json
import os
import subprocess
import sys
import tempfile
import unittest

from attnbench_worker import PROTOCOL_VERSION, execute, kernels
from attnbench_worker.kernels import external

from .helpers import causal_slices, make_job

EXAMPLE = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "examples", "my_kernel.py"))


class TestExample(unittest.TestCase):
    def test_registers_and_runs_a_job(self):
        desc = external.register(EXAMPLE)
        self.assertEqual((desc["id"], desc["group"], desc["suite"], desc["partial"]), ("my_kernel", "py", True, True))
        self.assertIn("my_kernel", kernels.suite_ids())
        self.assertEqual(kernels.availability("torch")["my_kernel"], {"available": True})
        with tempfile.TemporaryDirectory() as d:
            r = execute.run_job(make_job(d, "j", causal_slices(12), 12, kernel="my_kernel"), "torch", d)
            self.assertEqual(r["status"], "ok", r["message"])
            self.assertLess(r["error"]["out"]["maxAbs"], 1e-9)
            b = execute.run_job(make_job(d, "b", causal_slices(12), 12, kernel="my_kernel", direction="bwd"), "torch", d)
            self.assertEqual(b["status"], "unsupported")

    def test_worker_children_load_it_from_the_environment(self):
        env = dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(__file__), ".."), ATTNBENCH_KERNEL_MODULES=EXAMPLE)
        r = subprocess.run([sys.executable, "-m", "attnbench_worker", "hello"], capture_output=True, text=True, env=env, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('"my_kernel"', r.stdout)

    def test_describe_writes_the_boot_line_before_importing_the_module(self):
        # TypeScript waits a short limit for the boot line, then the long one (the module may import torch).
        env = dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(__file__), ".."))
        r = subprocess.run([sys.executable, "-m", "attnbench_worker", "describe", "--kernel-module", EXAMPLE],
                           capture_output=True, text=True, env=env, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        boot, decl = r.stdout.splitlines()
        self.assertEqual(json.loads(boot), {"type": "boot", "protocol": PROTOCOL_VERSION})
        self.assertEqual([d["id"] for d in json.loads(decl)], ["my_kernel"])
        r = subprocess.run([sys.executable, "-m", "attnbench_worker", "describe", "--kernel-module", "/nonexistent/k.py"],
                           capture_output=True, text=True, env=env, timeout=120)
        self.assertEqual((r.returncode, r.stdout.splitlines()), (2, [boot]))  # the boot line is already out
        self.assertIn("no such file", r.stderr)


class TestBadDeclarations(unittest.TestCase):
    def write(self, text):
        f = tempfile.NamedTemporaryFile("w", suffix=".py", delete=False)
        f.write(text)
        f.close()
        self.addCleanup(os.unlink, f.name)
        return f.name

    def test_refused_with_the_reason(self):
        base = 'ID = "k1"\nGROUP = "py"\ndef available():\n    return None\ndef run(job, bands):\n    pass\n'
        caps = 'CAPS = {"formats": ["slices"], "backward": False, "gqa": "native", "dtypes": ["float32"], "perHeadMask": False}\n'
        cases = [
            (base, "CAPS must be a dict"),
            (base.replace('"py"', '"cuda"') + caps, "GROUP must be one of"),
            (base.replace('"k1"', '"flex"') + caps, "is a built-in kernel id"),
            (base + caps.replace('"slices"', '"bitmap"'), "CAPS formats must be"),
            (base.replace("def run", "def nope") + caps, "defines neither"),
            ("raise RuntimeError('boom')\n", "import failed: RuntimeError: boom"),
        ]
        for text, msg in cases:
            with self.subTest(msg=msg):
                with self.assertRaisesRegex(external.KernelModuleError, msg):
                    external.register(self.write(text))


if __name__ == "__main__":
    unittest.main()
