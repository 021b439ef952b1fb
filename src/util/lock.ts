// Lock files (issue 17): one writer per results file (--out) and per database. Two sweeps on one
// --out used to measure every case twice; parallel ingests failed on DuckDB's own lock.
//   The lock of a target is <tmpdir>/attnbench-locks/<sha1 of its absolute path>.lock (nothing is
//   written beside the user's files before the command's checks pass); it holds {"pid", "host",
//   "since", "command", "target"} and is created exclusively (O_EXCL).
//   A lock whose process is gone (kill -9; same host) is stale and taken over, as is one of this
//   very process (a command that failed before releasing it, when the CLI runs in-process), or of
//   the parent that re-ran this command with a larger heap (cli/heap.ts, ATTNBENCH_HEAP_PARENT).
//   `wait`: poll until the holder is done (the database: ingests queue up), up to waitMs; else the
//   second writer exits 2 at once naming the holder's pid.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { usage } from '../errors.js';

export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
  readonly command: string;
  readonly target?: string;
}

/** The lock file of a target path (same for every process of this host). */
export function lockFileOf(target: string): string {
  const abs = path.resolve(target);
  return path.join(os.tmpdir(), 'attnbench-locks', `${createHash('sha1').update(abs).digest('hex').slice(0, 20)}.lock`);
}

export interface Lock {
  readonly file: string;
  release(): void;
}

const held = new Map<string, number>(); // lock file -> times acquired by this process (re-entrant)

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(file: string): LockHolder | null {
  try {
    const h = JSON.parse(fs.readFileSync(file, 'utf8')) as LockHolder;
    return typeof h.pid === 'number' ? h : null;
  } catch {
    return null; // being written right now, or garbage
  }
}

let exitHook = false;
function releaseAllOnExit(): void {
  if (exitHook) return;
  exitHook = true;
  process.on('exit', () => {
    for (const f of held.keys()) {
      const h = readHolder(f);
      if (h?.pid === process.pid) fs.rmSync(f, { force: true });
    }
  });
}

/**
 * The lock folder is shared by the users of this host (like /tmp: world-writable, sticky), so a
 * second user's sweep can lock its own files instead of failing with EACCES (exit 1).
 */
function lockDir(dir: string): void {
  if (fs.existsSync(dir)) return;
  fs.mkdirSync(dir, { recursive: true });
  try {
    fs.chmodSync(dir, 0o1777);
  } catch {
    // not ours to change (made by another process meanwhile)
  }
}

/** One attempt: the lock, or its (live, foreign) holder. */
function tryLock(file: string, target: string, what: string): LockHolder | null {
  const me: LockHolder = { pid: process.pid, host: os.hostname(), since: new Date().toISOString(), command: process.argv.slice(2).join(' ').slice(0, 200), target: path.resolve(target) };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      lockDir(path.dirname(file));
      const fd = fs.openSync(file, 'wx');
      fs.writeSync(fd, JSON.stringify(me));
      fs.closeSync(fd);
      return null;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code === 'ENOTDIR')
        throw usage(`${what} ${target}: cannot create its lock ${file} (${code}): make ${path.dirname(file)} writable for you, or point TMPDIR at a folder of yours`);
      if (code !== 'EEXIST') throw e;
    }
    const h = readHolder(file);
    if (h === null) {
      // Unreadable: a writer between open and write, or a broken file. Give it a moment.
      const st = fs.statSync(file, { throwIfNoEntry: false });
      if (st && Date.now() - st.mtimeMs > 5000) fs.rmSync(file, { force: true });
      continue;
    }
    // Ours: this very process, or the parent that re-ran this command with a larger heap (cli/heap.ts).
    const ours = h.pid === process.pid || String(h.pid) === process.env.ATTNBENCH_HEAP_PARENT;
    const stale = h.host === os.hostname() && (ours || !alive(h.pid));
    if (!stale) return h;
    fs.rmSync(file, { force: true });
  }
  return readHolder(file) ?? { pid: -1, host: '?', since: '?', command: '?' };
}

function describe(h: LockHolder): string {
  return `pid ${h.pid}${h.host !== os.hostname() ? ` on ${h.host}` : ''} (attnbench ${h.command}, since ${h.since})`;
}

function acquired(file: string): Lock {
  held.set(file, (held.get(file) ?? 0) + 1);
  releaseAllOnExit();
  let done = false;
  return {
    file,
    release() {
      if (done) return;
      done = true;
      const n = (held.get(file) ?? 1) - 1;
      if (n > 0) return void held.set(file, n);
      held.delete(file);
      if (readHolder(file)?.pid === process.pid) fs.rmSync(file, { force: true });
    },
  };
}

/** Lock `target` (a results file or database) for writing now, or exit 2 naming the holder. */
export function lockNow(target: string, what: string): Lock {
  const file = lockFileOf(target);
  if (held.has(file)) return acquired(file);
  const h = tryLock(file, target, what);
  if (h)
    throw usage(`${what} ${target} is being written by ${describe(h)}: wait for it to finish, or remove ${file} if that process is gone`);
  return acquired(file);
}

/** ATTNBENCH_LOCK_WAIT_S in ms (default 600 s); a value that is not seconds >= 0 is exit 2 (NaN used to wait for ever). */
export function lockWaitMs(): number {
  const env = process.env.ATTNBENCH_LOCK_WAIT_S;
  if (env === undefined || env.trim() === '') return 600_000;
  const s = Number(env);
  if (!Number.isFinite(s) || s < 0) throw usage(`invalid ATTNBENCH_LOCK_WAIT_S '${env}': expected seconds >= 0`);
  return s * 1000;
}

/** Lock `target`, waiting (polling) while another process holds it; exit 2 naming the holder after waitMs. */
export async function lockWait(target: string, what: string, waitMs = lockWaitMs()): Promise<Lock> {
  const file = lockFileOf(target);
  if (held.has(file)) return acquired(file);
  const t0 = Date.now();
  for (let delay = 20; ; delay = Math.min(250, delay * 2)) {
    const h = tryLock(file, target, what);
    if (!h) return acquired(file);
    if (Date.now() - t0 > waitMs)
      throw usage(`${what} ${target} is still in use by ${describe(h)} after ${Math.round(waitMs / 1000)} s: try again later, or remove ${file} if that process is gone`);
    await new Promise((r) => setTimeout(r, delay));
  }
}
