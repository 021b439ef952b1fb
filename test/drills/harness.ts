// Shared by the drill suites: the built CLI (rebuilt when src/ is newer), spawning it with a
// timeout, a small pool.
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const BIN = path.join(ROOT, 'dist/cli/bin.js');
/** Seconds one drill may take: a hang shows as a timeout, never as a stuck suite. */
export const DRILL_TIMEOUT_S = 45;
export const POOL = Math.max(2, Math.min(4, os.cpus().length));

function newest(dir: string): number {
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newest(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) t = Math.max(t, fs.statSync(p).mtimeMs);
  }
  return t;
}

/** Builds dist/ when it is missing or older than src/ (a fresh clone has it from `npm ci`'s prepare). */
export function ensureBuilt(): void {
  const fresh = () => (fs.existsSync(BIN) ? fs.statSync(BIN).mtimeMs : 0) >= newest(path.join(ROOT, 'src'));
  if (fresh()) return;
  // Two drill files may start together: one builds, the other waits for it.
  const lock = path.join(os.tmpdir(), 'attnbench-drills-build.lock');
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch {
      if (Date.now() - (fs.statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? 0) > 300_000) fs.rmSync(lock, { recursive: true, force: true });
      execFileSync('sleep', ['0.5']);
      if (fresh()) return;
    }
  }
  try {
    if (fresh()) return;
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
    fs.utimesSync(BIN, new Date(), new Date());
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

export interface Outcome {
  readonly code: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

export function cli(args: readonly string[], cwd: string, timeoutS = DRILL_TIMEOUT_S, env: NodeJS.ProcessEnv = {}): Promise<Outcome> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd, timeout: timeoutS * 1000, killSignal: 'SIGKILL', maxBuffer: 1 << 24, env: { ...process.env, ATTNBENCH_DEBUG: '', ...env } },
      (err, stdout, stderr) => {
        const e = err as (Error & { code?: number | string; signal?: string }) | null;
        resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, signal: e?.signal ?? null, stdout, stderr, ms: Date.now() - t0 });
      },
    );
  });
}

/** Runs `fn` over `items` with at most `n` at a time. */
export async function pool<T, R>(items: readonly T[], n: number, fn: (x: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}

