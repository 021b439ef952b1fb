// Path checks (issue 17): /proc used to hang mkdir for ever, a file in the way gave EEXIST (exit 1).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkPath } from './paths.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attnbench-paths-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const bad = (p: string, kind: Parameters<typeof checkPath>[1]) => {
  try {
    checkPath(p, kind, '--out');
  } catch (e) {
    return e as { exit: number; message: string };
  }
  return undefined;
};

describe('checkPath', () => {
  it('refuses pseudo-filesystems, files in the way, folders for files and files for folders, empty paths', () => {
    const file = path.join(dir, 'f.txt');
    fs.writeFileSync(file, 'x');
    const cases: [string, Parameters<typeof checkPath>[1], RegExp][] = [
      ['/proc/attnbench-x', 'out-dir', /under \/proc/],
      ['/proc/self/x/y.jsonl', 'out-file', /under \/proc/],
      ['/sys/x.jsonl', 'out-file', /under \/sys/],
      [path.join(file, 'sub', 'x.jsonl'), 'out-file', /f\.txt is a file, not a folder/],
      [dir, 'out-file', /is a folder, expected a file/],
      [file, 'out-dir', /is a file, expected a folder/],
      ['', 'out-file', /empty path/],
      [path.join(dir, 'missing.jsonl'), 'in-file', /no such file/],
      [dir, 'in-file', /is a folder/],
      ['/dev/attnbench-nope/x', 'out-file', /under \/dev/],
    ];
    for (const [p, kind, re] of cases) {
      const e = bad(p, kind);
      expect(e, p).toBeDefined();
      expect(e!.exit).toBe(2);
      expect(e!.message).toMatch(re);
      expect(e!.message).not.toContain('\n');
    }
  });

  it('a name over the filesystem limit and a symbolic-link loop are one line (were internal: ENAMETOOLONG / ELOOP, exit 1)', () => {
    const loop = path.join(dir, 'loop');
    fs.symlinkSync(loop, loop);
    const long = 'x'.repeat(300);
    const cases: [string, Parameters<typeof checkPath>[1], RegExp][] = [
      [path.join(dir, `${long}.jsonl`), 'out-file', /name too long/],
      [path.join(dir, long, 'k.jsonl'), 'out-file', /name too long/],
      [path.join(dir, 'new', `${long}.jsonl`), 'out-file', /name too long/], // under a folder not made yet: stat says ENOENT
      [path.join(dir, 'new', long, 'k.jsonl'), 'out-file', /name too long/],
      [path.join(dir, ...Array.from({ length: 20 }, () => 'y'.repeat(250))), 'out-dir', /name too long/], // over 4095 bytes in all
      [path.join(dir, long), 'out-dir', /name too long/],
      [path.join(dir, `${long}.jsonl`), 'in-file', /name too long/],
      [loop, 'out-file', /symbolic links/],
      [path.join(loop, 'k.jsonl'), 'out-file', /symbolic links/],
      [loop, 'out-dir', /symbolic links/],
      [loop, 'in-file', /symbolic links/],
      [loop, 'in-dir', /symbolic links/],
    ];
    for (const [p, kind, re] of cases) {
      const e = bad(p, kind);
      expect(e, `${kind} ${p.replace(long, 'LONG')}`).toBeDefined();
      expect(e!.exit).toBe(2);
      expect(e!.message).toMatch(re);
    }
  });

  it('accepts new files under new folders, existing files and folders, /dev/null; writes nothing', () => {
    const file = path.join(dir, 'f.jsonl');
    fs.writeFileSync(file, '');
    for (const [p, kind] of [
      [path.join(dir, 'a', 'b', 'c.jsonl'), 'out-file'],
      [path.join(dir, 'new-dir'), 'out-dir'],
      [file, 'out-file'],
      [dir, 'out-dir'],
      ['/dev/null', 'out-file'],
      [file, 'in-file'],
    ] as const)
      expect(bad(p, kind), p).toBeUndefined();
    expect(fs.readdirSync(dir)).toEqual(['f.jsonl']);
  });
});
