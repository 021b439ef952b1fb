"""The shared tables (tables.json, generated from TypeScript) against the python kernel modules."""

import os
import re
import unittest

from attnbench_worker import kernels, tables

KERNEL_DIR = os.path.join(os.path.dirname(kernels.__file__))


def _module_text(kid):
    with open(os.path.join(KERNEL_DIR, f"{kid}.py")) as f:
        return f.read()


class TestKernelIds(unittest.TestCase):
    def test_every_python_kernel_of_the_registry_has_its_module(self):
        for kid, executor in tables.KERNELS.items():
            if executor == "cpu":
                continue
            with self.subTest(kernel=kid):
                text = _module_text(kid)  # FileNotFoundError: a registry line without its python file
                self.assertRegex(text, rf'(?m)^ID = "{re.escape(kid)}"$')
                self.assertRegex(text, rf'(?m)^GROUP = "{executor}"$')
                self.assertEqual(kernels.GROUPS[kid], executor)

    def test_python_only_kernels_are_not_in_the_registry(self):
        # 'reference' is one id on every executor: the registry lists it as the TypeScript (cpu)
        # kernel; its python module is CP's. No python-only id is a python kernel-suite entry.
        for kid in ("py_ref",) + kernels.CP_ONLY_IDS:
            self.assertIn(tables.KERNELS.get(kid, "cpu"), ("cpu",), kid)
            self.assertRegex(_module_text(kid), rf'(?m)^ID = "{kid}"$')

    def test_every_module_file_is_a_known_kernel(self):
        known = set(kernels.KERNEL_IDS) | set(kernels.CP_ONLY_IDS)
        helpers = {"__init__", "base", "external"}
        for name in os.listdir(KERNEL_DIR):
            stem = name[:-3]
            # Helper modules: base, external, *_common, and <kernel id>_<anything> of a known kernel.
            if not name.endswith(".py") or stem in helpers or "_common" in stem or any(stem.startswith(k + "_") for k in known):
                continue
            self.assertIn(stem, known, f"kernels/{name} is neither in src/kernels/registry.ts nor python-only")


class TestTables(unittest.TestCase):
    def test_values_the_worker_relies_on(self):
        self.assertEqual(tables.SLICE_KINDS, ("full", "causal", "invcausal", "bicausal"))
        self.assertIn("ok", tables.STATUSES)
        self.assertEqual(tables.tolerance("bfloat16"), tables.TOLERANCE["bfloat16"])
        self.assertEqual(tables.CP_JOB_VERSION, 2)


if __name__ == "__main__":
    unittest.main()


class TestEnvKnobs(unittest.TestCase):
    """The A/B knobs: one table (src/contract/knobs.ts), read in python only through tables.env_knob."""

    def setUp(self):
        self.saved = {k: os.environ.pop(k, None) for k in tables.ENV_KNOBS}

    def tearDown(self):
        for k, v in self.saved.items():
            os.environ.pop(k, None)
            if v is not None:
                os.environ[k] = v

    def test_values_defaults_and_refusals(self):
        self.assertEqual(tables.env_knob("ATTNBENCH_FLEX_BLOCK", "auto"), "auto")
        self.assertIsNone(tables.env_knob("ATTNBENCH_FLEX_MASK"))
        os.environ["ATTNBENCH_FLEX_MASK"] = ""  # empty counts as unset
        self.assertIsNone(tables.env_knob("ATTNBENCH_FLEX_MASK"))
        for name, values in tables.ENV_KNOBS.items():
            for v in values:
                os.environ[name] = v
                self.assertEqual(tables.env_knob(name), v)
            os.environ[name] = "bogus"
            with self.assertRaisesRegex(ValueError, rf"{name} must be {', '.join(values)}, not 'bogus'"):
                tables.env_knob(name)
            os.environ.pop(name)

    def test_every_knob_the_worker_reads_is_in_the_table(self):
        root = os.path.dirname(os.path.dirname(kernels.__file__))
        read = set()
        for d, _, files in os.walk(root):
            for f in files:
                if f.endswith(".py"):
                    with open(os.path.join(d, f)) as fh:
                        text = fh.read()
                    read |= set(re.findall(r'env_knob\("(ATTNBENCH_\w+)"', text))
                    read |= set(re.findall(r'env="(ATTNBENCH_\w+)"', text))  # hostcover.HostCover(env=...)
                    # a knob read around the table would not be checked before a worker starts
                    self.assertNotRegex(text, r'environ(?:\.get\(|\[)"ATTNBENCH_(?:FLEX|CP_GC|CP_HOST|KERNEL_HOST)', f)
        self.assertGreaterEqual(len(read), 6)
        self.assertLessEqual(read, set(tables.ENV_KNOBS))
