#!/bin/bash
# One device call: the CP executor on the GPU machine (torch, no node). Job files: cp-jobs/make.sh
# (run it here first). Measurement records, logs and traces go to $OUT; rows back here with
# `npx tsx src/cp/torch/rows-from-raw.ts --dir cp-jobs/gpu/p2 --raw $OUT/virtual-p2.jsonl --out rows.jsonl`.
set -uo pipefail
source "$(dirname "$0")/common.sh"
LOG=$OUT/log.txt
{
nvidia-smi -L; python3 -c 'import torch, triton; print("torch", torch.__version__, "triton", triton.__version__, torch.cuda.get_device_name())'
echo "== virtual ranks P=2 on the GPU (flex, bf16)"
timed ${T_P2:-230} python3 -m attnbench_worker.cp run cp-jobs/gpu/p2/index.json --out $OUT/virtual-p2.jsonl --virtual-ranks 2 --timeout 200 --trace-dir $OUT/traces
echo "== torchrun gloo, 4 processes, CPU tensors (reference kernel, float32)"
timed ${T_GLOO:-120} python3 -m torch.distributed.run --standalone --nnodes 1 --nproc_per_node 4 -m attnbench_worker.cp run cp-jobs/gloo/p4/index.json --out $OUT/gloo-p4.jsonl --device cpu --backend gloo --timeout 60
echo "== virtual ranks P=4 on the GPU (flex, bf16)"
timed ${T_P4:-200} python3 -m attnbench_worker.cp run cp-jobs/gpu/p4/index.json --out $OUT/virtual-p4.jsonl --virtual-ranks 4 --timeout 180 --trace-dir $OUT/traces
} > "$LOG" 2>&1
summarize "$LOG" traces.tgz
