#!/bin/bash
# Second device call: the paper's CP setting (8k tokens per GPU, 64:8 heads, d=128, bf16) with
# virtual ranks P = 8, 4, 2 on one GPU (flex), every scheme x {full, causal, full_document,
# causal_document}, checked against the float32 reference. Rows are written as cases finish.
set -uo pipefail
source "$(dirname "$0")/common.sh"
LOG=$OUT/log-8k.txt
{
for spec in 8:${T_P8:-300} 4:${T_P4:-140} 2:${T_P2:-100}; do
  P=${spec%%:*}; T=${spec##*:}
  echo "== virtual ranks P=$P, 8k tokens per rank (S=$((8192 * P)))"
  timed $T python3 -m attnbench_worker.cp run cp-jobs/gpu8k/p$P/index.json --out $OUT/virtual8k-p$P.jsonl --virtual-ranks $P --timeout 200 --trace-dir $OUT/traces
done
} > "$LOG" 2>&1
summarize "$LOG" traces-8k.tgz
