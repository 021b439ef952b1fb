#!/bin/bash
# The multi-process CP path checked on the GPU machine's CPUs, through the CLI (issue 5): torchrun
# with gloo, 4 processes, CPU tensors, float32, the reference kernel; every scheme (and 2-D
# layouts) x the four families; then the fault paths (a rank that raises, a rank that hangs) and
# a world-size mismatch. Also 2 and 8 processes. Run as a step of kernels.sh (node on PATH, cwd = repo root):
#   bash scripts/device/kernels.sh "sh:bash scripts/device/cp-check.sh"
set -uo pipefail
TAG=${GPU_TAG:-gpu}; D=results/$TAG/cp; mkdir -p "$D"
AB=${AB:-node .device/attnbench.mjs}
# Elsewhere (a CPU machine with torch; the GPU step is skipped without nvidia-smi):
#   AB="node dist/cli/bin.js" ATTNBENCH_PYTHON=/usr/bin/python3 GPU_TAG=cpu bash scripts/device/cp-check.sh
SCHEMES=ulysses,ring_p2p,ring_allgather,usp,loongtrain,dispatch
FAM=full,causal,full_document,causal_document
G="cp run --executor torch --device cpu --backend gloo --nproc-per-node 4 --world 4 --kernel reference
   --tokens-per-rank 128 --heads 8:2 --head-dim 32 --dtype float32 --warmup 2 --iters 5 --family $FAM"
quiet() { grep -v -e AOTAutograd -e OMP_NUM_THREADS -e '^\**$' -e '^\s*$'; }
t() { local t0=$(date +%s); "$@"; local rc=$?; echo "-> rc=$rc in $(( $(date +%s) - t0 )) s"; }

echo "== gloo, 4 processes: every scheme x the four families"
# shellcheck disable=SC2086
t $AB $G --scheme $SCHEMES --out $D/gloo-p4.jsonl --trace-dir $D/traces/gloo --resume 2>&1 | quiet
echo "== gloo: 2-D layouts (usp 2x2, loongtrain hp=1 cp=4 window=2, ring_p2p contiguous)"
# shellcheck disable=SC2086
t $AB $G --scheme usp --layout ulysses=2,ring=2 --out $D/gloo-p4.jsonl --resume 2>&1 | quiet
# shellcheck disable=SC2086
t $AB $G --scheme loongtrain --layout hp=1,cp=4,window=2 --out $D/gloo-p4.jsonl --resume 2>&1 | quiet
# shellcheck disable=SC2086
t $AB $G --scheme ring_p2p --layout sharding=contiguous --out $D/gloo-p4.jsonl --resume 2>&1 | quiet

for n in 2 8; do
  echo "== gloo, $n processes: every scheme x the four families"
  # shellcheck disable=SC2086
  t $AB ${G//--nproc-per-node 4 --world 4/--nproc-per-node $n --world $n} --scheme $SCHEMES --out $D/gloo-p$n.jsonl --resume 2>&1 | quiet
done

rm -f $D/faults.jsonl $D/faults.jsonl.faults.jsonl
echo "== fault: rank 2 raises in forward step 3 (expect error rows naming rank 2 step 3, exit != 0)"
# shellcheck disable=SC2086
t env ATTNBENCH_CP_FAULT=2:fwd:3:raise $AB $G --scheme ring_p2p,ulysses --family causal --out $D/faults.jsonl 2>&1 | quiet
echo "== fault: rank 1 hangs in backward step 2, --timeout 20 (expect a timeout row naming where each rank was)"
# shellcheck disable=SC2086
t env ATTNBENCH_CP_FAULT=1:bwd:2:hang $AB $G --scheme ring_p2p --family causal --timeout 20 --out $D/faults.jsonl 2>&1 | quiet
echo "== fault: virtual ranks, rank 3 hangs in forward step 1 on the GPU, --timeout 20"
command -v nvidia-smi >/dev/null && t env ATTNBENCH_CP_FAULT=3:fwd:1:hang $AB cp run --executor torch --virtual-ranks 4 --scheme ring_allgather --family causal \
  --tokens-per-rank 1024 --timeout 20 --warmup 1 --iters 2 --out $D/faults.jsonl 2>&1 | quiet
echo "== bad input: 4 processes for a plan of 2 ranks (expect one clear line, exit != 0)"
# shellcheck disable=SC2086
t $AB cp run --executor torch --device cpu --backend gloo --nproc-per-node 4 --world 2 --kernel reference --tokens-per-rank 128 \
  --heads 8:2 --head-dim 32 --dtype float32 --scheme ulysses --family causal --out /tmp/mismatch.jsonl 2>&1 | quiet
echo "== fault rows:"
python3 - "$D/faults.jsonl" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    print(r["status"], r["scheme"], r["direction"], (r.get("message") or "")[:300])
EOF
