#!/bin/bash
# Issue 13 on the H200 in three device calls of <= 10 minutes: triton_ranges beside flex and
# sdpa_cudnn in the same call, on the issue's target shapes, with an ncu profile and the CP
# virtual-rank comparison. Rows land under results/h200/kernels/ (and results/h200/cp/), each
# with its env and command (the CLI writes both into every row; ranges_tune.py rows get the env
# file of the call beside them); $OUT gets one archive of everything the call wrote, the logs, and
# env.txt.
#
#   bash scripts/device/issue13.sh --help            this text
#   bash scripts/device/issue13.sh plan [CALL]       NO GPU: plan every step's cases (of CALL only, if
#                                                    given) through the real CLI (--plan-dir), print
#                                                    them and a time estimate
#   bash scripts/device/issue13.sh call1|call2|call3 on the device machine
#
# Calling convention (as scripts/device/kernels.sh): here, `npm run build && node scripts/device-bundle.mjs`
# (.device/attnbench.mjs) and node as .device/node.xz (../shared/tools/device-node.sh); stage
# the worktree into a carried folder (e.g. /work/main/.kstage: tar without .git, node_modules,
# dist) and run from its root, carry [".kstage", ".device"] (or [".device"] from the repo root):
#   run command: cd .kstage && bash scripts/device/issue13.sh call1   (BUDGET_S, default 500 s: the
#   three calls back to back, the machine kept warm between them, fit the 30-minute device budget)
#   Stage with `git rev-parse --short HEAD > .kstage/.git-rev` so the env file names the commit.
#   Keep results/sim/calibration.json in the staged copy: `cp run --executor torch` plans dispatch's
#   form (steps, pattern, split) with its flex@cp curves (else the planner's generic model).
# Each call resumes (--resume / per-step files), so a call cut short loses only its running case;
# unpack $OUT/issue13-<call>.tgz in the repo root and commit the rows before the next call.
#   call1  GPU check of the compiled kernels (S 2k, --check against float32: 64:8 d 128 with the
#          persistent variant, 12:4 d 64), then the 32k rows: the 12 families the issue names x
#          triton_ranges, flex, sdpa_cudnn x fwd, bwd
#   call2  A/B of the tuning choices at 32k on causal_document (bandsStatic, persistent grid, the
#          old 64x64 bwd tiles, dQ atomics) beside flex and sdpa_cudnn, then block_sparse 16k at
#          heads 64:8 and 4:4, 64- and 128-blocks, every kept fraction of the sparse suite
#   call4  (2026-12-05) causal_document 1M via ranges_tune.py, CP P = 4 / 8 per kernel, dQ-atomics A/B, sparse 64:8
#   call5  what call4 left: pipelining-depth A/B, CP flex beside ours, sparse 4:4
#   call6  occupancy A/B (split tiles, one-warpgroup dK/dV, depth) per direction
#   call7  issue 14: paper-cp virtual ranks P = 8, 4 (every scheme, flex) on the document families
#   call8  scarce loans: split check + forward A/B (13), paper-cp P = 8 (14), calibrate preset (15)
#   (tune steps resume: ranges_tune.py --resume skips the runs their file holds; ratios stay within one call)
#   call9  what call8 / call10 leave: every family checked at 2k, the paper-cp P = 8 document rows
#          (errored rows again), calibrate (resumed), paper-cp P = 4, then full and causal at P = 8
#          and 4 (the four paper families of issue 14). Next session: call9 (twice if cut), from a
#          .kstage of main with results/sim/calibration.json (and results/<gpu>/ to resume)
#   call12 (lead, 2026-12-05, ran on an H100) call11's variants and the one-loop kernels (fwdFlat /
#          dqFlat / bwdFlat: lost 35-50%, removed, so their variants are now refused) in one call
#   call13 the fused backward (now the d 128 default) against the two-launch one, the paper-cp P = 8
#          document rows left, and triton_ranges as the CP executor's kernel at P = 8 (issue 13's CP target)
#   call11 (seventh pass) the new variants checked at 2k against float32, then the forward A/B at 32k
#          (the short-loop rule that picks split tiles from the work list, against the old default;
#          3 capped split programs per SM) and the backward A/B (flex's shapes: dQ at 3 stages, dQ and
#          dK/dV in one launch, 64-row dK/dV steps), beside flex and sdpa_cudnn; ~480 s on an H100
#   call14 (kernel2) split dK/dV rows at few heads (src/mask/adapters/ranges-split.ts): 2k check of
#          causal_document at 16:2 and 4:1 against float32, then the backward at 16k beside flex,
#          split ({}) against whole rows ({"bwdSplit":0}); causal 16:2 is the no-split control
#   call15 (2026-12-05, seventh session) call14's split dK/dV check and 16k backward, then issue 13's
#          CP target in one call: virtual ranks P = 8 and 4, 8k tokens per rank, causal_document and
#          full_document, dispatch / ulysses / ring_allgather with flex and with triton_ranges (the
#          dispatch rows also re-measure issue 14's planner on the GPU)
#   call17 (kernel2, ninth pass) the gathered forward (fwdGather: partial tiles of <= 2 bands as one
#          pipelined loop over step records; full tiles by an index list, or by the runs loop with
#          fwdGatherFull 0): 2k check against float32, then the 32k forward A/B beside flex on eight
#          families, and block_sparse 16k 64:8 at kept 0.1 / 0.2 (64- and 128-blocks)
#   call16 (ninth pass, kernel helper) dK/dV on long key loops: LSE / DELTA packed per KV group
#          (bwdPackLse), flex's 64-row dK/dV steps, both, 4 stages: 2k check against float32, then the 32k
#          backward (causal, block_causal_document, sliding_window, full_document_long) and
#          block_sparse 16k 128-blocks (64:8, 4:4) beside flex; ~290 s by `plan call16`
#   call18 (eighth session, one warm H200 loan for three calls) issue 14's virtual-rank target on the
#          four paper families: paper-cp at P = 8 and 4, every scheme, triton_ranges as the CP kernel
#          (the executor's kernel of issue 13; flex compiles for minutes per P), 2 warm-up + 5 runs
#   call19 what call18 left (resumed), issue 13's 12-family 32k rows at the current defaults beside
#          flex and sdpa_cudnn (rows32k-s8.jsonl), then issue 15's calibrate preset
#   call20 calibrate (resumed), then the gathered-forward rule's A/B (ab_fwd17r)
#          Between calls the device keeps results in /tmp/keep (copy them in before, out after),
#          so a call resumes the previous one's rows without re-staging.
#   call21 (eleventh pass, kernel helper) 64-row programs (heads 4:4 with 64-blocks, block_sparse 16k: fwd 0.55-0.65x
#          flex, fwd + bwd 0.35-0.45x triton_blocksparse on the H200): one warpgroup (fwdWarps / bwdWarps 4: the default
#          8 warps compute S twice on 64 rows, one program per SM), the full-tile index list (fwdGather 2: 80%
#          of the runs are one 64-key step); 2k check against float32, then 16k beside flex and
#          triton_blocksparse (64-blocks kept 0.2 / 0.5, 128-blocks kept 0.2 as the control), the 4k 4:4
#          backward (launch-bound) beside flex; budgets 305 s, ~245 s by `plan call21`
#   call22 (kernel2, twelfth pass) the launch order's L2 reuse (src/bench/ranges-l2.ts): tuning lptLaunch 1 launches
#          the lists in plain LPT order, not regrouped by the persistent grid's shares (today's order: programs of
#          far-apart query tiles, 8 KV heads interleaved; the CPU model puts 50 MB L2 K/V hits at 3-67% today,
#          94-99% with the key). 2k check against float32, then 32k {} vs the key vs {} again beside flex, fwd and bwd
#          on five families at 64:8 and causal at 16:2; ~204 s by `plan call22` (budgets 250 s)
#   call23 (ninth session) issue 14: dispatch's default forms since cdb7150 (planned with the triton_ranges@cp
#          curves: P = 8 causal_document steps=one_overlap, full_document steps=one, P = 4 full_document steps=one)
#          beside the forms call18 measured (given by --layout) and the best other schemes of call18, paper-cp,
#          triton_ranges as the CP kernel, same call; ~200 s
#   call24 issue 13's CP target: the same paper-cp command (dispatch, ulysses, ring_allgather; causal_document,
#          full_document; P = 8 and 4) with flex and with triton_ranges as the CP kernel, same call; ~360 s
#   call25 (thirteenth pass, kernel helper) head dims other than 64 / 128 (16..256, multiples of 8; 80 / 96 / 192 run
#          as 128 / 256 masked columns): their tunings come from the sm_90a compile only (scripts/kernel-aot.py 'dims').
#          2k check against float32 at 32, 80, 96, 192, 256 (64:8 and 4:4; fwd + bwd), then 32k causal and
#          causal_document beside flex at 32, 96, 256 (64:8), and d 256's two dK/dV launches against one; ~310 s by
#          `plan call25` (new head dims compile new kernels: budgets 410 s, run it with BUDGET_S=450)
#   call26 (eleventh session) the defaults that call21, call22 and call25 chose (on an H100), against the
#          old tuning given as a variant, the default run twice: 64-row programs (block_sparse 16k 4:4,
#          64-blocks), the forward's plain LPT order (sliding_window, causal_document 32k 64:8) and d 256's
#          one dK/dV launch (causal_document 32k 64:8); 2k checks of the new defaults against float32
#          (64-rows first, d 256 last), and two further d 256 backward steps; ~170 s by `plan call26` (budgets 185 s)
#   call27 (eleventh session) the README's H200 tables again with the current defaults: the 12 families at 32k
#          beside flex and sdpa_cudnn (rows32k-s11.jsonl; call19's rows32k-s8.jsonl has the old defaults), then
#          block_sparse 16k at 4:4 and 64:8 beside flex and triton_blocksparse (sparse16k-s11.jsonl); ~480 s
#   call28 (twelfth session; typed by hand on the warm H200, recorded here as steps) the backward's steps by head dim:
#          32-row dK/dV and 32-key dQ at d 256 / 192 / 128, 32-row partial steps at d 32, beside flex, the default
#          twice, 2k checks of the adopted steps (now the defaults of d > 128 and d <= 32: run as given they
#          measure default against default)
#   call29 (twelfth session) what call28 left: the same steps at d 64, 48 and 96 (d 64's tuning class
#          and the padded 72..120 class), the old dispatch forms call23 cut (P = 8 overlap, P = 4
#          one_overlap backward) with longer budgets, and causal_document 1M / few heads (calibrate
#          preset cases) at the current defaults, and block_sparse 64:8 64-block backward variants; budgets sum to
#          615 s (estimates ~480 s): run with BUDGET_S=560, the 1M step last
#   call30 (twelfth session) why flex's CP backward got slower after 2026-12-01: ulysses causal_document P = 8
#          with flex alone, compiled per shape (ATTNBENCH_FLEX_CP_DYNAMIC=0), host cover off, the mask_mod over
#          per-row key ranges (ATTNBENCH_FLEX_CP_MASK=rows); P = 4 call24's flex rows compiled per shape (compare
#          with issue13-s9_kern_p4.jsonl); ~450 s of budgets
#   call31 (thirteenth session) every flex comparison again with flex's mask_mod over per-row key ranges (the
#          default since 3668279: flex's document backward 1.7-2.5x faster than with the slice predicate on an
#          H100): the 12 families at 32k beside flex and sdpa_cudnn (rows32k-s13.jsonl), block_sparse 16k at 4:4
#          and 64:8 (sparse16k-s13.jsonl), CP P = 8 / 4 both kernels (issue13-s13_kern_p{8,4}.jsonl; flex's CP
#          steps: row tables backward, predicate forward), flex CP compiled per shape in the same setting
#          (ATTNBENCH_FLEX_CP_DYNAMIC=0), ulysses with the GC left on in timed runs (ATTNBENCH_CP_GC=1),
#          full / causal P = 8 every scheme with the GC paused (issue 14's per-direction gaps), the predicate
#          once more for the 32k documents (flexmask-s13-slices);
#          budgets ~1190 s: run as three calls, BUDGET_S=560 each (a later call resumes). Three calls of the
#          fourteenth session (H100) left flex's P = 8 full_document, most of the per-shape step, full / causal and
#          the predicate step: run it again (budgets of the P = 8 steps raised: 110 s cut every one)
#   call32 (thirteenth session) the d 128 backward's knobs on causal_document, full_document, share_question
#          at 32k beside flex on row tables (where the two are at parity), the default twice; before it, 1k-8k
#          launches of flex, sdpa_efficient, triton_ranges with and without ATTNBENCH_KERNEL_HOST_COVER=1; ~410 s
#   call33 (fourteenth session) causal_document 1M 4:1 beside flex on row tables (cal1m-s14.jsonl); block_sparse
#          16k (4:4, 64:8) with flex on 128-blocks + a 64-block bitmap in both directions (ATTNBENCH_FLEX_BLOCK=128,
#          sparse16k-s14-flex128.jsonl; its 128-block cases, unchanged by the knob, measure the noise); ~390 s
#   call34 (fourteenth session) Hopper warp specialization (Triton 3.6 tl.range(warp_specialize=True)) on a probe
#          forward shaped like the loop triton_ranges would need (scripts/ws-probe.py: one head per program, Q/K/V
#          by on-device TMA descriptors, one flat loop over full and band-masked steps): 2k check against float64,
#          then causal 32k 64:8 d128 forward, 8 warps without WS / 4 warps with WS (3 warpgroups) / 8 warps again,
#          beside torch sdpa (ws-probe-s14.jsonl); then triton_ranges' default beside flex and sdpa_cudnn on the same
#          case (ranges-ws_ref.jsonl) for the same-call reference; ~120 s
#   call35 (fifteenth session) triton_ranges on 64-blocks with its tiles by estimate (src/mask/adapters/ranges-choice.ts)
#          beside flex (128-blocks + bitmap) and both forced tiles (ATTNBENCH_RANGES_TILES=block / 128), block_sparse
#          16k s 0.5 / 0.8 / 1, 64:8 and 4:4 (sparse64-s15-{auto,block,wide}.jsonl); 128-key tiles on 64-blocks
#          against float32 at 2k (check35-wide.jsonl); ~250 s
#   call36 (fifteenth session) the revised tile estimate at block_sparse 16k 64:8 s 0.9, the pick beside both forced
#          tiles and flex (sparse64-s15b-*.jsonl); the WS probe again with a 4-warp run without WS (ws-probe-s15.jsonl); ~150 s
#   call3  ncu of _fwd / _dkdv / _dq (and flex's) on
#          causal_document 32k, CP virtual ranks P = 4, 8 at 8k tokens per rank (triton_ranges vs
#          flex, ring_p2p and ulysses), last a 4:4 d 128 check
set -uo pipefail
cd "$(dirname "$0")/../.."
usage() { sed -n '2,/^set -uo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
# A CP step's leading 'env:VAR=VALUE' words (an A/B knob of the worker, this step only): off $a, into envs.
step_env() { envs=(); while [[ "$a" == env:* ]]; do envs+=("${a%% *}"); envs[-1]=${envs[-1]#env:}; a=${a#* }; done; }
# The calls this script knows: plan and call1 .. call$LAST_CALL (their steps: scripts/device/issue13-calls.sh).
LAST_CALL=39
known_call() { [ "$1" = plan ] || { [[ "$1" =~ ^call([1-9][0-9]*)$ ]] && [ "${BASH_REMATCH[1]}" -le "$LAST_CALL" ]; }; }
MODE=${1:-}
case "$MODE" in
  -h|--help|"") usage; exit 0 ;;
  *) known_call "$MODE" || { echo "issue13.sh: unknown mode '$MODE' (plan, call1, ..., call$LAST_CALL, --help)" >&2; exit 2; } ;;
esac

FAM32K=causal,full_document,causal_document,prefix_lm_document,share_question,causal_blockwise,block_causal_document,full_document_long,causal_document_long,sliding_window,sliding_window_causal,global_sliding_window
# Tuning variants of the A/B (merged over the descriptor's tuning by ranges_tune.py). The persistent
# grid takes smaller steps where the descriptor's spill inside its loop (scripts/kernel-aot.py,
# configurations marked 'P'): d 128 at 64:8 dK/dV 16-row steps and 32-key dQ steps.
PERSIST_D128='{"persistent":1,"bwdSubM":16,"dqSubN":32}'
VARIANTS="[{},{\"bandsStatic\":4},$PERSIST_D128,{\"bwdKeys\":64,\"bwdSubM\":64,\"bwdWarps\":4},{\"dqAtomic\":1}]"

# call6: split tiles / one-warpgroup dK/dV (scripts/kernel-aot.py "split2", "kb64 subm16 w4")
SPLIT_FWD='{"fwdSplit":2,"fwdWarps":4,"fwdStages":2}'
SPLIT_DQ='{"dqSplit":2,"dqWarps":4,"dqSubN":32}'
DKDV64='{"bwdKeys":64,"bwdSubM":16,"bwdWarps":4}'
# The default once more, as the last variant of an A/B: the call's own run-to-run noise
# (bandsStatic 0 is the default's value under another name, so its rows are kept apart).
AGAIN='{"bandsStatic":0}'

# The GPU's folder under results/ (h200 unless nvidia-smi names another of ours, e.g. an H100 loan).
GPUDIR=$( (nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null || true) | head -1 | grep -oiE 'h100|h200' | tr 'A-Z' 'a-z' | head -1)
GPUDIR=${GPUDIR:-h200}
R=results/$GPUDIR/kernels
RCP=results/$GPUDIR/cp
CPCASES="--scheme ring_p2p,ulysses --family causal_document,full_document --tokens-per-rank 8192 --warmup 2 --iters 5"
STEPS=()
# `plan CALL` plans that call's steps only (plan alone: every call's)
SEL=$MODE; [ "$MODE" = plan ] && [ $# -gt 1 ] && SEL=$2
known_call "$SEL" || { echo "issue13.sh plan: unknown call '$SEL'" >&2; exit 2; }
source scripts/device/issue13-calls.sh  # the steps of each call (STEPS+=...)
[ "$MODE" = plan ] && [ $# -gt 2 ] && { echo "(plan takes one CALL; the others are ignored)"; }

if [ "$MODE" = plan ]; then
  # No GPU: plan each step's jobs through the real CLI (file mode) and estimate the call's time.
  AB=${AB:-node dist/cli/bin.js}
  [ -f dist/cli/bin.js ] || { echo "build first: npm run build" >&2; exit 2; }
  T=$(mktemp -d)
  for s in "${STEPS[@]}"; do
    IFS='|' read -r kind name secs a b c d <<< "$s"
    case $kind in
      kern) step_env; flags=$a; kern= ;;
      tune|ncu) kern="--kernel $a"; flags=$b ;;
      cp)  # the CP plan's job folder (file mode: nothing runs); the cases are counted from its manifest
        step_env
        # shellcheck disable=SC2086
        if $AB cp run --executor torch $a --plan-dir "$T/$name" > "$T/$name.log" 2>&1; then
          echo "== $name (cp, ${secs}s): $(ls "$T/$name" | wc -l) files planned: ${envs[*]:+env ${envs[*]} }cp run --executor torch $a"; tail -2 "$T/$name.log" | cut -c1-200
        else
          echo "== $name: cp planning FAILED"; tail -5 "$T/$name.log"
        fi
        continue ;;
      sh) echo "== $name (sh, ${secs}s): $a"; continue ;;  # a command of its own (no CLI plan)
    esac
    preset="--preset paper"; [[ "$flags" == *--preset* ]] && preset=''
    flags=${flags/--preset none/}  # no preset: exactly the flags' cases
    # shellcheck disable=SC2086
    if ! $AB kernels --executor torch $preset $kern $flags --plan-dir "$T/$name" > "$T/$name.log" 2>&1; then
      echo "== $name: planning FAILED"; tail -5 "$T/$name.log"; continue
    fi
    one='[{}]'; iters=''; only=''; if [ "$kind" = tune ]; then one=$c; iters=$(grep -oE -- '--iters [0-9]+' <<< "$d" || true); only=$(grep -oE -- '--only [^ ]+' <<< "$d" || true); fi
    # shellcheck disable=SC2086
    python3 scripts/device/issue13_plan.py "$T/$name" --name "$name" --budget "$secs" --kind "$kind" --variants "$one" $iters $only
  done
  rm -rf "$T"
  exit 0
