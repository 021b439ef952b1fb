// Worker replies -> the executor's CaseOutcome, and worker environments -> result-row environments.
import type { CaseOutcome } from '../kernels/case.js';
import type { Environment } from '../results/schema.js';
import { gitRev } from '../util/env.js';
import type { JobReply } from './client.js';
import type { WorkerEnv, WorkerResult } from './protocol.js';

export function outcomeOf(r: WorkerResult): CaseOutcome {
  const notes = [...r.notes];
  if (r.times?.clock && r.times.clock !== 'cuda_events') notes.push(`timed with ${r.times.clock}`);
  return {
    status: r.status,
    message: r.message,
    times: r.times
      ? {
          medianMs: r.times.medianMs,
          p20Ms: r.times.p20Ms,
          p80Ms: r.times.p80Ms,
          samples: r.times.samples,
          compileMs: r.times.compileMs ?? null,
        }
      : null,
    memory: r.memory,
    error: r.error
      ? {
          reference: r.error.reference,
          ...(r.error.out ? { out: r.error.out } : {}),
          ...(r.error.dq ? { dq: r.error.dq } : {}),
          ...(r.error.dk ? { dk: r.error.dk } : {}),
          ...(r.error.dv ? { dv: r.error.dv } : {}),
          exceedsTolerance: r.error.exceedsTolerance,
        }
      : null,
    notes,
  };
}

const failed = (status: CaseOutcome['status'], message: string): CaseOutcome => ({ status, message, times: null, memory: null, error: null });

export function outcomeOfReply(reply: JobReply): CaseOutcome {
  switch (reply.kind) {
    case 'result':
      return outcomeOf(reply.result);
    case 'rejected':
      return failed('error', `worker rejected the job: ${reply.message}`);
    case 'timeout':
      return failed('timeout', reply.message);
    case 'died':
      return failed('error', reply.message);
  }
}

export function environmentOf(env: WorkerEnv, command?: string): Environment {
  return {
    host: env.host,
    gpu: env.gpu,
    driver: env.driver,
    cuda: env.cuda,
    libs: { ...env.libs },
    gitRev: gitRev(),
    date: env.date,
    ...(command ? { command } : {}),
  };
}
