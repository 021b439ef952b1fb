// Bad input found by the adversarial sweep of the CLI (scripts/probe-cli.mjs), driven in-process
// through main(): each case here misbehaved before its fix (ran with a default, an internal error
// with exit 1, a silent no-op, or appended to a file that is not ours). Inputs that used to hang
// (fifos, /dev/zero) are in the spawned drill table (test/drills/bad-inputs.ts).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { syntheticRow } from '../report/fixtures.js';
import { generateMask } from '../mask/families/index.js';
import { guardMaskSize } from '../mask/families/size.js';
import { sbatchScript, slurmTime } from '../cp/torch/launch.js';
import { readJsonl } from '../util/jsonl.js';
import { lockNow, lockWaitMs } from '../util/lock.js';
import { pythonExecutable } from '../worker/client.js';
import { checkPath } from '../util/paths.js';
import { maskJson, writeMaskJson } from './commands/masks.js';
import type { Command } from 'commander';
import { commandPath, PATH_OPTIONS } from './guards.js';
import { buildProgram, main } from './main.js';
import { captureIo } from './testing.js';

let dir = '';
let out: string[] = [];
let err: string[] = [];
captureIo('attnbench-robust-', (io) => ({ dir, out, err } = io));

/** Runs the CLI in-process: exit code, the stderr lines, and what the case folder holds after. */
async function cli(...argv: string[]): Promise<{ code: number; lines: string[]; files: string[] }> {
  const code = await main(argv);
  const lines = err.join('').split('\n').filter((l) => l.trim() && !l.startsWith('attnbench: warning: '));
  return { code, lines, files: fs.readdirSync(dir).sort() };
}

const KCPU = ['kernels', '--executor', 'cpu', '--family', 'causal', '--seqlen', '256', '--no-progress'];
const CPR = ['cp', 'run', '--scheme', 'ring_p2p', '--world', '2', '--family', 'causal', '--seqlen', '1k'];

describe('bad values that used to pass or break (exit 2, one line, nothing written)', () => {
  it.each([
    [[...KCPU, '--samples', ''], /empty --samples value/],
    [[...KCPU, '--heads', ' '], /empty --heads value/],
    [[...KCPU, '--python', ''], /empty --python value/],
    [[...KCPU, '--resume', '--retry', ''], /empty --retry value/],
    [['--kernel-module', '', ...KCPU], /empty --kernel-module value/],
    [['kernels', '--executor', 'cpu', '--preset', 'toString'], /unknown preset 'toString'/],
    [['sim', 'run', '--preset', '__proto__'], /unknown preset '__proto__'/],
    [['masks', '--family', 'sliding_window', '--seqlen', '4k', '--param', '__proto__=1', '--json'], /unknown parameter '__proto__'/],
    [['cp', 'plan', '--scheme', 'ring_p2p', '--world', '2', '--family', 'causal', '--seqlen', '1k', '--layout', '__proto__=1'], /unknown layout key '__proto__'/],
    [['masks', '--family', 'global_sliding_window', '--seqlen', '1000000000000', '--json'], /at most 4096M/],
    [['sim', 'run', '--gpus', '8', '--family', 'causal', '--scheme', 'ring_p2p', '--seqlen', '1T'], /invalid seqlen '1T'|at most 4096M/],
    [['sim', 'run', '--gpus', '8', '--family', 'causal', '--scheme', 'ring_p2p,ulysses', '--layout', 'nope=1'], /--layout: unknown key 'nope' for ulysses, ring_p2p|--layout: unknown key 'nope' for ring_p2p, ulysses/],
    [['sim', 'run', '--gpus', '8', '--family', 'causal', '--scheme', 'ring_p2p', '--direction', ','], /invalid --direction ','/],
    [['cp', 'sbatch', '--nodes', '1', '--gpus-per-node', '2', '--scheme', 'ring_p2p', '--family', 'causal', '--seqlen', '1k', '--time', '0'], /--time must be/],
    [['cp', 'sbatch', '--nodes', '1', '--gpus-per-node', '2', '--scheme', 'ring_p2p', '--family', 'causal', '--seqlen', '1k', '--port', '70000'], /--port must be 1..65535/],
    [['cp', 'sbatch', '--nodes', '1', '--gpus-per-node', '2', '--scheme', 'ring_p2p', '--family', 'causal', '--seqlen', '1k', '--job-name', 'x\n#SBATCH --wrap=id'], /--job-name must be one non-empty line/],
  ])('%j', async (argv, match) => {
    const args = argv.map((a) => a);
    // Outputs go into the case folder.
    if (args[0] === 'kernels' || args.includes('kernels')) args.push('--out', path.join(dir, 'k.jsonl'));
    if (args[0] === 'sim') args.push('--out', path.join(dir, 's.jsonl'));
    if (args[0] === 'cp' && args[1] === 'sbatch') args.push('--dir', path.join(dir, 'sb'));
    const r = await cli(...args);
    expect(r.code, r.lines.join('\n')).toBe(2);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toMatch(/^attnbench: (usage|bad_input): /);
    expect(r.lines[0]).toMatch(match);
    expect(out.join('')).toBe('');
    expect(r.files).toEqual([]);
  });
});

