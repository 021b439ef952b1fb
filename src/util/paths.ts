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

function statOf(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p);
  } catch {
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
 * Throws badInput (exit 2, one line naming `flag`) unless `p` can be used as `kind`: an output
 * file or folder that exists with the right type and is writable, or does not exist yet under a
 * writable folder (no file in the way); an input file or folder that exists. Writes nothing.
 */
export function checkPath(p: string, kind: PathKind, flag: string): void {
  const bad = (why: string) => badInput(`${flag} '${p}': ${why}`);
  if (typeof p !== 'string' || p.trim() === '') throw bad('empty path');
  if (p.includes('\0')) throw bad('the path contains a NUL byte');
  const abs = path.resolve(p);
  const st = statOf(abs);
  if (kind === 'in-file' || kind === 'in-dir') {
    if (!st) throw bad('no such file or folder');
    if (kind === 'in-file' && st.isDirectory()) throw bad('is a folder, expected a file');
    if (kind === 'in-dir' && !st.isDirectory()) throw bad('is not a folder');
    return;
  }
  const special = pseudo(abs) ?? (st ? pseudo(fs.realpathSync(abs)) : undefined);
  if (special) throw bad(`cannot write under ${special} (a kernel pseudo-filesystem)`);
  if (st) {
    if (kind === 'out-file' && st.isDirectory()) throw bad('is a folder, expected a file');
    if (kind === 'out-file' && !st.isFile() && !st.isCharacterDevice()) throw bad('is not a regular file');
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
