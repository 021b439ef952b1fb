// Frozen flags: every option of every subcommand, listed here. Adding, renaming or removing a flag
// makes this test fail, so the change is deliberate: update the table in the same commit and say
// why in its message (torchtitan keeps its CLI from growing by accident the same way).
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from './main.js';

const FLAGS: Readonly<Record<string, readonly string[]>> = {
  '': ['--kernel-module', '--mem-budget', '--time-budget', '--version'],
  'run': ['--executor', '--no-resume', '--out', '--python', '--quick', '--verbose'],
  'masks': ['--doclens', '--family', '--json', '--list', '--out', '--param', '--seed', '--seqlen'],
  'kernels': ['--check-up-to', '--direction', '--doclens', '--dtype', '--executor', '--family', '--head-dim', '--heads', '--ingest', '--iters', '--job-timeout', '--kernel', '--list-presets', '--no-progress', '--out', '--param', '--plan-dir', '--preset', '--python', '--resume', '--retry', '--samples', '--seed', '--seqlen', '--warmup'],
  'cp': [],
  'cp schemes': [],
  'cp plan': ['--budget', '--check', '--doclens', '--dtype', '--family', '--head-dim', '--heads', '--json', '--layout', '--param', '--scheme', '--seed', '--seqlen', '--world'],
  'cp run': ['--backend', '--calibration', '--check-up-to', '--device', '--doclens', '--dtype', '--executor', '--family', '--head-dim', '--heads', '--iters', '--job-dir', '--kernel', '--layout', '--nnodes', '--no-reference', '--node-rank', '--nproc-per-node', '--out', '--param', '--plan-dir', '--preset', '--python', '--rdzv-endpoint', '--rdzv-id', '--resume', '--retry', '--scheme', '--seed', '--seqlen', '--timeout', '--tokens-per-rank', '--trace', '--trace-dir', '--virtual-ranks', '--warmup', '--world'],
  'cp sbatch': ['--account', '--calibration', '--check-up-to', '--cpus-per-task', '--dir', '--doclens', '--dtype', '--family', '--gpus-per-node', '--head-dim', '--heads', '--iters', '--job-name', '--kernel', '--layout', '--log', '--no-reference', '--nodes', '--param', '--partition', '--port', '--preset', '--python', '--repo-root', '--scheme', '--script', '--seed', '--seqlen', '--setup', '--time', '--timeout', '--tokens-per-rank', '--trace', '--trace-dir', '--warmup', '--world'],
  'sim': [],
  'sim calibrate': ['--db', '--in', '--out'],
  'sim validate': ['--calibration', '--config', '--db', '--in', '--json', '--no-groups', '--out', '--ranks'],
  'sim run': ['--calibration', '--config', '--direction', '--family', '--gpu', '--gpus', '--kernel', '--layout', '--no-overlap', '--out', '--plots', '--preset', '--scheme', '--seed', '--seqlen', '--trace'],
  'sim network': ['--config', '--fit'],
  'sim estimate': ['--budget-s', '--calibration', '--gpu', '--plan-dir'],
  'sim plots': ['--db', '--in', '--out'],
  'results': ['--db', '--direction', '--export', '--family', '--format', '--ingest', '--kernel', '--pivot', '--scheme', '--source', '--sql', '--status', '--suite'],
  'report': ['--db', '--in', '--out', '--title', '--trace'],
  'dashboard': ['--db', '--port'],
  'doctor': ['--json', '--no-jax', '--python'],
};

function flagTable(c: Command, prefix = ''): Record<string, string[]> {
  const name = prefix ? `${prefix} ${c.name()}`.trim() : '';
  const out: Record<string, string[]> = { [name]: c.options.map((o) => o.long ?? o.short ?? o.flags).sort() };
  for (const s of c.commands) Object.assign(out, flagTable(s, name || ' '));
  return out;
}

describe('CLI flags', () => {
  it('every subcommand has exactly the frozen options (update FLAGS deliberately)', () => {
    expect(flagTable(buildProgram())).toEqual(FLAGS);
  });
  it('every option has a description', () => {
    const walk = (c: Command): string[] => [...c.options.filter((o) => !o.description).map((o) => `${c.name()} ${o.flags}`), ...c.commands.flatMap(walk)];
    expect(walk(buildProgram())).toEqual([]);
  });
});
