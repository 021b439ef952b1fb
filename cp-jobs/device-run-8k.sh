#!/bin/bash
# Second device call: the paper's CP setting (8k tokens per GPU, 64:8 heads, d=128, bf16) with
# virtual ranks P = 8, 4, 2 on one GPU (flex), every scheme x {full, causal, full_document,
# causal_document}, checked against the float32 reference. Rows are written as cases finish.
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH=$PWD/python PYTHONUNBUFFERED=1
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
OUT=${OUT:-/tmp/cp-out}; mkdir -p "$OUT/traces"
LOG=$OUT/log-8k.txt
{
t0=$(date +%s)
for spec in 8:${T_P8:-300} 4:${T_P4:-140} 2:${T_P2:-100}; do
  P=${spec%%:*}; T=${spec##*:}
  echo "== virtual ranks P=$P, 8k tokens per rank (S=$((8192 * P)))"
  timeout $T python3 -m attnbench_worker.cp run cp-jobs/gpu8k/p$P/index.json --out $OUT/virtual8k-p$P.jsonl --virtual-ranks $P --timeout 200 --trace-dir $OUT/traces
  echo "rc=$? t=$(( $(date +%s) - t0 ))s"
done
} > "$LOG" 2>&1
tar czf "$OUT/traces-8k.tgz" -C "$OUT" traces && rm -rf "$OUT/traces"
python3 - "$OUT" <<'PY'
import json, os, sys
for f in sorted(os.listdir(sys.argv[1])):
    if not f.endswith(".jsonl"):
        continue
    for line in open(os.path.join(sys.argv[1], f)):
        r = json.loads(line)
        e = r.get("error") or {}
        mx = max([v["maxAbs"] for k, v in e.items() if isinstance(v, dict) and k != "lse"] or [float("nan")])
        print(f"{f[9:16]} {r['scheme'][:10]:10s} {r['family'][:15]:15s} {r['direction']} {r['status'][:5]:5s} tf={r['tflops'] or 0:6.1f} err={mx:.1e} {(r['message'] or '')[:60]}")
PY
grep -v AOTAutograd "$LOG" | grep -iE "error|Traceback|rc=|==" | tail -30
