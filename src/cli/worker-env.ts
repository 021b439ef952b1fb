// The environment's A/B knobs (src/contract/knobs.ts, one table for TypeScript and the worker): the
// worker would take a misspelt value as the default, or fail every job with it, so the commands that
// start a worker check them first: a value outside the list is one line and exit 2 before anything is
// written. Empty counts as unset.
import { ENV_KNOBS } from '../contract/knobs.js';
import { usage } from '../errors.js';

/** The knobs (src/contract/knobs.ts: one table for TypeScript and the worker). */
export const WORKER_KNOBS = ENV_KNOBS;

/** Commands that start a worker (and `run`, whose stages do). */
export const WORKER_COMMANDS: ReadonlySet<string> = new Set(['kernels', 'cp run', 'run']);

/** Throws a usage error (exit 2) naming the first knob whose value the worker does not know. */
export function checkWorkerEnv(env: NodeJS.ProcessEnv = process.env): void {
  for (const [name, values] of Object.entries(WORKER_KNOBS)) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    if (!values.includes(v)) throw usage(`invalid ${name} '${v}': expected ${values.join(', ')} (or unset)`);
  }
}