fi

# ---- on the device machine ----------------------------------------------------------------------
mkdir -p .device /tmp/nodebin
[ -f .device/node.xz ] || cp ../.device/node.xz .device/
[ -f .device/attnbench.mjs ] || cp ../.device/attnbench.mjs .device/
xz -dc .device/node.xz > /tmp/nodebin/node && chmod +x /tmp/nodebin/node && export PATH=/tmp/nodebin:$PATH
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD/python
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
OUT=${OUT:-/tmp/device-out}; mkdir -p "$OUT" "$R" "$RCP"
LOGS=$R/issue13-logs-$MODE; mkdir -p "$LOGS"   # step logs: inside the archive ($OUT returns at most 8 files)
AB="node .device/attnbench.mjs"
END=$(( $(date +%s) + ${BUDGET_S:-500} ))
left() { echo $(( END - $(date +%s) )); }
STAMP=$(mktemp); touch "$STAMP"
save() { (find results -type f -newer "$STAMP" | tar czf "$OUT/issue13-$MODE.tgz" -T -) 2>/dev/null; }
trap save EXIT
ENVF=$R/issue13-env-$MODE.txt
{ echo "issue13.sh $MODE  $(date -u +%FT%TZ)  git $(cat .git-rev 2>/dev/null || git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,memory.total --format=csv,noheader
  python3 -c 'import torch, triton; print("torch", torch.__version__, "triton", triton.__version__, "cuda", torch.version.cuda, "sms", torch.cuda.get_device_properties(0).multi_processor_count)'
  ncu --version 2>/dev/null | tail -1 || echo "ncu: not on PATH"
  uname -r; } 2>&1 | tee "$ENVF" | tee "$OUT/env.txt"
