"""python -m attnbench_worker {serve | run | hello | validate | bare}  (see ../PROTOCOL.md)."""

import argparse
import json
import os
import sys
import traceback


def _positive_int(text):
    try:
        v = int(text)
    except ValueError:
        v = 0
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return v


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line (argparse prints the usage block first), exit 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def main(argv=None):
    p = _Parser(prog="python -m attnbench_worker", description="attnbench kernel worker")
    sub = p.add_subparsers(dest="cmd", required=True)
    km = _Parser(add_help=False)
    km.add_argument("--kernel-module", action="append", default=[], metavar="MODULE|FILE.py",
                    help="load an external kernel module (repeatable; see kernels/external.py)")
    s = sub.add_parser("serve", parents=[km], help="child-process mode: JSON lines over stdio")
    s.add_argument("--group", choices=("torch", "jax"), default="torch")
    r = sub.add_parser("run", parents=[km], help="file mode: run jobs.jsonl, append results as measured")
    r.add_argument("jobs")
    r.add_argument("--out", required=True)
    r.add_argument("--resume", action="store_true")
    r.add_argument("--python", default=None, help="python for the worker children (default: this one)")
    h = sub.add_parser("hello", parents=[km], help="print the handshake (environment, kernel availability) and exit")
    h.add_argument("--group", choices=("torch", "jax"), default="torch")
    d = sub.add_parser("describe", parents=[km], help="print the boot line, then the declarations of --kernel-module kernels as one JSON line (TypeScript reads them)")
    d.set_defaults(kernel_module=[])
    v = sub.add_parser("validate", help="check job files (jobs.jsonl, CP index.json / manifests) and their arrays; run nothing")
    v.add_argument("files", nargs="+")
    b = sub.add_parser("bare", help="dev: time jobs with a bare CUDA-event loop, next to the harness")
    b.add_argument("jobs")
    b.add_argument("--ids", default="", help="comma-separated job ids (default: all)")
    b.add_argument("--iters", type=_positive_int, default=20)
    a = p.parse_args(argv)
    try:
        return _dispatch(a)
    except Exception as e:  # one line, never a traceback (ATTNBENCH_DEBUG shows it); bad input: exit 2
        from .filemode import BadInput

        if os.environ.get("ATTNBENCH_DEBUG"):
            traceback.print_exc()
        bad = isinstance(e, (BadInput, OSError, UnicodeDecodeError))
        msg = str(e) if isinstance(e, BadInput) else f"{type(e).__name__}: {e}"
        print(f"attnbench_worker: {'' if bad else 'internal: '}{' '.join(msg.split())}", file=sys.stderr)
        return 2 if bad else 1


def _dispatch(a):
    if a.cmd in ("serve", "describe"):  # the boot line: before --kernel-module and the kernels (torch) are imported
        from .protocol import boot, dumps

        sys.stdout.write(dumps(boot()) + "\n")
        sys.stdout.flush()
    if getattr(a, "kernel_module", None):
        from .kernels.external import KernelModuleError, use

        try:
            described = use(a.kernel_module)
        except KernelModuleError as e:
            print(f"attnbench_worker: {e}", file=sys.stderr)
            return 2
        if a.cmd == "describe":
            print(json.dumps(described))
            return 0
    if a.cmd == "describe":
        print("[]")
        return 0
    if a.cmd == "serve":
        from .serve import end_with_parent, serve

        end_with_parent()
        return serve(a.group)
    if a.cmd == "run":
        from .filemode import run_file

        return run_file(a.jobs, a.out, a.resume, a.python)
    if a.cmd == "hello":
        from . import kernels, protocol
        from .env import environment

        print(json.dumps(protocol.hello(a.group, environment(a.group), kernels.availability(a.group)), indent=1))
        return 0
    if a.cmd == "validate":
        from .validate import validate

        return validate(a.files)
    if a.cmd == "bare":
        try:
            import torch  # noqa: F401  (bare times CUDA calls: without torch it cannot run)
        except ImportError:
            print("attnbench_worker: bare needs torch with CUDA, and this python cannot import torch", file=sys.stderr)
            return 2
        from .bare import bare

        return bare(a.jobs, [i for i in a.ids.split(",") if i], a.iters)
    return 2


if __name__ == "__main__":
    sys.exit(main())
