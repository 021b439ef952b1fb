# The steps of every call of scripts/device/issue13.sh, sourced by it after $SEL, $R, $RCP and the
# variant strings are set; it appends to STEPS. (Split from issue13.sh, which keeps the usage text,
# the planner and the device loop.)
# shellcheck shell=bash disable=SC2034,SC2154
# step KIND NAME SECONDS ARGS...: KIND kern (CLI rows into $R/ranges.jsonl), tune (ranges_tune.py
# A/B rows into $R/ranges-NAME.jsonl), cp (CLI rows into $RCP/issue13-cp.jsonl), ncu, sh.
# Steps in order of priority within each call (a call that runs out of time drops its last steps;
# rerun the call in a later session and it resumes): see `plan` for the cases and an estimate.
case "$SEL" in
  call1|plan)
    STEPS+=("tune|check|110|triton_ranges|--family causal,causal_document,sliding_window --seqlen 2k --samples 1 --heads 64:8|[{},$PERSIST_D128]|--check")
    STEPS+=("tune|check_g3_d64|50|triton_ranges|--family causal_document,sliding_window --seqlen 2k --samples 1 --heads 12:4 --head-dim 64|[{}]|--check")
    STEPS+=("kern|rows32k|380|--kernel triton_ranges,flex,sdpa_cudnn --family $FAM32K --seqlen 32k --samples 1")
    ;;&
  call2|plan)
    STEPS+=("tune|ab32k|210|triton_ranges,flex,sdpa_cudnn|--family causal_document --seqlen 32k --samples 1|$VARIANTS|--iters 10")
    STEPS+=("kern|sparse16k_64x8|200|--preset sparse --kernel triton_ranges,flex --seqlen 16k --heads 64:8 --samples 1")
    STEPS+=("kern|sparse16k_4x4|130|--preset sparse --kernel triton_ranges,flex --seqlen 16k --heads 4:4 --samples 1")
    ;;&
  call3|plan)
    # (causal_document 1M: call4 doc1m_tune; the CLI at SPEC 6 timing takes ~5 min there)
    STEPS+=("ncu|ncu_doc32k|150|triton_ranges,flex|--family causal_document --seqlen 32k --samples 1")
    for P in 4 8; do
      for K in triton_ranges flex; do
        STEPS+=("cp|cp_p${P}_$K|55|--virtual-ranks $P --kernel $K --scheme ring_p2p,ulysses --family causal_document,full_document --tokens-per-rank 8192 --warmup 2 --iters 5")
      done
    done
    STEPS+=("tune|check_mha|30|triton_ranges|--family causal_document --seqlen 2k --samples 1 --heads 4:4|[{}]|--check")
    ;;&
  call4|plan)
    # 1M through ranges_tune.py (5 warm-ups + 3 timed calls, peak memory of one call): the CLI's
    # SPEC 6 minimums (5 + 20 calls) take ~5 min at 1M; then CP P = 4 with both kernels (each into
    # its own file: written before CP ids named the kernel, 2e41897; one file would do now), the dQ-atomics A/B of the backward beside flex, CP P = 8, block_sparse 16k
    STEPS+=("tune|doc1m_tune|150|triton_ranges,flex|--family causal_document --seqlen 1024k --samples 1|[{}]|--iters 3")
    STEPS+=("cp|cp_p4_triton_ranges|40|--virtual-ranks 4 --kernel triton_ranges $CPCASES")
    STEPS+=("cp|cp_p4_flex|40|--virtual-ranks 4 --kernel flex $CPCASES")
    STEPS+=("tune|ab_bwd32k|100|triton_ranges,flex|--family causal,causal_document,block_causal_document --direction bwd --seqlen 32k --samples 1|[{},{\"dqAtomic\":1}]|--iters 10")
    STEPS+=("cp|cp_p8_triton_ranges|80|--virtual-ranks 8 --kernel triton_ranges $CPCASES")
    STEPS+=("cp|cp_p8_flex|80|--virtual-ranks 8 --kernel flex $CPCASES")
    STEPS+=("tune|sparse16k_64x8_tune|200|triton_ranges,flex|--preset sparse --seqlen 16k --heads 64:8 --samples 1|[{}]|--iters 10")
    ;;&
  call5|plan)
    # What 2026-12-05 left: pipelining depth A/B at 32k (the profile showed one 8-warp program per
    # SM, tensor pipe 29%; a second program per SM is out of reach at d 128: 229 registers x 256
    # threads, and 4 warps spill 724 B, scripts/kernel-aot.py), the flex CP rows that were cut
    # (one --out: CP ids name the kernel since 2e41897), block_sparse 16k at 4:4
    STEPS+=("tune|ab_occ32k|200|triton_ranges,flex|--family causal,causal_document --seqlen 32k --samples 1|[{},{\"fwdStages\":2},{\"fwdStages\":4},{\"bwdStages\":3}]|--iters 10")
    for P in 4 8; do
      for K in flex triton_ranges; do  # both into issue13-cp_p$P.jsonl
        STEPS+=("cp|cp_p$P|$(( P == 4 ? 70 : 120 ))|--virtual-ranks $P --kernel $K $CPCASES")
      done
    done
    STEPS+=("tune|sparse16k_4x4_tune|130|triton_ranges,flex|--preset sparse --seqlen 16k --heads 4:4 --samples 1|[{}]|--iters 10")
    ;;&
  call6|plan)
    # Session of 2026-12-05 (third): occupancy. Split tiles (fwdSplit/dqSplit 2: 64 rows, one
    # warpgroup, 244 / 194 registers and 80 / 64 KB: two programs per SM by the AOT table), dK/dV
    # of 64 keys in one warpgroup (239 registers, 49 KB), pipelining depth; checked on the GPU
    # first, then A/B per direction beside flex; then issue 14's paper-cp virtual ranks (flex,
    # the default kernel) on the document families with the new dispatch placement.
    STEPS+=("tune|check_split|70|triton_ranges|--family causal_document,sliding_window --seqlen 2k --samples 1 --heads 64:8|[$SPLIT_FWD,$SPLIT_DQ,$DKDV64]|--check")
    STEPS+=("tune|ab_fwd32k|150|triton_ranges,flex,sdpa_cudnn|--family causal,causal_document,full_document,block_causal_document,share_question --direction fwd --seqlen 32k --samples 1|[{},{\"bandsStatic\":4},{\"fwdStages\":2},{\"fwdStages\":4},$SPLIT_FWD,{\"fwdSplit\":2,\"fwdWarps\":4,\"fwdStages\":2,\"bandsStatic\":4},{\"fwdSplit\":2,\"fwdWarps\":4,\"fwdStages\":3},{\"fwdSubN\":128,\"fwdStages\":2}]|--iters 10")
    STEPS+=("tune|ab_bwd32k_occ|200|triton_ranges,flex,sdpa_cudnn|--family causal,causal_document,block_causal_document --direction bwd --seqlen 32k --samples 1|[{},{\"bandsStatic\":4},{\"bwdStages\":3},$DKDV64,{\"bwdKeys\":64,\"bwdSubM\":16,\"bwdWarps\":4,\"bwdStages\":3},{\"bwdKeys\":64,\"bwdSubM\":32},$SPLIT_DQ,{\"dqSplit\":2,\"dqWarps\":4}]|--iters 10")
    STEPS+=("cp|paper_cp_p8|110|--virtual-ranks 8 --preset paper-cp --family causal_document,full_document")
    ;;&
  call7|plan)
    for P in 8 4; do  # issue 14: every scheme, the document families first, into one file per P
      STEPS+=("cp|paper_cp_p$P|150|--virtual-ranks $P --preset paper-cp --family causal_document,full_document")
    done
    ;;&
  call8|plan)
    # When device loans are scarce: one call for the three issues, each in priority order (the
    # steps resume; call9 takes what is left): the split-tile check and forward A/B (13), the
    # paper-cp P = 8 document rows (14), then the calibrate preset (15, its own file)
    STEPS+=("tune|check_split|80|triton_ranges|--family causal_document --seqlen 2k --samples 1 --heads 64:8|[$SPLIT_FWD,$SPLIT_DQ,$DKDV64]|--check")
    STEPS+=("tune|ab_fwd32k|150|triton_ranges,flex,sdpa_cudnn|--family causal,causal_document,full_document --direction fwd --seqlen 32k --samples 1|[{},{\"bandsStatic\":4},{\"fwdStages\":2},{\"fwdStages\":4},$SPLIT_FWD,{\"fwdSplit\":2,\"fwdWarps\":4,\"fwdStages\":2,\"bandsStatic\":4},{\"fwdSplit\":2,\"fwdWarps\":4,\"fwdStages\":3},{\"fwdSubN\":128,\"fwdStages\":2}]|--iters 10")
    STEPS+=("cp|paper_cp_p8|110|--virtual-ranks 8 --preset paper-cp --family causal_document,full_document")
    STEPS+=("kern|calibrate|480|--preset calibrate|calibrate.jsonl")
    ;;&
  call9|plan)
    # (the backward A/B ran in call10 on an H100: bwdStages 3 is now the d 128 default)
    STEPS+=("tune|check_families|120|triton_ranges|--seqlen 2k --samples 1|[{}]|--check")  # every family of the paper preset at 2k vs float32
    STEPS+=("cp|paper_cp_p8|400|--virtual-ranks 8 --preset paper-cp --family causal_document,full_document")  # errored rows again (--retry error): the slicemask scan fix, d0e5067
    STEPS+=("kern|calibrate|480|--preset calibrate|calibrate.jsonl")
    STEPS+=("cp|paper_cp_p4|150|--virtual-ranks 4 --preset paper-cp --family causal_document,full_document")
    for P in 8 4; do  # issue 14's other two paper families, each P into the same file as its documents
      STEPS+=("cp|paper_cp_p$P|120|--virtual-ranks $P --preset paper-cp --family full,causal")
    done
    ;;&
  call10|plan)
    # A short loan after call8 (the paper-cp P = 8 step took ~25 s a row on an H100, so 110 s
    # covered 2 of 12 cases): the backward A/B (13), then P = 8 document rows (14, resumed)
    STEPS+=("tune|ab_bwd32k_occ|200|triton_ranges,flex,sdpa_cudnn|--family causal,causal_document,block_causal_document --direction bwd --seqlen 32k --samples 1|[{},{\"bandsStatic\":4},{\"bwdStages\":3},$DKDV64,{\"bwdKeys\":64,\"bwdSubM\":16,\"bwdWarps\":4,\"bwdStages\":3},{\"bwdKeys\":64,\"bwdSubM\":32},$SPLIT_DQ,{\"dqSplit\":2,\"dqWarps\":4}]|--iters 10")
    STEPS+=("cp|paper_cp_p8|600|--virtual-ranks 8 --preset paper-cp --family causal_document,full_document")
    ;;&
  call11|plan)
    # Seventh pass (CPU prep, results/h200/kernels/triton_ranges-notes.md): {} is the new default,
    # whose forward tuning comes from the work list (split tiles below RANGES_SHORT_LOOP_STEPS mean
    # 64-key steps per query tile: causal 32k 256.5 keeps 8 warps; causal_document 12.2,
    # full_document 23.4, share_question 19.1 split); OLD_FWD is the old default everywhere.
    # Backward: flex's Hopper d 128 shapes (torch 2.11 FlexBwDConfig(64, 128, 128, 64, 3, 8)).
    OLD_FWD='{"fwdSplit":1,"fwdWarps":8,"fwdStages":3}'
    SPLIT_S3='{"fwdSplit":2,"fwdWarps":4,"fwdStages":3}'  # the rule's short-loop choice, forced on every family
    SPLIT3='{"fwdSplit":2,"fwdWarps":4,"fwdStages":3,"fwdSubN":32,"fwdMaxRegs":168}'  # 168 regs, 64 KB: 3 programs per SM
    SPLIT32='{"fwdSplit":2,"fwdWarps":4,"fwdStages":3,"fwdSubN":32}'  # the same tile uncapped (176 regs: 2 per SM)
    FUSED='{"bwdFused":1}'  # dQ programs in the dK/dV launch (248 regs, 160 KB, no spills)
    DQS3='{"dqStages":3}'  # flex's dQ depth (231 regs, 160 KB)
    SUBM64='{"bwdSubM":64,"bwdSubMPart":16}'  # flex's 64-row dK/dV steps on full runs (spills 68 B)
    FUSED64='{"bwdFused":1,"bwdSubM":64,"bwdSubMPart":16}'  # both (spills 84 B)
    STEPS+=("tune|check11|120|triton_ranges|--family causal,causal_document --seqlen 2k --samples 1 --heads 64:8|[{},$OLD_FWD,$SPLIT3,$SPLIT32,$FUSED,$DQS3,$SUBM64,$FUSED64]|--check")
    # forward: the rule's families (short: causal_document 12.2, share_question 19.1, full_document 23.4;
    # long: sliding_window 32.5, block_causal_document 55.0, causal 256.5 mean 64-key steps per query tile)
    STEPS+=("tune|ab_fwd11|140|triton_ranges,flex,sdpa_cudnn|--family causal,causal_document,full_document,share_question,block_causal_document,sliding_window --direction fwd --seqlen 32k --samples 1|[{},$OLD_FWD,$SPLIT_S3,$SPLIT3,$SPLIT32,$AGAIN]|--iters 10")
    STEPS+=("tune|ab_bwd11|220|triton_ranges,flex,sdpa_cudnn|--family causal,causal_document,block_causal_document --direction bwd --seqlen 32k --samples 1|[{},$DQS3,$FUSED,$SUBM64,$FUSED64,$AGAIN]|--iters 10")
    ;;&
  call12|plan)
    # call11's strongest variants beside the one-loop kernels (triton_ranges_flat.py: the default's
    # partial-tile loops are not software-pipelined), one call when loans are scarce
    OLD_FWD='{"fwdSplit":1,"fwdWarps":8,"fwdStages":3}'
    SPLIT3='{"fwdSplit":2,"fwdWarps":4,"fwdStages":3,"fwdSubN":32,"fwdMaxRegs":168}'
    FLAT='{"fwdFlat":1}'  # on top of the rule's forward tuning (split on short loops)
    FLAT8='{"fwdFlat":1,"fwdSplit":1,"fwdWarps":8,"fwdStages":3}'  # the one loop at the old 8-warp tile
    FLATALL='{"fwdFlat":1,"dqFlat":1,"bwdFlat":1}'
    STEPS+=("tune|check12|150|triton_ranges|--family causal,causal_document,full_document,share_question,sliding_window --seqlen 2k --samples 1 --heads 64:8|[{},$FLATALL,$FLAT8,$SPLIT3,{\"bwdFused\":1},{\"dqStages\":3}]|--check")
    STEPS+=("tune|ab_fwd12|130|triton_ranges,flex,sdpa_cudnn|--family causal,causal_document,full_document,share_question,sliding_window,block_causal_document --direction fwd --seqlen 32k --samples 1|[{},$OLD_FWD,$FLAT,$FLAT8,$SPLIT3,$AGAIN]|--iters 10")
    STEPS+=("tune|ab_bwd12|170|triton_ranges,flex,sdpa_cudnn|--family causal,causal_document,block_causal_document --direction bwd --seqlen 32k --samples 1|[{},{\"dqFlat\":1},$FLATALL,{\"bwdFused\":1},{\"dqStages\":3},$AGAIN]|--iters 10")
    STEPS+=("cp|paper_cp_p8|300|--virtual-ranks 8 --preset paper-cp --family causal_document,full_document")
    ;;&
  call13|plan)
    STEPS+=("tune|ab_bwd13|80|triton_ranges,flex|--family causal,causal_document,block_causal_document --direction bwd --seqlen 32k --samples 1|[{},{\"bwdFused\":0}]|--iters 10")
    STEPS+=("cp|paper_cp_p8|120|--virtual-ranks 8 --preset paper-cp --family causal_document,full_document")
    STEPS+=("cp|paper_cp_p8|200|--virtual-ranks 8 --preset paper-cp --family causal_document,full_document --kernel triton_ranges --scheme dispatch,ulysses,ring_allgather")
    ;;&
  call14|plan)
    # kernel2: the H100 calibrate rows had causal_document 16k bwd at 80 (16:2) and 42 (4:1) TFLOP/s
    # against 300 on causal 16:2: a few long key tiles set the dK/dV launch's time. The lists now
    # split them (chunks with float32 partials, an ordered reduction); the notes of a split row say
    # "key tiles split into N chunks". {"bwdSplit":0} launches the same list's whole rows.
    STEPS+=("tune|check_bwdsplit|60|triton_ranges|--family causal_document --seqlen 2k --samples 1 --heads 16:2|[{},{\"bwdSplit\":0}]|--check")
    STEPS+=("tune|check_bwdsplit_4x1|40|triton_ranges|--family causal_document --seqlen 2k --samples 1 --heads 4:1|[{}]|--check")
    STEPS+=("tune|bwdsplit16k_16x2|120|triton_ranges,flex|--family causal_document,causal --direction bwd --seqlen 16k --samples 1 --heads 16:2|[{},{\"bwdSplit\":0}]|--iters 10")
    STEPS+=("tune|bwdsplit16k_4x1|90|triton_ranges,flex|--family causal_document --direction bwd --seqlen 16k --samples 1 --heads 4:1|[{},{\"bwdSplit\":0}]|--iters 10")
    ;;&
  call15|plan)
    STEPS+=("tune|check_bwdsplit|60|triton_ranges|--family causal_document --seqlen 2k --samples 1 --heads 16:2|[{},{\"bwdSplit\":0}]|--check")
    STEPS+=("tune|bwdsplit16k_16x2|110|triton_ranges,flex|--family causal_document,causal --direction bwd --seqlen 16k --samples 1 --heads 16:2|[{},{\"bwdSplit\":0}]|--iters 10")
    STEPS+=("tune|bwdsplit16k_4x1|80|triton_ranges,flex|--family causal_document --direction bwd --seqlen 16k --samples 1 --heads 4:1|[{},{\"bwdSplit\":0}]|--iters 10")
    CP15="--scheme dispatch,ulysses,ring_allgather --family causal_document,full_document --tokens-per-rank 8192 --warmup 2 --iters 5"
    for P in 8 4; do  # both kernels into one file per P (CP ids name the kernel)
      for K in flex triton_ranges; do
        STEPS+=("cp|cp15_p$P|$(( P == 8 ? 110 : 70 ))|--virtual-ranks $P --kernel $K $CP15")
      done
    done
    ;;&
  call18|call19|plan)
    CPT="--preset paper-cp --kernel triton_ranges --warmup 2 --iters 5"
    STEPS+=("cp|s8_cp_p8|$([ "$SEL" = call18 ] && echo 230 || echo 120)|--virtual-ranks 8 $CPT --family causal_document,full_document")
    STEPS+=("cp|s8_cp_p8|$([ "$SEL" = call18 ] && echo 200 || echo 120)|--virtual-ranks 8 $CPT --family full,causal")
    STEPS+=("cp|s8_cp_p4|$([ "$SEL" = call18 ] && echo 150 || echo 100)|--virtual-ranks 4 $CPT")
    ;;&
  call19|plan)
    STEPS+=("kern|rows32k|300|--kernel triton_ranges,flex,sdpa_cudnn --family $FAM32K --seqlen 32k --samples 1|rows32k-s8.jsonl")
    ;;&
  call19|call20|plan)
    STEPS+=("kern|calibrate|560|--preset calibrate|calibrate.jsonl")
    ;;&
  call20|plan)
    STEPS+=("tune|ab_fwd17r|100|triton_ranges,flex|--family causal,causal_document,full_document,sliding_window,sliding_window_causal,share_question,prefix_lm_document,causal_blockwise --direction fwd --seqlen 32k --samples 1|[{},{\"fwdGather\":0},{\"bandsStatic\":0}]|--iters 10")
    ;;&
  call23|plan)
    CPD="--preset paper-cp --kernel triton_ranges --warmup 2 --iters 5"
    OLD="comm=p2p,max_token_ratio=1.5,node=8,sharding=documents,target=1.05"
    STEPS+=("cp|s9_cp_p8|90|--virtual-ranks 8 $CPD --scheme dispatch,ulysses,usp --family causal_document,full_document")
    STEPS+=("cp|s9_cp_p8|25|--virtual-ranks 8 $CPD --scheme dispatch --family causal_document --layout $OLD,split=zigzag,steps=overlap")
    STEPS+=("cp|s9_cp_p8|25|--virtual-ranks 8 $CPD --scheme dispatch --family full_document --layout $OLD,split=fill,steps=overlap")
    STEPS+=("cp|s9_cp_p4|50|--virtual-ranks 4 $CPD --scheme dispatch,ulysses,ring_allgather --family causal_document,full_document")
    STEPS+=("cp|s9_cp_p4|20|--virtual-ranks 4 $CPD --scheme dispatch --family full_document --layout $OLD,split=fill,steps=one_overlap")
    ;;&
  call24|plan)
    CP24="--preset paper-cp --scheme dispatch,ulysses,ring_allgather --family causal_document,full_document --warmup 2 --iters 5"
    for P in 8 4; do  # both kernels into one file per P (CP row ids name the kernel)
      for K in triton_ranges flex; do
        STEPS+=("cp|s9_kern_p$P|$(( P == 8 ? 110 : 70 ))|--virtual-ranks $P --kernel $K $CP24")
      done
    done
    ;;&
  call25|plan)
    # Thirteenth pass (kernel helper, CPU only: results/h200/kernels/triton_ranges-notes.md 'Thirteenth pass'): tiles of
    # DP = next power of two columns, columns >= d masked; d > 128 run 32-key forward steps, dV and dK as two launches
    # (bwdSeparate) and 16-key dQ steps (the d 256 dK launch spills 20 B, dQ 44 B: every d 256 backward tried spills).
    # At 256: {"bwdSeparate":0} one dK/dV launch (444 B spilled, none in the step loops: 5/4 fewer matmuls) against
    # the two; {"dqSubN":32} dQ in 32-key steps (84 B, none in the step loops) against 16.
    # Check budgets: a cold compile at a new dim took > 20 s at 64:8 (2026-12-06, H200: the first backward 8.3 s).
    for D in 32 80 96 192 256; do
      for H in 64:8 4:4; do
        STEPS+=("tune|check25|$(( D > 128 ? 45 : 35 ))|triton_ranges|--preset none --family causal_document,sliding_window --seqlen 2k --samples 1 --heads $H --head-dim $D|[{}]|--check")
      done
    done
    for D in 32 96 256; do
      STEPS+=("tune|dims25|$(( D == 256 ? 75 : D == 96 ? 55 : 50 ))|triton_ranges,flex|--preset none --family causal,causal_document --seqlen 32k --samples 1 --heads 64:8 --head-dim $D|[{}]|--iters 10")
    done
    STEPS+=("tune|dims25_sep|30|triton_ranges|--preset none --family causal_document --direction bwd --seqlen 32k --samples 1 --heads 64:8 --head-dim 256|[{},{\"bwdSeparate\":0},{\"dqSubN\":32}]|--iters 10")
    ;;&
  call17|plan)
    # kernel2, ninth pass (results/h200/kernels/triton_ranges-notes.md): the default forward's partial
    # tiles are unpipelined loops (1-2 steps each; sliding_window 32k: 2.9 of 32.5 steps per query
    # tile, causal_document 3.1 of 12.2); GATHER puts them in one pipelined loop per program, and
    # GATHER_IDX also the full tiles (an index list: block_sparse's single-tile runs)
    GATHER='{"fwdGather":2,"fwdGatherFull":0}'
    GATHER_IDX='{"fwdGather":2}'
    STEPS+=("tune|check17|50|triton_ranges|--family causal,causal_document,sliding_window --direction fwd --seqlen 2k --samples 1 --heads 64:8|[$GATHER,$GATHER_IDX]|--check")
    STEPS+=("tune|check17_sparse|30|triton_ranges|--family block_sparse --param s=0.2 --param block=128 --direction fwd --seqlen 2k --samples 1 --heads 64:8|[$GATHER,$GATHER_IDX]|--check --only kernel:")
    # since f5241b4 {} is the partial-share rule (gather on causal_document, share_question,
    # sliding_window_causal, prefix_lm_document, causal_blockwise at 32k): {"fwdGather":0} is the old
    # default there, so the A/B confirms the rule on the two families it switched unmeasured (a new
    # file: --resume would skip the H100 rows of ab_fwd17, whose {} was the old default)
    STEPS+=("tune|ab_fwd17r|100|triton_ranges,flex|--family causal,causal_document,full_document,sliding_window,sliding_window_causal,share_question,prefix_lm_document,causal_blockwise --direction fwd --seqlen 32k --samples 1|[{},{\"fwdGather\":0},$GATHER,$GATHER_IDX,{\"bandsStatic\":0}]|--iters 10")
    STEPS+=("tune|sparse17|40|triton_ranges,flex|--preset sparse --direction fwd --seqlen 16k --heads 64:8 --samples 1|[{},$GATHER,$GATHER_IDX]|--iters 10 --only s=0.1:,s=0.2:")
    ;;&
  call21|plan)
    # Eleventh pass (kernel helper, CPU analysis: results/h200/kernels/triton_ranges-notes.md): block_sparse 64-blocks
    # at 4:4 run 64-row programs at 8 warps: Triton puts both warpgroups on the same 64 rows (S and its exp2
    # computed twice, scripts/kernel-aot.py: HGMMA.64x32x16), one program per SM (190 regs x 256 threads), and a
    # run loop per run of full tiles (1.24 tiles of one 64-key step per run on average: the pipeline drains at
    # every run). Variants (no new key; all spill-free, 2 programs per SM by scripts/kernel-aot.py 'eleventh'):
    W4='{"fwdWarps":4}'
    G21='{"fwdGather":2}'
    W4G='{"fwdWarps":4,"fwdGather":2}'
    B4='{"bwdWarps":4,"bwdSubM":16,"bwdSubMPart":16,"dqSubN":32}'
    B4X2='{"bwdFused":0,"bwdWarps":4,"bwdSubM":16,"bwdSubMPart":16,"dqWarps":4,"dqSubN":32,"dqStages":3}'
    BS64="--preset none --family block_sparse --heads 4:4 --samples 1 --param block=64"
    STEPS+=("tune|check21|25|triton_ranges|$BS64 --param s=0.2 --direction fwd --seqlen 2k|[$W4,$G21,$W4G]|--check")
    STEPS+=("tune|check21|25|triton_ranges|$BS64 --param s=0.2 --direction bwd --seqlen 2k|[$B4,$B4X2]|--check")
    STEPS+=("tune|ab21|35|triton_ranges,flex,triton_blocksparse|$BS64 --param s=0.2 --direction fwd --seqlen 16k|[{},$W4,$G21,$W4G,$AGAIN]|--iters 10")
    STEPS+=("tune|ab21|50|triton_ranges,flex,triton_blocksparse|$BS64 --param s=0.2 --direction bwd --seqlen 16k|[{},$B4,$B4X2,$AGAIN]|--iters 10")
    STEPS+=("tune|ab21|30|triton_ranges,flex,triton_blocksparse|$BS64 --param s=0.5 --direction fwd --seqlen 16k|[{},$W4,$W4G]|--iters 10")
    STEPS+=("tune|ab21|45|triton_ranges,flex,triton_blocksparse|$BS64 --param s=0.5 --direction bwd --seqlen 16k|[{},$B4,$B4X2]|--iters 10")
    # control: 128-blocks (128-row programs; the W4 / B4 variants do not apply): the index list only
    BS128="--preset none --family block_sparse --heads 4:4 --samples 1 --param block=128 --param s=0.2 --seqlen 16k"
    STEPS+=("tune|ab21|25|triton_ranges,flex,triton_blocksparse|$BS128 --direction fwd|[{},$G21]|--iters 10")
    STEPS+=("tune|ab21|30|triton_ranges,flex,triton_blocksparse|$BS128 --direction bwd|[{}]|--iters 10")
    # the launch-bound 4k backward rows (causal_document 4k 4:4: 13.1 vs flex 28.4 TFLOP/s on the H200, ~0.35 ms
    # for a few us of GPU work per program): since the eleventh pass the packed LSE / DELTA come from the DELTA launch
    # (two launches fewer); {"bwdSplit":0}: the list's whole rows (no reduction launch)
    STEPS+=("tune|ab21_4k|40|triton_ranges,flex|--preset none --family causal_document,causal --heads 4:4 --samples 1 --seqlen 4k --direction bwd|[{},{\"bwdSplit\":0}]|--iters 10")
    ;;&
  call26|plan)
    OLD64='{"fwdWarps":8,"fwdGather":0,"bwdWarps":8,"bwdSubM":32,"bwdSubMPart":16,"dqSubN":64}'
    BS64="--preset none --family block_sparse --heads 4:4 --samples 1 --param block=64 --param s=0.2"
    STEPS+=("tune|check26|25|triton_ranges|$BS64 --seqlen 2k|[{}]|--check")
    STEPS+=("tune|ab26|50|triton_ranges,flex|$BS64 --seqlen 16k|[{},$OLD64,$AGAIN]|--iters 10")
    STEPS+=("tune|ab26|30|triton_ranges,flex|--preset none --family sliding_window,causal_document --direction fwd --seqlen 32k --samples 1 --heads 64:8|[{},{\"lptLaunch\":0},$AGAIN]|--iters 10")
    # d 256 backward: the new default (one dK/dV launch), the old two launches, and the next steps the
    # one-launch form allows (32-row dK/dV steps: twice the MMA rows; 32-key dQ steps: -3.6% in call25)
    STEPS+=("tune|ab26|55|triton_ranges,flex|--preset none --family causal_document --direction bwd --seqlen 32k --samples 1 --heads 64:8 --head-dim 256|[{},{\"bwdSeparate\":1},{\"bwdSubM\":32,\"bwdSubMPart\":32},{\"dqSubN\":32},$AGAIN]|--iters 10")
    STEPS+=("tune|check26|25|triton_ranges|--preset none --family causal_document --seqlen 2k --samples 1 --heads 64:8 --head-dim 256|[{}]|--check")
    ;;&
  call27|plan)
    STEPS+=("kern|rows32k_s11|330|--kernel triton_ranges,flex,sdpa_cudnn --family $FAM32K --seqlen 32k --samples 1|rows32k-s11.jsonl")
    STEPS+=("kern|sparse16k_s11|90|--preset sparse --kernel triton_ranges,flex,triton_blocksparse --seqlen 16k --heads 4:4 --samples 1|sparse16k-s11.jsonl")
    STEPS+=("kern|sparse16k_s11|150|--preset sparse --kernel triton_ranges,flex,triton_blocksparse --seqlen 16k --heads 64:8 --samples 1|sparse16k-s11.jsonl")
    ;;&
  call28|plan)
    S28='{"bwdSubM":32,"bwdSubMPart":32}'
    S28Q='{"bwdSubM":32,"bwdSubMPart":32,"dqSubN":32}'
    for D in 256 192; do
      STEPS+=("tune|ab28d$D|150|triton_ranges,flex|--preset none --family causal_document,causal --direction bwd --seqlen 32k --samples 1 --heads 64:8 --head-dim $D|[{},$S28,$S28Q,$AGAIN]|--iters 10")
      STEPS+=("tune|check28b$D|50|triton_ranges|--preset none --family causal_document,sliding_window,block_sparse --heads 64:8 --seqlen 2k --samples 1 --head-dim $D|[$S28Q]|--check")
    done
    STEPS+=("tune|ab28d128|150|triton_ranges,flex|--preset none --family causal,causal_document --direction bwd --seqlen 32k --samples 1 --heads 64:8|[{},{\"dqSubN\":32},$S28Q]|--iters 10")
    STEPS+=("tune|ab28d32|120|triton_ranges,flex|--preset none --family causal,causal_document --direction bwd --seqlen 32k --samples 1 --heads 64:8 --head-dim 32|[{},$S28,{\"dqSubN\":32},{\"bwdSubM\":64,\"bwdSubMPart\":32},{\"bwdSubM\":64,\"bwdSubMPart\":32,\"dqSubN\":32}]|--iters 10")
    STEPS+=("tune|check28d32|40|triton_ranges|--preset none --family causal_document,sliding_window,block_sparse --heads 64:8 --seqlen 2k --samples 1 --head-dim 32|[{}]|--check")
    ;;&
  call29|plan)
    # d 64 (16..64's class: 64-row steps everywhere, 64-key dQ), d 48 (64 columns, 16 masked) and d 96 (the
    # padded class: 32-row steps, 64-key dQ): the steps that helped at d 32 and above d 128
    N29='{"bwdSubMPart":32,"dqSubN":32}'
    for D in 64 48; do
      STEPS+=("tune|check29d$D|30|triton_ranges|--preset none --family causal_document,sliding_window --heads 64:8 --seqlen 2k --samples 1 --head-dim $D|[$N29]|--check")
      STEPS+=("tune|ab29d$D|70|triton_ranges,flex|--preset none --family causal,causal_document --direction bwd --seqlen 32k --samples 1 --heads 64:8 --head-dim $D|[{},$N29,{\"dqSubN\":32},$AGAIN]|--iters 10")
    done
    STEPS+=("tune|ab29d96|70|triton_ranges,flex|--preset none --family causal,causal_document --direction bwd --seqlen 32k --samples 1 --heads 64:8 --head-dim 96|[{},{\"dqSubN\":32},$AGAIN]|--iters 10")
    # block_sparse 64:8 64-blocks backward (0.68-0.74x triton_blocksparse in call27; 128-row programs of 64 keys)
    STEPS+=("tune|ab29bs|70|triton_ranges,triton_blocksparse|--preset none --family block_sparse --heads 64:8 --samples 1 --param block=64 --param s=0.2 --direction bwd --seqlen 16k|[{},{\"bwdSubM\":32},{\"bwdFused\":0},{\"bwdStages\":2},{\"bwdWarps\":4,\"bwdSubM\":32},$AGAIN]|--iters 10")
    CPD29="--preset paper-cp --kernel triton_ranges --warmup 2 --iters 5"
    OLD29="comm=p2p,max_token_ratio=1.5,node=8,sharding=documents,target=1.05"
    STEPS+=("cp|s12_cp_p8|60|--virtual-ranks 8 $CPD29 --scheme dispatch --family causal_document --layout $OLD29,split=zigzag,steps=overlap")
    STEPS+=("cp|s12_cp_p8|60|--virtual-ranks 8 $CPD29 --scheme dispatch --family full_document --layout $OLD29,split=fill,steps=overlap")
    STEPS+=("cp|s12_cp_p4|45|--virtual-ranks 4 $CPD29 --scheme dispatch --family full_document --layout $OLD29,split=fill,steps=one_overlap")
    STEPS+=("kern|cal1m_s12|110|--kernel triton_ranges,flex --family causal_document --seqlen 1M --heads 4:1 --samples 1|cal1m-s12.jsonl")
    ;;&
  call30|plan)
    # flex as the CP kernel measured 1.5-2.1x slower in the backward from 2026-12-05 on than on 2026-12-01
    # (same GPU kind; docs/simulator.md "the executor, not the GPU"), cause not isolated. Each step writes its
    # own file (the rows share ids): ulysses causal_document P = 8 flex alone in its process (no earlier
    # scheme's shapes), then compiled per shape from the first call, then with the host cover off.
    F30="--virtual-ranks 8 --kernel flex --preset paper-cp --scheme ulysses --family causal_document --warmup 2 --iters 5"
    STEPS+=("cp|s12_flex_alone|90|$F30")
    STEPS+=("cp|s12_flex_static|90|env:ATTNBENCH_FLEX_CP_DYNAMIC=0 $F30")
    STEPS+=("cp|s12_flex_nocover|90|env:ATTNBENCH_CP_HOST_COVER=0 $F30")
    # the mask_mod over per-row key ranges (flex's CP form until 6705361) instead of the slice predicate
    STEPS+=("cp|s12_flex_rows|90|env:ATTNBENCH_FLEX_CP_MASK=rows $F30")
    STEPS+=("cp|s12_flex_static_p4|90|env:ATTNBENCH_FLEX_CP_DYNAMIC=0 --virtual-ranks 4 --kernel flex --preset paper-cp --scheme dispatch,ulysses,ring_allgather --family causal_document,full_document --warmup 2 --iters 5")
    ;;&
  call31|plan)
    STEPS+=("kern|rows32k_s13|330|--kernel triton_ranges,flex,sdpa_cudnn --family $FAM32K --seqlen 32k --samples 1|rows32k-s13.jsonl")
    CP31="--preset paper-cp --scheme dispatch,ulysses,ring_allgather --family causal_document,full_document --warmup 2 --iters 5"
    for P in 8 4; do
      for K in triton_ranges flex; do
        STEPS+=("cp|s13_kern_p$P|$(( P == 8 ? 200 : 90 ))|--virtual-ranks $P --kernel $K $CP31")
      done
    done
    STEPS+=("kern|sparse16k_s13|90|--preset sparse --kernel triton_ranges,flex,triton_blocksparse --seqlen 16k --heads 4:4 --samples 1|sparse16k-s13.jsonl")
    STEPS+=("kern|sparse16k_s13|150|--preset sparse --kernel triton_ranges,flex,triton_blocksparse --seqlen 16k --heads 64:8 --samples 1|sparse16k-s13.jsonl")
    STEPS+=("cp|s13_flex_static_p8|200|env:ATTNBENCH_FLEX_CP_DYNAMIC=0 --virtual-ranks 8 --kernel flex $CP31")
    # the GC left on during timed runs (the default pauses it since 4f0e7b7): ulysses' rank 5 outlier of 2026-12-06
    STEPS+=("cp|s13_gc_on_p8|60|env:ATTNBENCH_CP_GC=1 --virtual-ranks 8 --kernel triton_ranges --preset paper-cp --scheme ulysses --family causal_document,full_document --warmup 2 --iters 5")
    # full / causal P = 8 with the GC paused (issue 14: dispatch 0.1-5.2% behind there, its equal ranks spread 36.4-39.2 ms)
    STEPS+=("cp|s13_cp_p8|240|--virtual-ranks 8 --kernel triton_ranges --preset paper-cp --scheme dispatch,ulysses,usp,ring_allgather,ring_p2p,loongtrain --family full,causal --warmup 2 --iters 5")
    STEPS+=("kern|flexmask_s13_slices|120|env:ATTNBENCH_FLEX_MASK=slices --kernel flex --family causal_document,full_document,prefix_lm_document,share_question,causal_blockwise,sliding_window --seqlen 32k --samples 1|flexmask-s13-slices.jsonl")
    ;;&
  call33|plan)
    # causal_document 1M beside flex on row tables (cal1m-s12 had flex with the slice predicate)
    STEPS+=("kern|cal1m_s14|150|--kernel triton_ranges,flex --family causal_document --seqlen 1M --heads 4:1 --samples 1|cal1m-s14.jsonl")
    # flex on 64-blocks through 128-blocks + a block bitmap (kernels/flex_coarse.py; its backward at 64-blocks
    # never compiled), both directions forced, beside ours: a flex backward figure where there was none
    for H in 4:4 64:8; do
      STEPS+=("kern|sparse64_s14|120|env:ATTNBENCH_FLEX_BLOCK=128 --preset sparse --kernel triton_ranges,flex --seqlen 16k --heads $H --samples 1|sparse16k-s14-flex128.jsonl")
    done
    ;;&
  call34|plan)
    # Fourteenth session (CPU, ws helper): Triton 3.6 warp-specializes a Hopper loop only in a narrow shape (one
    # top-level loop, every dot operand through a TMA descriptor, num_warps 4, no packed GQA heads: notes,
    # "Fourteenth session (CPU): Hopper warp specialization"), which triton_ranges' forward does not have. Before
    # rewriting it into that shape: does WS pay on this GPU? A probe kernel in that shape, WS on / off, same call
    STEPS+=("sh|ws_probe|90|python3 scripts/ws-probe.py --run --out $R/ws-probe-s14.jsonl")
    STEPS+=("tune|ws_ref|60|triton_ranges,flex,sdpa_cudnn|--preset none --family causal --direction fwd --seqlen 32k --samples 1 --heads 64:8|[{}]|--iters 10")
    ;;&
  call35|plan)
    # Fifteenth session: triton_ranges on 64-blocks picks its tiles by estimate (the blocks' own, or 128-key
    # tiles whose full tiles run 1.05-1.67x faster: src/mask/adapters/ranges-choice.ts). First the 128-key
    # tiles on 64-blocks against float32 at 2k (partial tiles cut by 64-blocks); then the estimate's pick
    # (auto, beside flex on 128-blocks + a bitmap as in call33) and both forced tiles, same call, where the
    # pick changes (64:8 at s ~0.7, 4:4 between 0.8 and 1)
    for H in 64:8 4:4; do
      STEPS+=("kern|check35|40|env:ATTNBENCH_RANGES_TILES=128 --preset none --kernel triton_ranges --family block_sparse --param block=64 --param s=0.5 --seqlen 2k --heads $H --samples 1 --check-up-to 2k|check35-wide.jsonl")
    done
    for HS in 64:8/0.8 64:8/1 4:4/1 64:8/0.5 4:4/0.8; do
      SP="--preset none --family block_sparse --param block=64 --param s=${HS#*/} --seqlen 16k --heads ${HS%/*} --samples 1"
      STEPS+=("kern|sparse64_s15|60|env:ATTNBENCH_FLEX_BLOCK=128 --kernel triton_ranges,flex $SP|sparse64-s15-auto.jsonl")
      STEPS+=("kern|sparse64_s15|30|env:ATTNBENCH_RANGES_TILES=128 --kernel triton_ranges $SP|sparse64-s15-wide.jsonl")
      STEPS+=("kern|sparse64_s15|30|env:ATTNBENCH_RANGES_TILES=block --kernel triton_ranges $SP|sparse64-s15-block.jsonl")
    done
    ;;&
  call37|call38|plan)
    # Sixteenth session (issue 15): the calibrate preset at the current main, host cover on (spans are GPU
    # time, as the kernel model's plain paths assume; the nested-tensor paths' host time stays where the
    # host syncs, which the rows' notes say). The committed calibrate rows predate 064c9a6 (triton_ranges'
    # current tuning) and flex's row tables; call38 resumes it if one call cannot hold it.
    # First the paper preset's nested-tensor rows (SDPA on documents) with min_seqlen now given (without it every
    # call read it back from the GPU: a host sync in the timed span) and the cover on: are they GPU time now?
    STEPS+=("kern|nested_s16|150|env:ATTNBENCH_KERNEL_HOST_COVER=1 --kernel sdpa_flash,sdpa_efficient,sdpa_cudnn --family causal_document --samples 1|paper-nested-s16.jsonl")
    # Nineteenth session: flex on the slice predicate (the path flex@slices) at 1k / 2k, causal and causal_document
    # 64:8, with the cover on. The H200's rows of these cases (paper.jsonl, 2026-12-01, no cover) look host-bound:
    # causal_document forward 0.143 ms at both 1k and 2k, where causal goes 0.082 -> 0.231 ms. Read after paper.jsonl,
    # a covered row replaces the uncovered one of its case (scripts/sim-refit.sh says how).
    STEPS+=("kern|flexslices_s19|60|env:ATTNBENCH_KERNEL_HOST_COVER=1 env:ATTNBENCH_FLEX_MASK=slices --kernel flex --family causal,causal_document --seqlen 1k,2k --samples 1|paper-flexslices-s19.jsonl")
    # triton_ranges and flex first (their committed calibrate rows ran another tuning / mask form), then the rest
    STEPS+=("kern|calibrate_s16|560|env:ATTNBENCH_KERNEL_HOST_COVER=1 --preset calibrate --kernel triton_ranges,flex|calibrate-s16.jsonl")
    STEPS+=("kern|calibrate_s16|560|env:ATTNBENCH_KERNEL_HOST_COVER=1 --preset calibrate|calibrate-s16.jsonl")
    ;;&
  call39|plan)
    # Seventeenth session (issue 15): shapes that the held-out heads cannot pin in the pooled fit (helper-57,
    # docs/simulator-record.md): 64-token block_sparse at 16:2 and 64:8 (measured only at 4:4), and few-program
    # launches (1k, 2k) at every heads configuration; host cover on, as the calibrate rows
    for H in 16:2 64:8; do
      for S in 0.2 0.5; do
        STEPS+=("kern|sparse64_s17|60|env:ATTNBENCH_KERNEL_HOST_COVER=1 --preset none --kernel triton_blocksparse,flex,triton_ranges --family block_sparse --param block=64 --param s=$S --seqlen 16k --heads $H --samples 1|sparse64-heads-s17.jsonl")
      done
    done
    for H in 64:8 16:2 4:4 4:1; do
      STEPS+=("kern|fewprog_s17|80|env:ATTNBENCH_KERNEL_HOST_COVER=1 --preset none --kernel flex,triton_ranges,triton_blocksparse --family causal,causal_document --seqlen 1k,2k --heads $H --samples 1|fewprog-s17.jsonl")
    done
    ;;&
  call36|plan)
    # Fifteenth session, the loan's last minutes: the revised tile estimate (partial work weighed as call35 measured)
    # at 64:8 s 0.9 (between call35's tie at 0.8 and the 128-key win at 1), the pick beside both forced tiles and
    # flex; then the WS probe with a 4-warp run without WS (call34's WS rows were NaN at 2k)
    SP9="--preset none --family block_sparse --param block=64 --param s=0.9 --seqlen 16k --heads 64:8 --samples 1"
    STEPS+=("kern|sparse64_s15b|60|env:ATTNBENCH_FLEX_BLOCK=128 --kernel triton_ranges,flex $SP9|sparse64-s15b-auto.jsonl")
    STEPS+=("kern|sparse64_s15b|30|env:ATTNBENCH_RANGES_TILES=128 --kernel triton_ranges $SP9|sparse64-s15b-wide.jsonl")
    STEPS+=("kern|sparse64_s15b|30|env:ATTNBENCH_RANGES_TILES=block --kernel triton_ranges $SP9|sparse64-s15b-block.jsonl")
    STEPS+=("sh|ws_probe2|90|python3 scripts/ws-probe.py --run --iters 10 --out $R/ws-probe-s15.jsonl")
    ;;&
  call32|plan)
    # The document backward against flex on row tables (parity on an H100, 2026-12-06): the d 128 backward's
    # knobs once more on the three short-document families, beside flex, the default twice
    # small launches with and without a GPU sleep covering the host's issue time (ATTNBENCH_KERNEL_HOST_COVER=1):
    # the simulator's worst held-out rows are host-bound ones (docs/simulator-record.md), same call both ways
    SMALL="--kernel flex,sdpa_efficient,triton_ranges --family causal,causal_document --seqlen 1k,2k,8k --samples 1"
    STEPS+=("kern|hostcover_off|120|$SMALL|hostcover-s13-off.jsonl")
    STEPS+=("kern|hostcover_on|120|env:ATTNBENCH_KERNEL_HOST_COVER=1 $SMALL|hostcover-s13-on.jsonl")
    STEPS+=("tune|ab32docbwd|170|triton_ranges,flex|--preset none --family causal_document,full_document,share_question --direction bwd --seqlen 32k --samples 1 --heads 64:8|[{},{\"bwdKeys\":64},{\"bwdSubM\":32},{\"bwdStages\":2},{\"bwdFused\":0},{\"dqSubN\":32},$AGAIN]|--iters 10")
    ;;&
  call22|plan)
    # Twelfth pass (kernel2, CPU model: results/h200/kernels/triton_ranges-notes.md): {"lptLaunch":1} changes only
    # the launch order (outputs bitwise equal in the interpreter: python/tests/test_triton_ranges_order.py)
    LPT='{"lptLaunch":1}'
    F22=causal,causal_document,block_causal_document,sliding_window,full_document_long
    STEPS+=("tune|check22|30|triton_ranges|--preset none --family $F22 --seqlen 2k --samples 1 --heads 64:8|[$LPT]|--check")
    STEPS+=("tune|check22|15|triton_ranges|--preset none --family causal --seqlen 2k --samples 1 --heads 16:2|[$LPT]|--check")
    STEPS+=("tune|ab22|50|triton_ranges,flex|--preset none --family $F22 --direction fwd --seqlen 32k --samples 1 --heads 64:8|[{},$LPT,$AGAIN]|--iters 10")
    STEPS+=("tune|ab22|90|triton_ranges,flex|--preset none --family $F22 --direction bwd --seqlen 32k --samples 1 --heads 64:8|[{},$LPT,$AGAIN]|--iters 10")
    STEPS+=("tune|ab22|65|triton_ranges,flex|--preset none --family causal --seqlen 32k --samples 1 --heads 16:2|[{},$LPT,$AGAIN]|--iters 10")
    ;;&
  call16|plan)
    # Ninth pass (kernel helper, CPU prep; results/h200/kernels/triton_ranges-notes.md): the dK/dV
    # program on long key loops, where flex still wins. bwdPackLse: dK/dV reads LSE / DELTA from a
    # [B, KV heads, S, pack] copy (a step's rows contiguous: scripts/kernel-aot.py, step loop 306 -> 262
    # instructions per 32-row step, 506 -> 415 per 64-row step, no spill in any loop); flex's 64-row
    # steps (never measured; their 84-108 B of spills are per program and run, none per step).
    PLSE='{"bwdPackLse":1}'
    SUBM64='{"bwdSubM":64,"bwdSubMPart":16}'
    SUBM64P='{"bwdSubM":64,"bwdSubMPart":16,"bwdPackLse":1}'
    SUBM64P32='{"bwdSubM":64,"bwdSubMPart":32,"bwdPackLse":1}'
    PLSE4='{"bwdPackLse":1,"bwdStages":4}'  # one stage deeper (192 KB, 250 regs, no spill; 3 stages gave +11-16% in call10)
    STEPS+=("tune|check16|60|triton_ranges|--family causal,causal_document,sliding_window --direction bwd --seqlen 2k --samples 1 --heads 64:8|[$PLSE,$SUBM64,$SUBM64P,$SUBM64P32,$PLSE4]|--check")
    STEPS+=("tune|check16|20|triton_ranges|--preset none --family block_sparse --direction bwd --seqlen 2k --samples 1 --heads 64:8 --param block=128 --param s=0.2|[$PLSE,$SUBM64P32]|--check")
    STEPS+=("tune|ab_bwd16|145|triton_ranges,flex|--family causal,block_causal_document,sliding_window,full_document_long --direction bwd --seqlen 32k --samples 1|[{},$PLSE,$SUBM64,$SUBM64P,$SUBM64P32,$PLSE4,$AGAIN]|--iters 10")
    # block_sparse 16k, 128-blocks, backward (0.66-0.74x flex in old rows, before the 3-stage and fused defaults)
    STEPS+=("tune|ab_sparse16|40|triton_ranges,flex|--preset none --family block_sparse --direction bwd --seqlen 16k --heads 64:8 --samples 1 --param block=128 --param s=0.1|[{},$PLSE,$SUBM64P32]|--iters 10")
    # heads 4:4 (no packing: 16-row dK/dV steps by default, whose fused kernel spills 16 B; packed LSE: none,
    # and 32-row steps with 44 B outside the loops)
    PACK1='{"bwdSubM":32,"bwdSubMPart":16,"bwdPackLse":1}'
    STEPS+=("tune|check16|20|triton_ranges|--preset none --family block_sparse --direction bwd --seqlen 2k --samples 1 --heads 4:4 --param block=128 --param s=0.2|[$PLSE,$PACK1]|--check")
    STEPS+=("tune|ab_sparse16|40|triton_ranges,flex|--preset none --family block_sparse --direction bwd --seqlen 16k --heads 4:4 --samples 1 --param block=128 --param s=0.2|[{},$PLSE,$PACK1]|--iters 10")
    ;;
esac