cmd() { echo "$(date -u +%T) $*" | tee -a "$R/issue13-commands.log"; }

for s in "${STEPS[@]}"; do
  IFS='|' read -r kind name secs a b c d <<< "$s"
  l=$(left); [ "$l" -le 20 ] && { echo "== out of time before $name"; break; }
  t=$(( secs < l ? secs : l ))
  echo "== $name ($kind, ${t}s of $(left)s left)"
  case $kind in
    kern)
      step_env  # leading env:VAR=VALUE words, as in CP steps
      preset="--preset paper"; [[ "$a" == *--preset* ]] && preset=''
      a=${a/--preset none/}
      # shellcheck disable=SC2086
      kf=$R/${b:-ranges.jsonl}  # a kern step's optional 5th field names its file (calibrate.jsonl)
      cmd env "${envs[@]}" $AB kernels --executor torch $preset --job-timeout 150 --out "$kf" --resume $a
      # shellcheck disable=SC2086
      timeout "$t" env "${envs[@]}" $AB kernels --executor torch $preset --job-timeout 150 --out "$kf" --resume $a 2>&1 | grep -v -e AOTAutograd -e '^\s*$' | tee -a "$LOGS/$name.log" | tail -40 ;;
    tune)
      rm -rf /tmp/plan-$name
      # shellcheck disable=SC2086
      preset="--preset paper"; [[ "$b" == *--preset* ]] && preset=''
      b=${b/--preset none/}
      # shellcheck disable=SC2086
      $AB kernels --executor torch $preset --kernel "$a" $b --plan-dir /tmp/plan-$name > /tmp/plan-$name.log 2>&1 || { cat /tmp/plan-$name.log; continue; }
      cmd python3 scripts/device/ranges_tune.py /tmp/plan-$name --variants "$c" --out $R/ranges-$name.jsonl --resume $d "# planned: kernels $preset --kernel $a $b"
      # shellcheck disable=SC2086
      timeout "$t" python3 scripts/device/ranges_tune.py /tmp/plan-$name --variants "$c" --out $R/ranges-$name.jsonl --resume $d 2>&1 | grep -v "^{" | tee -a "$LOGS/$name.log" | tail -45 ;;
    ncu)
      command -v ncu >/dev/null || { echo "ncu not on PATH: skipped"; continue; }
      rm -rf /tmp/plan-$name
      # shellcheck disable=SC2086
      $AB kernels --executor torch --preset paper --kernel "$a" $b --plan-dir /tmp/plan-$name > /tmp/plan-$name.log 2>&1 || { cat /tmp/plan-$name.log; continue; }
      # one launch of each main kernel (after the warm-up ones), four sections: tensor pipes and
      # throughput, occupancy, warp stalls, memory; --clock-control none (METHOD.md: leave the clocks)
      cmd ncu --clock-control none --target-processes all -k "regex:^_(fwd|dkdv|dq)$|flex_attention|triton_tem" --launch-skip 6 --launch-count 8 \
        --section SpeedOfLight --section ComputeWorkloadAnalysis --section Occupancy --section WarpStateStats --section MemoryWorkloadAnalysis \
        -o "/tmp/ncu-$name" -f python3 scripts/device/ranges_tune.py /tmp/plan-$name --iters 3
      timeout "$t" ncu --clock-control none --target-processes all -k "regex:^_(fwd|dkdv|dq)$|flex_attention|triton_tem" --launch-skip 6 --launch-count 8 \
        --section SpeedOfLight --section ComputeWorkloadAnalysis --section Occupancy --section WarpStateStats --section MemoryWorkloadAnalysis \
        -o "/tmp/ncu-$name" -f python3 scripts/device/ranges_tune.py /tmp/plan-$name --iters 3 > "$LOGS/$name.log" 2>&1
      echo "ncu rc=$?"
      [ -f "/tmp/ncu-$name.ncu-rep" ] && ncu --import "/tmp/ncu-$name.ncu-rep" --page details --csv > "$R/issue13-ncu-$name.csv" 2>/dev/null
      [ -f "$R/issue13-ncu-$name.csv" ] && grep -E "Kernel Name|Compute \(SM\) Throughput|Tensor|Achieved Occupancy|Registers Per Thread|Stall|Local" "$R/issue13-ncu-$name.csv" | cut -c1-220 | head -60 ;;
    cp)
      [ -f results/sim/calibration.json ] || echo "WARNING: no results/sim/calibration.json here: dispatch plans its form with the generic model, not flex@cp"
      step_env
      # shellcheck disable=SC2086
      cmd env "${envs[@]}" $AB cp run --executor torch $a --out $RCP/issue13-$name.jsonl --resume --retry error --timeout 600
      # shellcheck disable=SC2086
      timeout "$t" env "${envs[@]}" $AB cp run --executor torch $a --out $RCP/issue13-$name.jsonl --resume --retry error --timeout 600 2>&1 | grep -v -e AOTAutograd -e '^\s*$' | tee -a "$LOGS/$name.log" | tail -25 ;;
    sh)  # a command of its own (e.g. scripts/ws-probe.py --run), its rows where it writes them
      cmd bash -c "$a"
      timeout "$t" bash -c "$a" 2>&1 | tee -a "$LOGS/$name.log" | tail -40 ;;
  esac
  echo "rc=$? ($(left)s left)"; save
done
# the short table last: per case the rows this call wrote (ms, TFLOP/s), from the CLI files
python3 scripts/device/issue13_plan.py --summary "$STAMP" "$R/ranges.jsonl" "$RCP"/issue13-cp_*.jsonl 2>&1 | tail -60
