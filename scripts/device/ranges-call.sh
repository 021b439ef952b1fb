#!/bin/bash
# One device call for triton_ranges (issue 13), run from the staged copy (/work/main/.kstage,
# carried with .device): plans jobs with the real CLI, then times tuning variants and the other
# kernels in one process (scripts/device/ranges_tune.py). Steps: "NAME|SECONDS|KERNELS|FLAGS|VARIANTS|TUNE_ARGS".
# Everything lands in $OUT (logs + one archive of results/h200/kernels/ files written by this call).
set -uo pipefail
cd "$(dirname "$0")/../.."
mkdir -p .device /tmp/nodebin
[ -f .device/node.xz ] || cp ../.device/node.xz .device/
xz -dc .device/node.xz > /tmp/nodebin/node && chmod +x /tmp/nodebin/node && export PATH=/tmp/nodebin:$PATH
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD/python
OUT=${OUT:-/tmp/device-out}; mkdir -p "$OUT"
R=results/h200/kernels; mkdir -p $R
AB="node .device/attnbench.mjs"
STAMP=$(mktemp); touch "$STAMP"
save() { (find results -type f -newer "$STAMP" | tar czf "$OUT/results.tgz" -T -) 2>/dev/null; }
trap save EXIT
{ nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader; python3 -c 'import torch, triton; print("torch", torch.__version__, "triton", triton.__version__, "cuda", torch.version.cuda)'; date -u; } | tee "$OUT/env.txt"
for step in "$@"; do
  IFS='|' read -r name secs kern flags variants targs <<< "$step"
  echo "== $name (${secs}s)"
  if [ "$kern" = "sh" ]; then timeout "$secs" bash -c "$flags" 2>&1 | tee -a "$OUT/$name.log"; continue; fi
  rm -rf /tmp/plan-$name
  # shellcheck disable=SC2086
  $AB kernels --executor torch --preset paper --kernel "$kern" $flags --plan-dir /tmp/plan-$name > /tmp/plan-$name.log 2>&1 || { cat /tmp/plan-$name.log; continue; }
  # shellcheck disable=SC2086
  timeout "$secs" python3 scripts/device/ranges_tune.py /tmp/plan-$name --variants "${variants:-[{}]}" --out $R/ranges-$name.jsonl $targs 2>&1 | grep -v "^{" | tee -a "$OUT/$name.log"
  save
done