describe('an existing --out that is not a results file is refused before anything runs', () => {
  const row = JSON.stringify(syntheticRow({ kernel: 'flex' }));
  it.each([
    ['JSON of another shape', '[1,2,3]\n', [...CPR, '--resume']],
    ['null lines', 'null\n', [...KCPU, '--resume']],
    ['a row with a numeric id', '{"schema":1,"id":5,"status":"ok"}\n', [...KCPU]],
    ['a complete (newline-ended) last line that does not parse', `${row}\n\ufeff${row}\n`, [...KCPU, '--resume']],
    ['random bytes', Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 131) % 251)), [...CPR]],
  ])('%s', async (_what, content, argv) => {
    const f = path.join(dir, 'old.jsonl');
    fs.writeFileSync(f, content);
    const before = fs.readFileSync(f);
    const r = await cli(...argv, '--out', f);
    expect(r.code, r.lines.join('\n')).toBe(2);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toMatch(/--out '.*old\.jsonl' is not a results file of attnbench: .*old\.jsonl:\d+: /);
    expect(fs.readFileSync(f)).toEqual(before);
    expect(r.files).toEqual(['old.jsonl']);
  });

  it('rows of ours with a torn last line (no newline) are fine', async () => {
    const f = path.join(dir, 'old.jsonl');
    fs.writeFileSync(f, `${JSON.stringify(syntheticRow({ kernel: 'flex' }))}\n{"schema":1,"id":"ker`);
    const r = await cli(...KCPU, '--resume', '--out', f, '--check-up-to', '1');
    expect(r.code, r.lines.join('\n')).toBe(0);
  }, 60_000);

  it('readJsonl: only a last line without its newline is torn', () => {
    const f = path.join(dir, 'r.jsonl');
    fs.writeFileSync(f, '{"id":"a"}\n{"id":"b"');
    expect(readJsonl(f)).toEqual([{ id: 'a' }]);
    fs.writeFileSync(f, '{"id":"a"}\nnot json\n');
    expect(() => readJsonl(f)).toThrow(/r\.jsonl:2: malformed JSON line/);
  });
});

