// Torn tails (issue 17): a row cut mid-write must not make the next append glue onto it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { appendJsonl, okRowIds, readJsonl, repairTornTail } from './jsonl.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attnbench-jsonl-'));
});
afterEach(() => {
  vi.restoreAllMocks();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('appendJsonl on a torn file', () => {
  it('moves the fragment to .torn, warns once, appends on a fresh line; --resume reads the file again', () => {
    const f = path.join(dir, 'rows.jsonl');
    fs.writeFileSync(f, `${JSON.stringify({ id: 'a', status: 'ok' })}\n{"id":"b","sta`);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    appendJsonl(f, { id: 'b', status: 'ok' });
    appendJsonl(f, { id: 'c', status: 'ok' });
    expect(err.mock.calls.map((c) => String(c[0]))).toEqual([expect.stringMatching(/last line was cut mid-write \(14 bytes\): moved to .*rows\.jsonl\.torn/)]);
    expect(fs.readFileSync(f, 'utf8').split('\n')).toEqual(['{"id":"a","status":"ok"}', '{"id":"b","status":"ok"}', '{"id":"c","status":"ok"}', '']);
    expect(fs.readFileSync(`${f}.torn`, 'utf8')).toBe('{"id":"b","sta\n');
    expect([...okRowIds(f)]).toEqual(['a', 'b', 'c']);
  });

  it('a complete last row without its newline gets the newline, nothing moved', () => {
    const f = path.join(dir, 'r.jsonl');
    fs.writeFileSync(f, '{"id":"a"}');
    repairTornTail(f);
    expect(fs.readFileSync(f, 'utf8')).toBe('{"id":"a"}\n');
    expect(fs.existsSync(`${f}.torn`)).toBe(false);
  });

  it('a torn file of one line (no newline at all) is emptied; a missing file is left alone', () => {
    const f = path.join(dir, 'one.jsonl');
    fs.writeFileSync(f, '{"id":');
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    repairTornTail(f);
    expect(fs.readFileSync(f, 'utf8')).toBe('');
    repairTornTail(path.join(dir, 'none.jsonl'));
    expect(fs.existsSync(path.join(dir, 'none.jsonl'))).toBe(false);
  });

  it('readJsonl skips a torn last line; a malformed line before the last is bad input (exit 2)', () => {
    const f = path.join(dir, 'x.jsonl');
    fs.writeFileSync(f, '{"a":1}\n{"a":');
    expect(readJsonl(f)).toEqual([{ a: 1 }]);
    fs.writeFileSync(f, '{"a":1}\n{"a":\n{"a":2}\n{"a":3}\n');
    expect(() => readJsonl(f)).toThrow(expect.objectContaining({ exit: 2, message: expect.stringMatching(/x\.jsonl:2: malformed JSON line/) }));
  });
});
