#!/bin/bash
# Rebuilds results/report from the committed GPU results (run here after `npm run build`):
# H200 kernels and CP virtual ranks, their simulator predictions, (results/report-h100) the H100's fair-flex rows, the paper-cp projection with the
# CP executor's own call curves, and CP timelines (two measured on the H200, two simulated).
set -euo pipefail
cd "$(dirname "$0")/.."
AB="node dist/cli/bin.js"
T=$(mktemp -d)
CAL=results/sim/calibration.json
CP="results/h200/cp/virtual-p2.jsonl results/h200/cp/virtual-p4.jsonl results/h200/cp/virtual-p8.jsonl"
$AB sim validate --in results/h200/kernels/paper.jsonl $(printf -- '--in %s ' $CP) --calibration $CAL --out results/sim/validation-h200.jsonl > /dev/null
MEASURED="cp_ring_p2p_sharding_zigzag_causal_document_docLens_prolong64k_seed0_S65536_P8_64x8x128_bfloat16-fwd-virtual.trace.json
cp_dispatch_chunks_8_comm_p2p_granule_128_max_token_ratio_2_sharding_chunked_target_1.02_causal_document_docLens_prolong64k_seed0_S65536_P8_64x8x128_bfloat16-fwd-virtual.trace.json"
tar xzf results/h200/cp/traces.tgz -C "$T" $(for f in $MEASURED; do echo "./virtual/$f"; done)
$AB sim run --preset paper-cp --gpu h100 --kernel flex@cp --calibration $CAL --gpus 16 --family causal_document \
  --scheme ring_p2p,dispatch --direction fwd --out "$T/sim.jsonl" --trace "$T/sim" > /dev/null
rm -rf results/report
$AB report --in results/h200/kernels/paper.jsonl results/h200/kernels/ranges.jsonl results/h200/kernels/rows32k-s11.jsonl results/h200/kernels/sparse16k-s11.jsonl $CP results/h200/cp/issue13-paper_cp_p8.jsonl results/h200/cp/issue13-s8_cp_p8.jsonl results/h200/cp/issue13-s8_cp_p4.jsonl results/h200/cp/issue13-s9_cp_p8.jsonl results/h200/cp/issue13-s9_cp_p4.jsonl results/h200/cp/issue13-s9_kern_p8.jsonl results/h200/cp/issue13-s9_kern_p4.jsonl results/sim/validation-h200.jsonl results/sim/paper-cp-h100-flexcp.jsonl \
  --trace "$T"/virtual/*.trace.json "$T"/sim/*.trace.json --out results/report \
  --title "attnbench results: kernels and CP virtual ranks on an H200, projections to 1024 H100s"
rm -rf "$T"
# the H100's rows against flex on per-row key ranges (the fair flex, README "Correction"), one report per GPU
# block_sparse: flex on 64-blocks through 128-blocks + a bitmap (call33), then the tile choice's cases (call35;
# both kernels in each file, so every ratio stays within one call); 1M beside the fair flex; full / causal CP P = 8
H100="results/h100/kernels/rows32k-s13.jsonl results/h100/kernels/sparse16k-s14-flex128.jsonl results/h100/kernels/sparse64-s15-auto.jsonl results/h100/kernels/cal1m-s14.jsonl results/h100/cp/issue13-s13_kern_p4.jsonl results/h100/cp/issue13-s13_kern_p8.jsonl results/h100/cp/issue13-s13_cp_p8.jsonl"
rm -rf results/report-h100
$AB report --in $H100 --out results/report-h100 \
  --title "attnbench results: triton_ranges against flex on row tables, kernels and CP virtual ranks on an H100" > /dev/null
