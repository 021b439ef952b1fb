// Worker-thread entry of one CP rank: receives a job (rank program, inputs, ports to its peers),
// runs forward and backward when told, reports times, spans, outputs or the failing step.
import { parentPort, type MessagePort } from 'node:worker_threads';
import type { FromWorker, ToWorker } from './protocol.js';
import { runPhase, StepError, type RankRuntime } from './rank.js';
import { PortComm } from './transport.js';

const port = parentPort!;
let rt: RankRuntime | null = null;
let comm: PortComm | null = null;
let job: Extract<ToWorker, { type: 'job' }> | null = null;

const post = (m: FromWorker) => port.postMessage(m);

function report(e: unknown, phase: 'forward' | 'backward'): void {
  const rank = job?.rank ?? -1;
  if (e instanceof StepError) post({ type: 'error', rank, phase: e.phase, step: e.step, kind: e.kind, message: e.message });
  else post({ type: 'error', rank, phase, step: -1, kind: 'worker', message: (e as Error)?.message ?? String(e) });
}

port.on('message', async (m: ToWorker) => {
  if (m.type === 'job') {
    comm?.close();
    job = m;
    comm = new PortComm(m.ports as (MessagePort | null)[]);
    const now = () => performance.timeOrigin + performance.now() - m.origin;
    rt = {
      program: m.program,
      shape: m.shape,
      comm,
      now,
      rsChunks: m.rsChunks,
      buffers: new Map([
        ['q', m.inputs.q],
        ['kv', m.inputs.kv],
      ]),
      spans: [],
      onAsyncError: (e) => report(e, e.phase),
    };
    post({ type: 'ready', rank: m.rank });
    return;
  }
  if (!rt || !job) return;
  const phase = m.phase;
  try {
    if (phase === 'backward') rt.buffers.set('do', job.inputs.do);
    const ms = await runPhase(rt, phase);
    if (phase === 'forward') post({ type: 'done', rank: job.rank, phase, ms });
    else {
      const outputs = { o: rt.buffers.get('o')!, dq: rt.buffers.get('dq')!, dkv: rt.buffers.get('dkv')! };
      post({ type: 'done', rank: job.rank, phase, ms, spans: rt.spans, outputs });
      comm?.close();
      rt = null;
      comm = null;
    }
  } catch (e) {
    report(e, phase);
  }
});
