#!/bin/bash
# A/B of the virtual-rank host cover (python/attnbench_worker/cp/timing.py HostCover, e84c969):
# the same CP cases with ATTNBENCH_CP_HOST_COVER=0 (rank spans may hold host launch gaps) and with
# the default (a GPU sleep before each run covers the host's launches), one file each, on the
# device machine from a staged copy (as scripts/device/issue13.sh: .device/node.xz and
# .device/attnbench.mjs). Usage: bash scripts/device/cover-ab.sh [SECONDS per side, default 100: 35 s was too short on an H100 (both sides cut while compiling)]
set -uo pipefail
cd "$(dirname "$0")/../.."
T=${1:-100}
mkdir -p /tmp/nodebin
[ -x /tmp/nodebin/node ] || { xz -dc .device/node.xz > /tmp/nodebin/node && chmod +x /tmp/nodebin/node; }
export PATH=/tmp/nodebin:$PATH PYTHONUNBUFFERED=1 PYTHONPATH=$PWD/python
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
G=$( (nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null || true) | head -1 | grep -oiE 'h100|h200' | tr 'A-Z' 'a-z' | head -1)
G=${G:-h200}
mkdir -p results/$G/cp
LOG=results/$G/cp/cover-ab-commands.log
CASES="--virtual-ranks 8 --kernel triton_ranges --scheme ulysses,dispatch --family causal_document --tokens-per-rank 8192 --warmup 2 --iters 5"
for side in 0 1; do
  F=results/$G/cp/cover-ab-cover$side.jsonl
  echo "$(date -u +%FT%TZ) ATTNBENCH_CP_HOST_COVER=$side node .device/attnbench.mjs cp run --executor torch $CASES --out $F --resume --timeout 600" | tee -a "$LOG"
  # shellcheck disable=SC2086
  ATTNBENCH_CP_HOST_COVER=$side timeout "$T" node .device/attnbench.mjs cp run --executor torch $CASES --out "$F" --resume --timeout 600 2>&1 \
    | grep -v -e AOTAutograd -e '^\s*$' | tail -8
done
python3 - "$G" <<'PY'
import json, sys
g = sys.argv[1]
for side in (0, 1):
    try:
        rows = [json.loads(l) for l in open(f"results/{g}/cp/cover-ab-cover{side}.jsonl")]
    except OSError:
        continue
    for r in rows:
        per = r.get("perRank") or r.get("ranks") or []
        print(f"cover={side} {r['scheme']:9s} {r['direction']} {r['status']} TFLOP/s {r.get('tflops')}")
PY
