import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FAMILY_IDS } from '../../mask/families/index.js';
import { main } from '../main.js';

/** Run the CLI, capturing stdout and stderr. */
async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  const code = await main(argv);
  vi.restoreAllMocks();
  return { code, out, err };
}

afterEach(() => vi.restoreAllMocks());

describe('attnbench masks', () => {
  it('--list names every family with its parameters', async () => {
    const { code, out } = await cli('masks', '--list');
    expect(code).toBe(0);
    for (const id of FAMILY_IDS) expect(out).toMatch(new RegExp(`^${id} `, 'm'));
    expect(out).toMatch(/^ {2}w=1024 /m);
    expect(out).toMatch(/^ {2}kvHeads=8 /m);
  });

  it('--list --family lists only those families; an unknown one is bad input', async () => {
    const { code, out } = await cli('masks', '--list', '--family', 'sliding_window,causal');
    expect(code).toBe(0);
    expect(out.split('\n').filter((l) => /^\S/.test(l)).map((l) => l.split(' ')[0])).toEqual(['causal', 'sliding_window']);
    const j = JSON.parse((await cli('masks', '--list', '--family', 'block_sparse', '--json')).out);
    expect(j.map((f: { id: string }) => f.id)).toEqual(['block_sparse']);
    const bad = await cli('masks', '--list', '--family', 'nope');
    expect(bad.code).toBe(2);
    expect(bad.out).toBe('');
  });

  it('--json prints the mask, its area, sparsity and FLOPs', async () => {
    const { code, out } = await cli('masks', '--family', 'sliding_window', '--seqlen', '4k', '--param', 'w=100', '--json');
    expect(code).toBe(0);
    const j = JSON.parse(out);
    const area = 4096 * 201 - 100 * 101;
    expect(j).toMatchObject({ family: 'sliding_window', seqlen: 4096, seed: 0, params: { w: 100 }, docLens: null, area });
    expect(j.sparsity).toBeCloseTo(1 - area / 4096 ** 2, 12);
    expect(j.flops.fwd).toBe(4 * area * 64 * 128);
    expect(j.flops.bwd).toBe(2.5 * j.flops.fwd);
    expect(j.slices.length).toBeLessThanOrEqual(3);
  });

  it('--json of a per-head family prints every head; doc families print their lengths', async () => {
    const bs = JSON.parse((await cli('masks', '--family', 'block_sparse', '--seqlen', '1k', '--param', 'kvHeads=3', '--json')).out);
    expect(bs.heads).toBe(3);
    expect(bs.slices).toHaveLength(3);
    const doc = JSON.parse((await cli('masks', '--family', 'causal_document', '--seqlen', '8k', '--seed', '4', '--doclens', 'pile', '--json')).out);
    expect(doc.params.docLens).toBe('pile');
    expect(doc.docLens.reduce((a: number, l: number) => a + l, 0)).toBe(8192);
    expect(doc.slices).toHaveLength(doc.docLens.length);
  });

  it('bad input exits 2 with one line', async () => {
    for (const argv of [
      ['masks', '--family', 'causal', '--seqlen', '12q', '--json'],
      ['masks', '--family', 'nope', '--json'],
      ['masks', '--family', 'sliding_window', '--seqlen', '1k', '--json'],
      ['masks', '--family', 'causal', '--param', 'w=3', '--json'],
      ['masks', '--family', 'causal,full', '--json'],
      ['masks', '--family', 'causal', '--seed', '-1', '--json'],
    ]) {
      const { code, err } = await cli(...argv);
      expect(code, argv.join(' ')).toBe(2);
      expect(err.trim().split('\n')).toHaveLength(1);
    }
    expect((await cli('masks', '--seqlen', '12q', '--json', '--family', 'causal')).err).toContain("'12q'");
  });

  it('the gallery writes pictures and an index', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'attnbench-gallery-'));
    const { code, out } = await cli('masks', '--family', 'causal_document,sliding_window', '--seqlen', '4k', '--param', 'w=256', '--out', dir);
    expect(code).toBe(0);
    expect(out).toContain('2 mask(s)');
    const files = readdirSync(dir);
    expect(files).toEqual(expect.arrayContaining(['causal_document.png', 'sliding_window.svg']));
  });
});
