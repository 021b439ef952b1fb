// The `cpu` CP executor: P ranks as worker threads exchanging real messages over MessagePorts
// (one channel per pair of ranks), each interpreting its rank program with the CPU tiled kernels.
// Workers are pooled across runs; a rank that throws (or a run past its timeout) terminates every
// worker of the run, which fails with the rank's error: `rank R failed at step S (<kind>): ...`.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { AttnbenchError } from '../../errors.js';
import { maskArea } from '../../mask/slices.js';
import type { ResultRow } from '../../results/schema.js';
import { cpuEnvironment } from '../../util/env.js';
import { exceedsTolerance } from '../../util/tolerance.js';
import { planStats } from '../stats.js';
import type { Plan } from '../types.js';
import { assemble, compare, randomInputs, rankInputs, reduceScatterChunks, reference, type RankInputs, type RankOutputs, type RankTiming } from './harness.js';
import type { FromWorker, ToWorker } from './protocol.js';
import type { Phase } from './rank.js';
import { cpCaseKey, type CpRunner } from './rows.js';
import { buildRow } from '../../results/build.js';
import { chromeTrace } from './trace.js';
import type { CpExecutor, CpRunRequest, CpRunResult } from './types.js';

const HERE = import.meta.url;

/** Worker entry: the .js file next to this one, or (sources under vitest / tsx) the .ts file via tsx. */
function spawnWorker(): Worker {
  if (!HERE.endsWith('.ts')) return new Worker(new URL('./worker.js', HERE));
  // Node 20 workers do not inherit loader hooks from execArgv (--import tsx fails on .ts entries),
  // so a tiny eval'd bootstrap registers tsx in the worker, then imports the TypeScript entry.
  const pkg = createRequire(HERE).resolve('tsx/package.json');
  const api = pathToFileURL(path.join(path.dirname(pkg), 'dist/esm/api/index.mjs')).href;
  const entry = new URL('./worker.ts', HERE).href;
  const code = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(code, { eval: true });
}

export interface ClusterRun {
  readonly outputs: RankOutputs[];
  readonly timing: RankTiming[];
}

/** A pool of rank workers; `run` uses the first P of them. */
export class CpuCluster {
  private workers: Worker[] = [];

  /** `timeoutMs` bounds the whole run (startup, forward and backward together), or ends at `deadlineAt` (Date.now() ms) if given. */
  async run(plan: Plan, inputs: readonly RankInputs[], timeoutMs = 120_000, deadlineAt?: number): Promise<ClusterRun> {
    const P = plan.world;
    const deadline = performance.now() + (deadlineAt !== undefined ? Math.max(0, deadlineAt - Date.now()) : timeoutMs);
    while (this.workers.length < P) this.workers.push(spawnWorker());
    const ws = this.workers.slice(0, P);
    // One channel per pair of ranks; ports[r][peer].
    const ports: (MessagePort | null)[][] = Array.from({ length: P }, () => Array<MessagePort | null>(P).fill(null));
    for (let a = 0; a < P; a++)
      for (let b = a + 1; b < P; b++) {
        const ch = new MessageChannel();
        ports[a][b] = ch.port1;
        ports[b][a] = ch.port2;
      }
    const chunks = reduceScatterChunks(plan);
    const origin = performance.timeOrigin + performance.now();

    let fail: ((e: Error) => void) | null = null;
    const failed = new Promise<never>((_, reject) => {
      fail = reject;
    });
    failed.catch(() => undefined);
    const waiting = new Map<string, (m: FromWorker) => void>();
    const listeners = ws.map((w, r) => {
      const onMessage = (m: FromWorker) => {
        if (m.type === 'error') {
          const where = m.step >= 0 ? `step ${m.step} (${m.kind})` : `startup (${m.kind})`;
          fail!(new AttnbenchError('worker', `rank ${m.rank} failed at ${where}: ${m.phase}: ${m.message}`));
          return;
        }
        waiting.get(`${r}:${m.type}:${'phase' in m ? m.phase : ''}`)?.(m);
      };
      const onError = (e: Error) => fail!(new AttnbenchError('worker', `rank ${r} failed: worker error: ${e.message}`));
      const onExit = (code: number) => fail!(new AttnbenchError('worker', `rank ${r} failed: worker exited with code ${code}`));
      w.on('message', onMessage);
      w.on('error', onError);
      w.on('exit', onExit);
      return () => {
        w.off('message', onMessage);
        w.off('error', onError);
        w.off('exit', onExit);
      };
    });
    const expect = (type: 'ready' | 'done', phase = '') =>
      Promise.all(ws.map((_, r) => new Promise<FromWorker>((resolve) => waiting.set(`${r}:${type}:${phase}`, resolve))));
    const within = async <T>(p: Promise<T>, what: string): Promise<T> => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new AttnbenchError('timeout', `cp run: ${what} did not finish within ${timeoutMs} ms (the case's timeout)`)), Math.max(0, deadline - performance.now()));
      });
      try {
        return await Promise.race([p, failed, timeout]);
      } finally {
        clearTimeout(timer);
      }
    };

    try {
      const ready = expect('ready');
      ws.forEach((w, r) => {
        const job: ToWorker = {
          type: 'job',
          rank: r,
          program: plan.ranks[r],
          shape: plan.shape,
          inputs: inputs[r],
          ports: ports[r],
          rsChunks: chunks[r],
          origin,
        };
        w.postMessage(job, ports[r].filter((p): p is MessagePort => p !== null));
      });
      await within(ready, 'worker startup');
      const ms: Record<Phase, number[]> = { forward: [], backward: [] };
      let last: FromWorker[] = [];
      for (const phase of ['forward', 'backward'] as const) {
        const done = expect('done', phase);
        for (const w of ws) w.postMessage({ type: 'run', phase } satisfies ToWorker);
        last = await within(done, `the ${phase} pass`);
        ms[phase] = last.map((m) => (m.type === 'done' ? m.ms : NaN));
      }
      const outputs = last.map((m) => (m as Extract<FromWorker, { type: 'done' }>).outputs!);
      const timing = last.map((m, r) => ({
        fwdMs: ms.forward[r],
        bwdMs: ms.backward[r],
        spans: (m as Extract<FromWorker, { type: 'done' }>).spans ?? [],
      }));
      return { outputs, timing };
    } catch (e) {
      await this.close(); // a failed run may leave ranks blocked: never reuse its workers
      throw e;
    } finally {
      for (const off of listeners) off();
    }
  }

  async close(): Promise<void> {
    const ws = this.workers;
    this.workers = [];
    await Promise.all(ws.map((w) => w.terminate()));
  }
}

