"""Context-parallel plan executor for GPUs (and CPU tensors): runs the per-rank job files that
`src/cp/torch/manifest.ts` writes from a Plan, one process per rank under torchrun
(torch.distributed: NCCL on GPUs, gloo on CPU tensors) or every rank in one process
("virtual ranks": messages become device copies, compute is timed per rank).

Layering (one way): manifest (job files, stdlib) -> logic (buffer layouts, group order, step
reads/writes; stdlib) -> partial (kernels/<id>.py's partial-attention entry, merge; torch) ->
buffers, comm (real or virtual) -> executor (steps of one rank) -> check (inputs, masks as
PartialSteps, the reference, errors), timing, output, rows -> runner (cases).
Only `manifest`, `logic` and `record` are imported without torch; CI tests them with the standard library.
"""

from ..tables import CP_JOB_FORMAT as JOB_FORMAT  # noqa: F401 - shared with TypeScript (tables.json)
from ..tables import CP_JOB_VERSION as JOB_VERSION  # noqa: F401