describe('paths that are not regular files', () => {
  const problem = (p: string, kind: Parameters<typeof checkPath>[1]) => {
    try {
      checkPath(p, kind, '--x');
      return undefined;
    } catch (e) {
      return (e as Error).message;
    }
  };
  it('inputs: a fifo, a device, /proc files are refused (they block, never end, or fail with EIO)', () => {
    const fifo = path.join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    expect(problem(fifo, 'in-file')).toMatch(/is a fifo/);
    expect(problem('/dev/zero', 'in-file')).toMatch(/is a device/);
    expect(problem('/proc/self/status', 'in-file')).toMatch(/under \/proc/);
    expect(problem('/proc/self', 'in-dir')).toMatch(/under \/proc/);
    expect(problem(path.join(dir), 'in-dir')).toBeUndefined();
  });
  it('outputs: of the devices only /dev/null (/dev/full fails after the work, /dev/zero never ends when read back)', () => {
    expect(problem('/dev/full', 'out-file')).toMatch(/not a regular file/);
    expect(problem('/dev/zero', 'out-file')).toMatch(/not a regular file/);
    expect(problem('/dev/null', 'out-file')).toBeUndefined();
  });
  it('--out through a symbolic-link loop or with a name over 255 bytes: exit 2, one line (was internal: ELOOP / ENAMETOOLONG, exit 1)', async () => {
    const loop = path.join(dir, 'loop');
    fs.symlinkSync(loop, loop);
    for (const [o, re] of [
      [loop, /--out '.*loop': too many symbolic links/],
      [path.join(loop, 'k.jsonl'), /too many symbolic links/],
      [path.join(dir, `${'x'.repeat(300)}.jsonl`), /name too long/],
    ] as const) {
      err.length = 0;
      const r = await cli('kernels', '--executor', 'cpu', '--family', 'causal', '--seqlen', '256', '--no-progress', '--out', o);
      expect(r.code).toBe(2);
      expect(r.lines).toHaveLength(1);
      expect(r.lines[0]).toMatch(re);
      expect(r.files).toEqual(['loop']);
    }
  });
});

