#!/bin/bash
# One device call: the CP executor on the GPU machine (torch, no node). Job files: cp-jobs/make.sh
# (run it here first). Measurement records, logs and traces go to $OUT; rows back here with
# `npx tsx src/cp/torch/rows-from-raw.ts --dir cp-jobs/gpu/p2 --raw $OUT/virtual-p2.jsonl --out rows.jsonl`.
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH=$PWD/python PYTHONUNBUFFERED=1
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
OUT=${OUT:-/tmp/cp-out}; mkdir -p "$OUT/traces"
LOG=$OUT/log.txt
{
nvidia-smi -L; python3 -c 'import torch, triton; print("torch", torch.__version__, "triton", triton.__version__, torch.cuda.get_device_name())'
t0=$(date +%s)
echo "== virtual ranks P=2 on the GPU (flex, bf16)"
timeout ${T_P2:-230} python3 -m attnbench_worker.cp run cp-jobs/gpu/p2/index.json --out $OUT/virtual-p2.jsonl --virtual-ranks 2 --timeout 200 --trace-dir $OUT/traces; echo "rc=$? t=$(( $(date +%s) - t0 ))s"
echo "== torchrun gloo, 4 processes, CPU tensors (reference kernel, float32)"
timeout ${T_GLOO:-120} python3 -m torch.distributed.run --standalone --nnodes 1 --nproc_per_node 4 -m attnbench_worker.cp run cp-jobs/gloo/p4/index.json --out $OUT/gloo-p4.jsonl --device cpu --backend gloo --timeout 60; echo "rc=$? t=$(( $(date +%s) - t0 ))s"
echo "== virtual ranks P=4 on the GPU (flex, bf16)"
timeout ${T_P4:-200} python3 -m attnbench_worker.cp run cp-jobs/gpu/p4/index.json --out $OUT/virtual-p4.jsonl --virtual-ranks 4 --timeout 180 --trace-dir $OUT/traces; echo "rc=$? t=$(( $(date +%s) - t0 ))s"
} > "$LOG" 2>&1
tar czf "$OUT/traces.tgz" -C "$OUT" traces && rm -rf "$OUT/traces"
python3 - "$OUT" <<'PY'
import json, os, sys
for f in sorted(os.listdir(sys.argv[1])):
    if not f.endswith(".jsonl"):
        continue
    for line in open(os.path.join(sys.argv[1], f)):
        r = json.loads(line)
        e = r.get("error") or {}
        mx = max([v["maxAbs"] for k, v in e.items() if isinstance(v, dict) and k != "lse"] or [float("nan")])
        print(f"{f[:10]} {r['scheme'][:10]:10s} {r['family'][:15]:15s} {r['direction']} {r['status'][:5]:5s} tf={r['tflops'] or 0:7.1f} err={mx:.1e} {(r['message'] or '')[:80]}")
PY
grep -v "^\s*$" "$LOG" | grep -iE "error|Traceback|rc=|==|torch" | tail -40
