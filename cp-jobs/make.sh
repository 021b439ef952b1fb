#!/bin/bash
# Writes the job folders that device-run.sh and device-run-8k.sh execute (run here, where node is;
# the GPU machine has python and torch but no node). Generated folders are not committed.
set -euo pipefail
cd "$(dirname "$0")/.."
mk() { npx tsx src/cp/torch/make-jobs.ts "$@"; }
rm -rf cp-jobs/gloo cp-jobs/gpu cp-jobs/gpu8k
# torchrun + gloo, 4 CPU processes: every scheme (and 2-D layouts) x the four families, float32.
mk --dir cp-jobs/gloo --worlds 4 --tokens-per-rank 128 --heads 8:2 --head-dim 32 --dtype float32 --kernel reference \
  --warmup 2 --iters 5 --no-block-tables --layouts 'usp:ulysses=2;ring=2|loongtrain:hp=1;cp=4;window=2|ring_p2p:sharding=contiguous'
# Virtual ranks on the GPU, small S (2k tokens per rank) and the paper setting (8k per rank).
mk --dir cp-jobs/gpu --worlds 2,4 --tokens-per-rank 2048 --heads 64:8 --head-dim 128 --dtype bfloat16 --kernel flex --warmup 3 --iters 10
mk --dir cp-jobs/gpu8k --worlds 2,4,8 --tokens-per-rank 8192 --heads 64:8 --head-dim 128 --dtype bfloat16 --kernel flex --warmup 3 --iters 10