describe('sizes', () => {
  it('mask generation refuses what cannot fit (estimated slices), before generating', () => {
    expect(() => guardMaskSize('block_sparse', 2 ** 32, { s: 0.5, block: 128, kvHeads: 8 })).toThrow(/block_sparse mask at S=4294967296 .* over the budget|of JS heap/);
    expect(() => generateMask('block_sparse', 2 ** 31, { params: { block: 64 } })).toThrow(/over the budget|of JS heap/);
    expect(() => guardMaskSize('block_sparse', 65536, { s: 0.5, block: 128, kvHeads: 8 })).not.toThrow();
  });
  it('masks --json is written in pieces, byte for byte JSON.stringify (no "Invalid string length" on large masks)', () => {
    for (const [fam, S] of [['block_sparse', 4096], ['causal_document', 65536], ['causal', 1024]] as const) {
      const g = generateMask(fam, S, {});
      let s = '';
      writeMaskJson(g, (x) => (s += x), 7);
      expect(s).toBe(`${JSON.stringify(maskJson(g))}\n`);
    }
  });
  it('sbatch: wall times that are zero or out of range, and control characters in #SBATCH values', () => {
    expect(slurmTime('90')).toBe('01:30:00');
    expect(slurmTime('1-02:00:00')).toBe('1-02:00:00');
    for (const t of ['0', '00:00:00', '99-99:99:99', '1:60:00', '1-24:00:00']) expect(() => slurmTime(t), t).toThrow(/--time must be/);
    const base = { nodes: 1, gpusPerNode: 2, time: '60', repoRoot: '/r', manifests: ['/m/index.json'], out: '/m/r.jsonl', backend: 'nccl', device: 'cuda', resume: true } as unknown as Parameters<typeof sbatchScript>[0];
    expect(sbatchScript(base)).toMatch(/#SBATCH --job-name=attnbench-cp/);
    expect(() => sbatchScript({ ...base, partition: 'gpu\nrm -rf /' })).toThrow(/--partition must be one non-empty line/);
    expect(() => sbatchScript({ ...base, port: 0 })).toThrow(/--port must be/);
  });
});

describe('every path flag is checked before the action (guards.PATH_OPTIONS)', () => {
  // Not path checks on purpose: python and kernel modules are checked by starting them; --doclens
  // takes a built-in name or a path (its loader checks the file); cp sbatch's trace folders and
  // repo root are paths on the cluster's nodes, not on this machine.
  const NOT_CHECKED = new Set([' --kernel-module', 'run --python', 'kernels --python', 'cp run --python', 'cp sbatch --python', 'doctor --python', 'masks --doclens', 'kernels --doclens', 'cp plan --doclens', 'cp run --doclens', 'cp sbatch --doclens', 'cp sbatch --trace-dir', 'cp sbatch --trace', 'cp sbatch --repo-root']);
  it('a new <file>/<dir>/<path> option is in PATH_OPTIONS (cp run --calibration was not: a fifo hung it)', () => {
    const walk = (c: Command): string[] => [
      ...c.options.filter((o) => /<[^>]*(file|dir|path|results)[^>]*>|\[path\]/.test(o.flags) && !PATH_OPTIONS[commandPath(c)]?.[o.attributeName()]).map((o) => `${commandPath(c)} ${o.long}`),
      ...c.commands.flatMap(walk),
    ];
    expect(walk(buildProgram()).filter((f) => !NOT_CHECKED.has(f))).toEqual([]);
  });
});

describe('environment', () => {
  const withEnv = <T>(k: string, v: string, f: () => T): T => {
    const old = process.env[k];
    process.env[k] = v;
    try {
      return f();
    } finally {
      if (old === undefined) delete process.env[k];
      else process.env[k] = old;
    }
  };
  it('ATTNBENCH_LOCK_WAIT_S that is not seconds is exit 2 (NaN waited for ever); empty is the default', () => {
    expect(() => withEnv('ATTNBENCH_LOCK_WAIT_S', 'x', lockWaitMs)).toThrow(/invalid ATTNBENCH_LOCK_WAIT_S 'x'/);
    expect(withEnv('ATTNBENCH_LOCK_WAIT_S', '', lockWaitMs)).toBe(600_000);
    expect(withEnv('ATTNBENCH_LOCK_WAIT_S', '2', lockWaitMs)).toBe(2000);
  });
  it('an empty ATTNBENCH_PYTHON is unset (spawn of an empty file name failed)', () => {
    expect(withEnv('ATTNBENCH_PYTHON', '', () => pythonExecutable())).toBe('python3');
  });
  it('a --python that never starts the worker is exit 2 within the boot limit, naming it (it waited the 300 s hello limit)', async () => {
    const fake = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'attnbench-fake-python-')), 'python');
    fs.writeFileSync(fake, '#!/bin/sh\nexec sleep 60\n', { mode: 0o755 });
    const old = process.env.ATTNBENCH_WORKER_BOOT_S;
    try {
      const t0 = Date.now();
      const argv = ['kernels', '--executor', 'torch', '--python', fake, '--family', 'causal', '--seqlen', '1k', '--no-progress', '--out', path.join(dir, 'k.jsonl')];
      process.env.ATTNBENCH_WORKER_BOOT_S = '1'; // read when the worker starts, after main's first await
      const r = await cli(...argv);
      expect(Date.now() - t0).toBeLessThan(20_000);
      expect(r.code, r.lines.join('\n')).toBe(2);
      expect(r.lines).toEqual([`attnbench: unavailable: python '${fake}' did not start the attnbench worker within 1 s (no boot line: not a python 3 interpreter? pass --python or set ATTNBENCH_PYTHON; ATTNBENCH_WORKER_BOOT_S=<seconds> allows a slower start)`]);
      expect(r.files).toEqual([]);
    } finally {
      if (old === undefined) delete process.env.ATTNBENCH_WORKER_BOOT_S;
      else process.env.ATTNBENCH_WORKER_BOOT_S = old;
      fs.rmSync(path.dirname(fake), { recursive: true, force: true });
    }
  });
});

describe('locks', () => {
  it('the lock folder is shared by the users of the host (sticky, world-writable), like /tmp', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'attnbench-lockdir-'));
    const old = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    try {
      const lock = lockNow(path.join(dir, 'x.jsonl'), '--out');
      expect(fs.statSync(path.join(tmp, 'attnbench-locks')).mode & 0o7777).toBe(0o1777);
      lock.release();
    } finally {
      process.env.TMPDIR = old;
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
