"""Context-parallel plan executor for GPUs (and CPU tensors): runs the per-rank job files that
`src/cp/torch/manifest.ts` writes from a Plan, one process per rank under torchrun
(torch.distributed: NCCL on GPUs, gloo on CPU tensors) or every rank in one process
("virtual ranks": messages become device copies, compute is timed per rank).

Layering (one way): manifest (job files, stdlib) -> logic (buffer layouts, group order, step
reads/writes, row ranges; stdlib) -> kernels (partial attention with log-sum-exp; torch) ->
comm (real or virtual) -> executor (steps of one rank) -> runner (cases, timing, checks, rows).
Only `manifest` and `logic` are imported without torch; CI tests them with the standard library.
"""

JOB_FORMAT = "attnbench.cp.job"
JOB_VERSION = 1
