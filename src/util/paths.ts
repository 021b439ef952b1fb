// Path checks run before a command writes or reads anything: one line, exit 2, instead of a
// hang (Node's recursive mkdir spins for ever under /proc), `internal: EEXIST/ENOTDIR ... mkdir`
// (exit 1) or rows recorded as failures one by one.
import fs from 'node:fs';
import path from 'node:path';
import { badInput } from '../errors.js';

export type PathKind = 'out-file' | 'out-dir' | 'in-file' | 'in-dir';

/** Kernel pseudo-filesystems: nothing of ours can be written there (and mkdir loops on /proc). */
const PSEUDO_ROOTS = ['/proc', '/sys'];

function under(abs: string, root: string): boolean {
  return abs === root || abs.startsWith(`${root}/`);
}

function pseudo(abs: string): string | undefined {
  return PSEUDO_ROOTS.find((r) => under(abs, r));
}

/** Why a path that stat refused (other than "not there") cannot be used, by errno code. */
const STAT_WHY: Record<string, string> = {
  ENAMETOOLONG: 'name too long (over 255 bytes in one part, or 4095 in all)',
  ELOOP: 'too many symbolic links (a link loop?)',
  EACCES: 'permission denied on a folder of the path',
};

/** stat of p, or undefined where nothing is there; a path that cannot be looked up at all (a name too long, a link loop, a folder that cannot be searched) throws `bad`. */
function statOf(p: string, bad?: (why: string) => Error): fs.Stats | undefined {
  try {
    return fs.statSync(p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    if (bad && code !== 'ENOENT' && code !== 'ENOTDIR') throw bad(STAT_WHY[code] ?? `cannot be looked up (${code})`);
    return undefined;
  }
}

function writable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** The nearest ancestor of `abs` that exists (abs itself excluded), and the first missing part below it. */
function existingAncestor(abs: string): string {
  let dir = path.dirname(abs);
  for (;;) {
    if (fs.existsSync(dir) || dir === path.dirname(dir)) return dir;
    dir = path.dirname(dir);
  }
}

/**
 * Why `abs` (which exists, `st` its stat) cannot be read as an input, or undefined: a fifo or a
 * device blocks or never ends (/dev/zero grows the heap until the process dies), and files under
 * /proc and /sys are not what they seem (/proc/self/mem fails with EIO, /proc/kcore is huge).
 */
export function inputProblem(abs: string, st: fs.Stats = fs.statSync(abs)): string | undefined {
  const real = fs.realpathSync(abs);
  const special = pseudo(abs) ?? pseudo(real);
  if (special) return `cannot read inputs under ${special} (a kernel pseudo-filesystem)`;
  if (st.isDirectory() || st.isFile()) return undefined;
  return st.isFIFO() ? 'is a fifo (named pipe), expected a regular file' : st.isSocket() ? 'is a socket, expected a regular file' : 'is a device, expected a regular file';
}

/** Throws badInput naming `what` unless `p` is an existing regular file that can be read as an input. */
export function checkInputFile(p: string, what: string): void {
  checkPath(p, 'in-file', what);
}

/**
 * Throws badInput (exit 2, one line naming `flag`) unless `p` can be used as `kind`: an output
 * file or folder that exists with the right type and is writable, or does not exist yet under a
 * writable folder (no file in the way); an input file or folder that exists. Writes nothing.
 */
export function checkPath(p: string, kind: PathKind, flag: string): void {
  const bad = (why: string) => badInput(`${flag} '${p}': ${why}`);
  if (typeof p !== 'string' || p.trim() === '') throw bad('empty path');
  if (p.includes('\0')) throw bad('the path contains a NUL byte');
  const abs = path.resolve(p);
  // Linux's limits (NAME_MAX, PATH_MAX); stat only reports them when every folder above exists,
  // and a new --out's folders are made before its file fails with ENAMETOOLONG.
  if (Buffer.byteLength(abs) > 4095 || abs.split('/').some((part) => Buffer.byteLength(part) > 255)) throw bad(STAT_WHY.ENAMETOOLONG);
  const st = statOf(abs, bad);
  if (kind === 'in-file' || kind === 'in-dir') {
    if (!st) throw bad('no such file or folder');
    if (kind === 'in-file' && st.isDirectory()) throw bad('is a folder, expected a file');
    if (kind === 'in-dir' && !st.isDirectory()) throw bad('is not a folder');
    const why = inputProblem(abs, st);
    if (why) throw bad(why);
    return;
  }
  const special = pseudo(abs) ?? (st ? pseudo(fs.realpathSync(abs)) : undefined);
  if (special) throw bad(`cannot write under ${special} (a kernel pseudo-filesystem)`);
  if (st) {
    if (kind === 'out-file' && st.isDirectory()) throw bad('is a folder, expected a file');
    // Of the devices only /dev/null: /dev/full fails the first append (ENOSPC, after the work), and a
    // writer that reads its file back first (sim run replaces rows) never ends on /dev/zero.
    if (kind === 'out-file' && !st.isFile() && fs.realpathSync(abs) !== '/dev/null') throw bad('is not a regular file (of the devices only /dev/null is accepted)');
    if (kind === 'out-dir' && !st.isDirectory()) throw bad('is a file, expected a folder');
    if (!writable(abs)) throw bad('not writable');
    return;
  }
  const anc = existingAncestor(abs);
  const ancSt = statOf(anc);
  if (!ancSt?.isDirectory()) throw bad(`${anc} is a file, not a folder`);
  const real = fs.realpathSync(anc);
  const specialAnc = pseudo(real);
  if (specialAnc) throw bad(`cannot write under ${specialAnc} (a kernel pseudo-filesystem)`);
  if (under(real, '/dev')) throw bad('cannot create files under /dev');
  if (!writable(anc)) throw bad(`folder ${anc} is not writable`);
}
