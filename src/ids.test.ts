// Typed ids at the edge: unknown ids in flags and in ingested rows are one line, exit 2, and nothing
// is written (issue 16 / 17).
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from './cli/main.js';
import { captureIo } from './cli/testing.js';
import { FAMILY_IDS, KERNEL_IDS, parseDtype, parseIdList, parseKernelId, parseKernelIds, rowKernelProblem, SCHEME_IDS } from './ids.js';
import { FAMILIES } from './mask/families/index.js';
import { KERNELS } from './kernels/registry.js';
import { parseResultJsonl } from './store/parse.js';
import { SCHEMES } from './cp/plan/index.js';

let dir = '';
let err: string[] = [];
captureIo('attnbench-ids-', (io) => ({ dir, err } = io));

describe('id parsing', () => {
  it('derives the id lists from the registries, in registry order', () => {
    expect(KERNEL_IDS).toEqual(KERNELS.map((k) => k.id));
    expect(FAMILY_IDS).toEqual(FAMILIES.map((f) => f.id));
    expect(SCHEME_IDS).toEqual(SCHEMES.map((s) => s.id));
  });
  it('accepts known ids and rejects unknown, empty and blank-item lists with exit 2', () => {
    expect(parseKernelId('flex')).toBe('flex');
    expect(parseKernelIds('flex, sdpa_flash,flex')).toEqual(['flex', 'sdpa_flash']);
    for (const bad of ['nope', '', ' , ', 'flex,,sdpa_flash', 'FLEX'])
      expect(() => parseKernelIds(bad)).toThrow(expect.objectContaining({ exit: 2 }));
    expect(() => parseIdList(['a', 'b'] as const, 'c', '--x')).toThrow(/unknown --x 'c': expected one of a, b/);
    expect(parseDtype('bf16')).toBe('bfloat16');
    expect(() => parseDtype('int8')).toThrow(expect.objectContaining({ exit: 2 }));
  });
  it('row kernels: kernel ids, the CP reference, simulator curves <id>@cp; nothing else', () => {
    for (const ok of ['flex', 'reference', 'flex@cp', 'reference@cp']) expect(rowKernelProblem(ok)).toBeNull();
    for (const bad of ['nope', 'nope@cp', '@cp', '', 'flex@gpu']) expect(rowKernelProblem(bad)).toMatch(/unknown kernel/);
  });
});

async function exit2(args: string[], message: RegExp): Promise<void> {
  const before = fs.readdirSync(dir);
  expect(await main(args)).toBe(2);
  expect(err.join('')).toMatch(message);
  expect(err.join('').trim().split('\n')).toHaveLength(1);
  expect(fs.readdirSync(dir)).toEqual(before); // nothing written
}

describe('unknown ids in flags: one line, exit 2, nothing written', () => {
  const out = () => path.join(dir, 'out', 'rows.jsonl');
  it.each([
    [['kernels', '--kernel', 'nope'], /unknown --kernel 'nope'/],
    [['kernels', '--kernel', ''], /empty --kernel/],
    [['kernels', '--kernel', 'cpu_tiled,'], /empty item/],
    [['kernels', '--family', 'nope'], /unknown --family 'nope'/],
    [['kernels', '--executor', 'cuda'], /unknown --executor 'cuda'/],
    [['kernels', '--dtype', 'int8'], /unknown --dtype 'int8'/],
    [['kernels', '--direction', 'sideways'], /unknown --direction 'sideways'/],
    [['masks', '--family', 'nope'], /unknown --family 'nope'/],
    [['cp', 'plan', '--scheme', 'nope', '--world', '2', '--family', 'causal', '--seqlen', '1k'], /unknown --scheme 'nope'/],
    [['cp', 'plan', '--scheme', 'ulysses', '--world', '2', '--family', 'nope', '--seqlen', '1k'], /unknown --family 'nope'/],
    [['cp', 'run', '--executor', 'gpu', '--scheme', 'ulysses', '--world', '2', '--family', 'causal', '--seqlen', '1k'], /unknown --executor 'gpu'/],
    [['cp', 'run', '--scheme', 'ulysses,nope', '--world', '2', '--family', 'causal', '--seqlen', '1k'], /unknown --scheme 'nope'/],
    [['cp', 'run', '--scheme', 'ulysses', '--world', '2', '--family', '', '--seqlen', '1k'], /missing required option --family|empty --family/],
    [['sim', 'run', '--kernel', 'nope'], /unknown kernel 'nope'/],
    [['sim', 'run', '--family', 'nope'], /unknown --family 'nope'/],
    [['sim', 'run', '--scheme', 'nope'], /unknown --scheme 'nope'/],
    [['sim', 'run', '--seqlen', '1'], /below the world size/],
    [['results', '--kernel', 'nope'], /unknown kernel 'nope'/],
    [['results', '--family', 'nope'], /unknown --family 'nope'/],
  ])('%j', async (args, message) => {
    // --out for the commands that write rows (where a bad id used to write them)
    const writes = args[0] === 'kernels' || args[1] === 'run';
    await exit2(writes ? [...args, '--out', out()] : args, message);
  });
});

describe('ingested rows: ids are checked against the registries', () => {
  const row = {
    schema: 1, id: 'x', suite: 'kernel', executor: 'torch', kernel: 'flex', scheme: null, family: 'causal', maskParams: {}, seed: 0,
    seqlen: 1024, batch: 1, headsQ: 8, headsKv: 8, headDim: 64, dtype: 'bfloat16', direction: 'fwd', world: 1, layout: null,
    status: 'ok', message: null, area: 1, flops: 1, times: null, tflops: null, memory: null, error: null, simulated: false,
    env: { host: 'h', gpu: null, driver: null, cuda: null, libs: {}, gitRev: null, date: 'd' },
  };
  it.each([
    ['kernel', 'nope', /kernel: unknown kernel 'nope'/],
    ['family', 'nope', /family/],
    ['scheme', 'nope', /scheme/],
    ['executor', 'gpu', /executor/],
    ['dtype', 'int8', /dtype/],
  ])('%s = %s is a bad line', (field, value, message) => {
    const good = parseResultJsonl(JSON.stringify(row), 'f.jsonl');
    expect(good.errors).toEqual([]);
    const bad = parseResultJsonl(JSON.stringify({ ...row, [field]: value }), 'f.jsonl');
    expect(bad.rows).toEqual([]);
    expect(bad.errors[0].message).toMatch(message);
  });
});
