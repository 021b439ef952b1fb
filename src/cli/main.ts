// attnbench command line: parsing only. Each command lives in commands/<name>.ts and exports
// `register(program)`; the work is done by the library modules they call.
import { Command, CommanderError } from 'commander';
import { AttnbenchError } from '../errors.js';
import { useKernelModules } from '../kernels/external.js';
import { installGuards, releaseCommandLocks } from './guards.js';
import { ChildExited, watchHeapParent } from './heap.js';
import * as cp from './commands/cp.js';
import * as dashboard from './commands/dashboard.js';
import * as doctor from './commands/doctor.js';
import * as kernels from './commands/kernels.js';
import * as masks from './commands/masks.js';
import * as report from './commands/report.js';
import * as results from './commands/results.js';
import * as run from './commands/run.js';
import * as sim from './commands/sim.js';

export const COMMANDS = [run, masks, kernels, cp, sim, results, report, dashboard, doctor] as const;

export function buildProgram(): Command {
  const program = new Command('attnbench')
    .description('Measure and plan long-context attention: kernels and context parallelism')
    .version('0.1.0')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .option('--kernel-module <module|file.py>', 'load an external python kernel (repeatable; README "Bring your own kernel")', (v: string, a: string[]) => [...a, v], [] as string[]);
  for (const c of COMMANDS) c.register(program);
  // The guards' hook runs first (bad values are exit 2 before any python starts); then external
  // kernels are registered before any command parses its --kernel flags.
  installGuards(program);
  program.hook('preAction', async (_cmd, action) => {
    const specs = program.opts().kernelModule as string[];
    if (specs.length) await useKernelModules(specs, (action.opts() as { python?: string }).python);
  });
  return program;
}

export async function main(argv: string[]): Promise<number> {
  watchHeapParent();
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    return reportError(e);
  } finally {
    releaseCommandLocks();
  }
}

/**
 * `attnbench masks --json | head`: the reader is gone, so is the point of going on. Node threw an
 * unhandled EPIPE (a stack trace) at the next write; now the command ends at once with exit 0, as
 * a tool killed by SIGPIPE ends quietly. Rows already appended stay (a torn last one is repaired on resume).
 */
export function endQuietlyOnClosedPipe(): void {
  for (const s of [process.stdout, process.stderr])
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(0);
      throw e;
    });
}

export function reportError(e: unknown): number {
  if (e instanceof ChildExited) return e.exitCode; // the child printed its own messages
  if (e instanceof CommanderError) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0) return 0;
    return 2; // commander already printed its one-line message
  }
  if (e instanceof AttnbenchError) {
    process.stderr.write(`attnbench: ${e.code}: ${e.message}\n`);
    if (process.env.ATTNBENCH_DEBUG) process.stderr.write(`${e.stack}\n`);
    return e.exit;
  }
  const err = e as Error;
  process.stderr.write(`attnbench: internal: ${err?.message ?? String(e)}\n`);
  if (process.env.ATTNBENCH_DEBUG) process.stderr.write(`${err?.stack}\n`);
  return 1;
}
