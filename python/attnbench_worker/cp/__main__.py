"""python -m attnbench_worker.cp run MANIFEST... --out results.jsonl [options]

Real ranks (one process per rank, started by torchrun; RANK / WORLD_SIZE / LOCAL_RANK from it):
    torchrun --nproc-per-node 8 -m attnbench_worker.cp run jobs/index.json --out r.jsonl
Virtual ranks (every rank of each plan in this process, one device):
    python -m attnbench_worker.cp run jobs/index.json --out r.jsonl --virtual-ranks 8

Exit codes: 0 every case ok; 1 some case failed (its row says why); 2 bad arguments or job
files; 3 this rank failed inside a step (dist mode; its peers are stopped by torchrun);
124 the watchdog ended a hung case.

OUT.heartbeat is touched when the cases start and then every few seconds while steps keep
starting: the TypeScript launcher (src/cp/torch/run.ts) stops a launch whose heartbeat, rows and
output all stay still for --timeout plus a margin, in case this process's watchdog could not.
"""

import argparse
import os
import sys


def parse(argv):
    ap = argparse.ArgumentParser(prog="python -m attnbench_worker.cp", description="Run CP plan job files on torch.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run manifests (or index files listing them)")
    r.add_argument("manifests", nargs="+")
    r.add_argument("--out", required=True, help="result rows (JSONL, appended as each case finishes)")
    r.add_argument("--virtual-ranks", type=int, default=None, help="run all P ranks of each plan in this process")
    r.add_argument("--backend", choices=("nccl", "gloo"), default=None, help="default: nccl on cuda, gloo on cpu")
    r.add_argument("--device", choices=("cuda", "cpu"), default=None, help="default: cuda when available")
    r.add_argument("--timeout", type=float, default=600.0, help="seconds without a step starting before a case is ended")
    r.add_argument("--dtype", choices=("bfloat16", "float16", "float32"), default=None, help="override the job's dtype")
    r.add_argument("--kernel", default=None, help="override the job's kernel: auto (triton_ranges, else flex, on CUDA; the reference elsewhere), or a kernel id with a partial-attention entry (triton_ranges, flex, reference, ...)")
    r.add_argument("--warmup", type=int, default=None)
    r.add_argument("--iters", type=int, default=None)
    r.add_argument("--resume", action="store_true", help="skip cases whose every direction already has an ok row in --out")
    r.add_argument("--no-check", action="store_true", help="skip the reference check")
    r.add_argument("--trace-dir", default=None, help="write a Chrome/Perfetto trace per case and direction")
    r.add_argument("--kernel-module", action="append", default=[], metavar="MODULE|FILE.py",
                   help="load an external kernel module (repeatable; kernels/external.py); --kernel names its ID")
    return ap.parse_args(argv)


def main(argv=None):
    args = parse(sys.argv[1:] if argv is None else argv)
    if argv is None:  # a launch of the CLI (src/cp/torch/spawn.ts): end with it, even when it is killed -9
        from ..lifeline import end_with_launcher

        end_with_launcher()
    if args.kernel_module:
        from ..kernels.external import KernelModuleError, use

        try:
            use(args.kernel_module)
        except KernelModuleError as e:
            print(f"attnbench-cp: {e}", file=sys.stderr)
            return 2
    from .manifest import ManifestError, expand_paths, load_manifest

    try:
        paths = expand_paths(args.manifests)
    except ManifestError as e:
        print(f"attnbench-cp: {e}", file=sys.stderr)
        return 2
    if args.virtual_ranks is not None and args.virtual_ranks < 1:
        print("attnbench-cp: --virtual-ranks must be >= 1", file=sys.stderr)
        return 2
    try:
        import torch
    except ImportError:
        print("attnbench-cp: torch is not installed for this python", file=sys.stderr)
        return 2
    from . import runner
    from .runner import Options, run_cases

    _heartbeat(runner, args.out + ".heartbeat")

    want = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if want == "cuda" and not torch.cuda.is_available():
        print("attnbench-cp: --device cuda but no CUDA device is visible", file=sys.stderr)
        return 2
    command = " ".join([os.path.basename(sys.executable), "-m", "attnbench_worker.cp"] + (sys.argv[1:] if argv is None else list(argv)))
    world_env = int(os.environ.get("WORLD_SIZE", "1"))
    virtual = args.virtual_ranks is not None
    if args.virtual_ranks is not None and world_env > 1:
        print("attnbench-cp: --virtual-ranks runs in one process; do not launch it under torchrun with several", file=sys.stderr)
        return 2
    if virtual:
        device = torch.device(want)
        opts = Options(mode="virtual", virtual_ranks=args.virtual_ranks, backend="none", device=device, out=args.out,
                       trace_dir=args.trace_dir, timeout=args.timeout, dtype=args.dtype, kernel=args.kernel,
                       warmup=args.warmup, iters=args.iters, check=not args.no_check, command=command, resume=args.resume)
    else:
        import datetime

        import torch.distributed as dist

        from .comm import DistComm

        backend = args.backend or ("nccl" if want == "cuda" else "gloo")
        if backend == "nccl" and want != "cuda":
            print("attnbench-cp: nccl needs --device cuda (use gloo for CPU tensors)", file=sys.stderr)
            return 2
        if "RANK" not in os.environ:  # not under torchrun: a world of one process
            os.environ.update(RANK="0", WORLD_SIZE="1", LOCAL_RANK="0", MASTER_ADDR="127.0.0.1")
            os.environ.setdefault("MASTER_PORT", str(_free_port()))
        local = int(os.environ.get("LOCAL_RANK", "0"))
        if want == "cuda":
            torch.cuda.set_device(local)
            device = torch.device("cuda", local)
        else:
            device = torch.device("cpu")
        # The dist timeout backs up the watchdog (which fires first, with the step named).
        dist.init_process_group(backend, timeout=datetime.timedelta(seconds=args.timeout + 60))
        comm = DistComm(backend, device)
        dist.barrier()
        opts = Options(mode="dist", backend=backend, device=device, out=args.out, trace_dir=args.trace_dir,
                       timeout=args.timeout, dtype=args.dtype, kernel=args.kernel, warmup=args.warmup, iters=args.iters,
                       check=not args.no_check, rank=dist.get_rank(), world=dist.get_world_size(), comm=comm, command=command,
                       resume=args.resume)
    failed = run_cases(paths, opts, load_manifest)
    if opts.mode == "dist":
        import torch.distributed as dist

        dist.barrier()
        dist.destroy_process_group()
    return 1 if failed else 0


def _heartbeat(runner, path, every=5.0):
    """Makes the runner's progress record touch PATH: once when the cases start, then at most
    every EVERY seconds while steps start (each rank may touch it; the file holds nothing)."""
    import time

    base = runner.Progress
    last = [-float("inf")]

    def beat(t):
        if t - last[0] >= every:
            last[0] = t
            try:
                with open(path, "a"):
                    os.utime(path)
            except OSError:
                pass

    class Progress(base):
        def __init__(self):
            base.__init__(self)
            beat(time.monotonic())

        def touch(self, rank=None, where=None):
            base.touch(self, rank, where)
            beat(self.t)

    runner.Progress = Progress


def _free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


if __name__ == "__main__":
    sys.exit(main())
