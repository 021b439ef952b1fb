#!/bin/bash
# One device call of the kernel study, through the real CLI (node and the bundle are carried:
# `bash ../shared/tools/device-node.sh && npm run build && node scripts/device-bundle.mjs`, then
# run with carry [".device"]). Each argument is one step: extra flags for
#   attnbench kernels --executor torch --preset paper --out results/<gpu>/kernels/paper.jsonl --resume
# (<gpu> from nvidia-smi: h100, h200, ...; GPU_TAG overrides; KFILE=name.jsonl writes another file of that folder).
# Rows are appended as measured and every step resumes, so a call cut short loses only its
# running case; the files come back through $OUT (one archive) and are committed, and the next call
# resumes from them. A step `fidelity` runs the timing-fidelity check instead (harness vs a bare
# CUDA-event loop, causal S=32k forward, sdpa_cudnn and flex); a step `sh:CMD` runs CMD.
set -uo pipefail
cd "$(dirname "$0")/../.."
mkdir -p /tmp/nodebin && xz -dc .device/node.xz > /tmp/nodebin/node && chmod +x /tmp/nodebin/node && export PATH=/tmp/nodebin:$PATH
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD/python
OUT=${OUT:-/tmp/device-out}; mkdir -p "$OUT"
GPU_TAG=${GPU_TAG:-$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 | grep -oiE '[abhl][0-9]{2,3}' | head -1 | tr A-Z a-z)}
export GPU_TAG=${GPU_TAG:-gpu}
R=results/$GPU_TAG/kernels; mkdir -p $R
AB="node .device/attnbench.mjs"
END=$(( $(date +%s) + ${BUDGET_S:-560} ))
left() { echo $(( END - $(date +%s) )); }
STAMP=$(mktemp); touch "$STAMP"
# $OUT takes at most 8 files: everything this call wrote under results/<gpu>/ goes back as one
# archive with its paths (unpack it in the repo root: `tar xzf results-<gpu>.tgz`).
save() {
  (find results/${GPU_TAG:-gpu} -type f -newer "$STAMP" | tar czf "$OUT/results-${GPU_TAG:-gpu}.tgz" -T -) 2>/dev/null
}
trap save EXIT
[ -s $R/doctor.json ] || { $AB doctor --json > $R/doctor.json 2> "$OUT/doctor.err"; cp $R/doctor.json "$OUT/"; }
for step in "$@"; do
  [ "$(left)" -le 15 ] && { echo "== out of time before: $step"; break; }
  echo "== $step ($(left) s left)"
  if [ "${step:0:3}" = "sh:" ]; then
    timeout "$(left)" bash -c "${step:3}"
  elif [ "$step" = fidelity ]; then
    $AB kernels --executor torch --preset paper --family causal --seqlen 32k --direction fwd --kernel sdpa_cudnn,flex --plan-dir /tmp/fid >/dev/null &&
      timeout "$(left)" python3 -m attnbench_worker bare /tmp/fid/jobs.jsonl --iters 20 | tee -a $R/fidelity.jsonl
  else
    # shellcheck disable=SC2086
    timeout "$(left)" $AB kernels --executor torch --preset paper --job-timeout 120 --out $R/${KFILE:-paper.jsonl} --resume $step 2>&1 | grep -v AOTAutograd | grep -v "^\s*$"
  fi
  echo "rc=$? ($(left) s left)"; save
done
