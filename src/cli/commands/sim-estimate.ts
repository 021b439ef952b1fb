// `attnbench sim estimate`: device time of a planned kernel sweep (`attnbench kernels --plan-dir DIR`),
// case by case in run order, from a calibration's curves and the worker's harness costs
// (src/sim/estimate.ts), and where calls of a given budget would end.
import fs from 'node:fs';
import path from 'node:path';
import { badInput } from '../../errors.js';
import type { KernelCase } from '../../kernels/case.js';
import { maskArea } from '../../mask/slices.js';
import { attentionFlops } from '../../results/flops.js';
import { generatedProfile, kernelPath, perDocumentPath } from '../../sim/calibrate.js';
import { FLEX_DEFAULT_NOTE } from '../../sim/flex-form.js';
import { estimateCases, splitCalls, type EstimateInput } from '../../sim/estimate.js';
import { resolveCluster } from '../../sim/hardware.js';
import { calibratedGpus, kernelCall, makeKernelModel, type KernelModel } from '../../sim/kernel-model.js';
import { loadCalibration } from '../../sim/io.js';
import { rowMask } from '../../sim/sources.js';
import { readJsonl } from '../../util/jsonl.js';
import { formatTokens } from '../../util/parse.js';

/** A plan file's lines (the shared reader: a malformed line is one clear error, not a stack trace). */
function readLines<T>(file: string): T[] {
  if (!fs.existsSync(file)) throw badInput(`${file} not found: plan the sweep first (attnbench kernels ... --plan-dir DIR)`);
  return readJsonl<T>(file, { whole: true }); // a cut plan file is half a plan: refused, not estimated
}

/** The input path the worker will take, as the calibration names it (see calibrate.ts kernelPath). */
function pathNotes(kernel: string, format: string | undefined): string[] {
  if (kernel === 'flex') return [FLEX_DEFAULT_NOTE]; // the kernel suite's default form (row tables on documents)
  if (!kernel.startsWith('sdpa_')) return [];
  if (format === 'varlen') return ['via nested (jagged) tensors'];
  if (format === 'dense') return ['dense boolean attn_mask'];
  return [];
}

export function estimateReport(o: { planDir: string; calibration?: string; gpu: string; budgetS: number }): string {
  const cases = readLines<{ jobId: string; case: KernelCase; unsupported?: string }>(path.join(o.planDir, 'cases.jsonl'));
  const jobs = readLines<{ id: string; mask: { format?: string } }>(path.join(o.planDir, 'jobs.jsonl'));
  const format = new Map(jobs.map((j) => [j.id, j.mask?.format]));
  const { calibration, path: calPath } = loadCalibration(o.calibration);
  const cluster = resolveCluster(o.gpu, {}, calibratedGpus(calibration));
  const models = new Map<string, KernelModel>();
  const order: string[] = [];
  const byId = new Map<string, { c: KernelCase; samples: number; format?: string }>();
  let unplanned = 0;
  for (const l of cases) {
    // Cases without a job are refused at planning (unsupported): they cost nothing on the device.
    if (!format.has(l.jobId)) {
      if (l.unsupported === undefined) throw badInput(`${o.planDir}: job ${l.jobId} of cases.jsonl is not in jobs.jsonl: the plan folder is incomplete; plan it again`);
      unplanned++;
      continue;
    }
    const prev = byId.get(l.case.id);
    if (prev) byId.set(l.case.id, { ...prev, samples: prev.samples + 1 });
    else {
      byId.set(l.case.id, { c: l.case, samples: 1, format: format.get(l.jobId) });
      order.push(l.case.id);
    }
  }
  const paths = new Map<string, string>();
  const inputs: EstimateInput[] = order.map((id) => ({ case: byId.get(id)!.c, samples: byId.get(id)!.samples }));
  const est = estimateCases(inputs, (c) => {
    const kp = kernelPath({ kernel: c.kernel, notes: pathNotes(c.kernel, byId.get(c.id)!.format) });
    paths.set(c.id, kp);
    let m = models.get(kp);
    if (!m) models.set(kp, (m = makeKernelModel(cluster, calibration, kp)));
    const g = rowMask(c.family, c.seqlen, c.seed, c.maskParams);
    const area = g.heads.reduce((a, h) => a + maskArea(h), 0) / g.heads.length;
    const flops = attentionFlops(area, c.headsQ, c.headDim, c.direction) * c.batch;
    const varlen = perDocumentPath(kp);
    const call = kernelCall(generatedProfile([g], varlen), c.headsQ * c.batch, c.headDim, c.direction, c.dtype, flops, c.headsKv * c.batch);
    return m.predict(call);
  });
  const out: string[] = [`${est.length} case(s) from ${o.planDir} (${unplanned} refused at planning, not counted); kernel model: ${calPath ?? 'none (roofline)'} on ${o.gpu}`];
  let cum = 0;
  for (const [i, e] of est.entries()) {
    const c = inputs[i].case;
    cum += e.seconds;
    out.push(
      `${String(i + 1).padStart(4)} ${cum.toFixed(0).padStart(5)} s  ${e.seconds.toFixed(1).padStart(6)} s  ${paths.get(c.id)!.padEnd(22)} ${c.family.padEnd(22)} ${formatTokens(c.seqlen).padStart(5)} ${`${c.headsQ}:${c.headsKv}`.padEnd(5)} ${c.direction} ${e.kernelMs.toPrecision(3)} ms${e.roofline ? ' (roofline)' : ''}${e.compileS ? ` +${e.compileS} s compile` : ''}`,
    );
  }
  const total = est.reduce((a, e) => a + e.seconds, 0);
  const roof = est.filter((e) => e.roofline).length;
  out.push(`total ${total.toFixed(0)} s (${(total / 60).toFixed(1)} min); ${roof} case(s) timed by the roofline (no curve)`);
  for (const [n, call] of splitCalls(est, o.budgetS).entries()) {
    out.push(`call ${n + 1} of ${o.budgetS} s: cases ${call.first + 1}.. (${call.seconds.toFixed(0)} s)`);
  }
  return `${out.join('\n')}\n`;
}