/** The cpu executor: the tiled float32 kernel in worker threads. */
export const CPU_RUNNER: CpRunner = { id: 'cpu', kernel: 'cpu_tiled', dtype: 'float32', launch: 'threads', device: 'cpu' };

export function createCpuExecutor(): CpExecutor {
  const cluster = new CpuCluster();
  return {
    id: 'cpu',
    runner: CPU_RUNNER,
    dtype: 'float32',
    dtypeBytes: 4,
    async run(req: CpRunRequest): Promise<CpRunResult> {
      const { plan, mask } = req;
      // --timeout bounds the whole case: the ranks' passes and the float64 reference after them.
      const timeoutMs = req.timeoutMs ?? 120_000;
      const deadline = Date.now() + timeoutMs;
      const inputs = randomInputs(plan.seqlen, plan.shape, req.seed);
      const { outputs, timing } = await cluster.run(plan, rankInputs(plan, inputs), timeoutMs, deadline);
      const err = req.check ? compare(assemble(plan, outputs), reference(mask, plan.shape, inputs, deadline)) : null;
      const stats = planStats(plan);
      const env = cpuEnvironment();
      const area = maskArea(mask);
      const rows = (['fwd', 'bwd'] as const).map((direction): ResultRow => {
        const ms = timing.map((t) => (direction === 'fwd' ? t.fwdMs : t.bwdMs));
        const flopsPerRank = direction === 'fwd' ? stats.flopsFwd : stats.flopsBwd;
        const slowest = Math.max(...ms);
        const error = err
          ? direction === 'fwd'
            ? { reference: err.reference, out: err.out, lse: err.lse, exceedsTolerance: exceedsTolerance('float32', { out: err.out, lse: err.lse }) }
            : { reference: err.reference, dq: err.dq, dk: err.dk, dv: err.dv, exceedsTolerance: exceedsTolerance('float32', { dq: err.dq, dk: err.dk, dv: err.dv }) }
          : null;
        return buildRow(cpCaseKey(CPU_RUNNER, req, direction), area, {
          status: 'ok',
          message: null,
          times: { medianMs: slowest, p20Ms: slowest, p80Ms: slowest, samples: 1 },
          memory: null,
          error,
          ranks: ms.map((t, r) => ({
            rank: r,
            ms: t,
            flops: flopsPerRank[r],
            bytesSent: direction === 'fwd' ? stats.bytesSentFwd[r] : stats.bytesSentBwd[r],
          })),
          notes: ['times: slowest rank of one run (worker threads on one host)'],
        }, env);
      });
      const trace = chromeTrace(
        timing.map((t) => t.spans),
        { scheme: plan.scheme, family: req.family, seqlen: plan.seqlen, world: plan.world, layout: plan.layout, executor: 'cpu' },
      );
      if (req.tracePath) {
        fs.mkdirSync(path.dirname(path.resolve(req.tracePath)), { recursive: true });
        fs.writeFileSync(req.tracePath, JSON.stringify(trace));
      }
      return { rows, trace };
    },
    close: () => cluster.close(),
  };
}
