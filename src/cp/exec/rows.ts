// Result rows of CP runs (SPEC 6): stable case ids and the rows of failed runs.
import type { CpExecutorId, Dtype } from '../../ids.js';
import { maskArea } from '../../mask/slices.js';
import type { ResultRow } from '../../results/schema.js';
import type { Environment } from '../../results/schema.js';
import { planStats } from '../stats.js';
import type { CpRunRequest } from './types.js';

/** Stable id of a CP case: same inputs -> same id. */
export function cpCaseId(executor: string, req: Pick<CpRunRequest, 'plan' | 'family' | 'maskParams' | 'seed'>, direction: 'fwd' | 'bwd'): string {
  const p = req.plan;
  const layout = Object.entries(p.layout)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const s = p.shape;
  return `cp|${executor}|${p.scheme}|${req.family}|${JSON.stringify(req.maskParams)}|${req.seed}|${p.seqlen}|${s.headsQ}:${s.headsKv}x${s.headDim}|P${p.world}|${layout}|${direction}`;
}

/** The row of a case whose run failed (status error / timeout), with the plan's FLOPs. */
export function cpFailedRow(
  executor: CpExecutorId,
  dtype: Dtype,
  req: CpRunRequest,
  direction: 'fwd' | 'bwd',
  status: 'error' | 'timeout',
  message: string,
  env: Environment,
): ResultRow {
  const { plan } = req;
  const st = planStats(plan);
  const flops = (direction === 'fwd' ? st.flopsFwd : st.flopsBwd).reduce((a, b) => a + b, 0);
  return {
    schema: 1,
    id: cpCaseId(executor, req, direction),
    suite: 'cp',
    executor,
    kernel: null,
    scheme: plan.scheme,
    family: req.family,
    maskParams: { ...req.maskParams },
    seed: req.seed,
    seqlen: plan.seqlen,
    batch: 1,
    headsQ: plan.shape.headsQ,
    headsKv: plan.shape.headsKv,
    headDim: plan.shape.headDim,
    dtype,
    direction,
    world: plan.world,
    layout: { ...plan.layout },
    status,
    message,
    area: maskArea(req.mask),
    flops,
    times: null,
    tflops: null,
    memory: null,
    error: null,
    simulated: false,
    env,
  };
}
