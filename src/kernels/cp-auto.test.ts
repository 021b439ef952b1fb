// The CP kernel id 'auto' (issue 13): triton_ranges on CUDA where its limits take the shape, else
// flex; the reference elsewhere. TypeScript (row ids, --resume keys, job arguments) and python (what
// runs: cp/logic.py auto_kernel) read one table; this checks both sides name the same kernel.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { pythonDir } from '../worker/client.js';
import { CP_AUTO_CUDA, CP_AUTO_FALLBACK, cpAutoCandidates, cpAutoKernel, type CpAutoShape } from './cp-auto.js';
import { rangesRefusal, RANGES_HEAD_DIMS, tritonRanges } from './gpu/triton_ranges.js';

const SHAPES: CpAutoShape[] = [
  { headsQ: 64, headsKv: 8, headDim: 128, dtype: 'bfloat16' },
  { headsQ: 8, headsKv: 2, headDim: 64, dtype: 'float16' },
  { headsQ: 64, headsKv: 8, headDim: 100, dtype: 'bfloat16' },
  { headsQ: 64, headsKv: 8, headDim: 128, dtype: 'float32' },
  { headsQ: 12, headsKv: 8, headDim: 128, dtype: 'bfloat16' },
  { headsQ: 256, headsKv: 1, headDim: 64, dtype: 'bfloat16' },
  { headsQ: 128, headsKv: 1, headDim: 64, dtype: 'bfloat16' },
  { headsQ: 4, headsKv: 2, headDim: 8, dtype: 'float32' },
  { headsQ: 32, headsKv: 8, headDim: 96, dtype: 'bfloat16' }, // padded to 128 columns inside the kernel
  { headsQ: 16, headsKv: 2, headDim: 256, dtype: 'bfloat16' },
  { headsQ: 16, headsKv: 2, headDim: 264, dtype: 'bfloat16' },
];

describe("CP kernel 'auto'", () => {
  it('on CUDA: triton_ranges where its limits take the shape, else flex; elsewhere the reference', () => {
    expect(CP_AUTO_CUDA.map((c) => c.kernel)).toEqual(['triton_ranges', 'flex']);
    expect(SHAPES.map((s) => cpAutoKernel('cuda', s))).toEqual(['triton_ranges', 'triton_ranges', 'flex', 'flex', 'flex', 'flex', 'triton_ranges', 'flex', 'triton_ranges', 'triton_ranges', 'flex']);
    for (const s of SHAPES) expect(cpAutoKernel('cpu', s)).toBe('reference');
    expect(cpAutoCandidates('cpu', SHAPES[0])).toEqual([]);
    expect(cpAutoCandidates('cuda', SHAPES[0])).toEqual(['triton_ranges', 'flex']);
  });

  it("triton_ranges' limits are the kernel's own (its refusal rule and dtypes)", () => {
    for (const s of SHAPES) {
      const takes = cpAutoCandidates('cuda', s).includes('triton_ranges');
      const kernelTakes = rangesRefusal(s) === null && (tritonRanges.caps.dtypes as readonly string[]).includes(s.dtype);
      expect(takes, JSON.stringify(s)).toBe(kernelTakes);
    }
    expect(CP_AUTO_CUDA[0].headDims).toEqual(RANGES_HEAD_DIMS);
  });

  it('python resolves every shape to the same kernel (cp/logic.py auto_kernel over the shared tables)', () => {
    const grid = shapeGrid();
    expect(grid.length).toBe(1152);
    // what python runs when every candidate can run, and when the first one cannot (partial.kernel_problem)
    const first = CP_AUTO_CUDA[0].kernel;
    const names = (d: string, s: CpAutoShape) => [cpAutoKernel(d, s), cpAutoCandidates(d, s).find((k) => k !== first) ?? CP_AUTO_FALLBACK];
    const expected = DEVICES.map((d) => grid.map((s) => names(d, s)));
    // the grid reaches every outcome, so a drift on any side of any limit shows
    expect(new Set(expected.flat(2))).toEqual(new Set(['triton_ranges', 'flex', 'reference']));
    expect(pythonAuto(grid)).toEqual(expected);
  });
});

const DEVICES = ['cuda', 'cpu'] as const;

/** Every combination of values on both sides of each limit (head dims, dtypes, integer group, group <= 128). */
function shapeGrid(): CpAutoShape[] {
  const out: CpAutoShape[] = [];
  for (const headsQ of [1, 2, 3, 4, 8, 12, 16, 64, 128, 129, 256, 384])
    for (const headsKv of [1, 2, 3, 8])
      for (const headDim of [8, 32, 64, 96, 128, 256])
        for (const dtype of ['bfloat16', 'float16', 'float32', 'float8_e4m3fn']) out.push({ headsQ, headsKv, headDim, dtype });
  return out;
}

/** python's auto_kernel per device and shape: [all candidates usable, the first one unusable]. */
function pythonAuto(shapes: readonly CpAutoShape[]): unknown {
  const script = [
    'import json, sys',
    'from attnbench_worker.cp.logic import CP_AUTO_CUDA, auto_kernel',
    'shapes = [(s["headsQ"], s["headsKv"], s["headDim"], s["dtype"]) for s in json.loads(sys.stdin.read())]',
    'first = CP_AUTO_CUDA[0]["kernel"]',
    'print(json.dumps([[[auto_kernel(d, s, lambda k: True), auto_kernel(d, s, lambda k: k != first)] for s in shapes] for d in ("cuda", "cpu")]))',
  ].join('\n');
  const r = spawnSync('python3', ['-c', script], {
    input: JSON.stringify(shapes),
    env: { ...process.env, PYTHONPATH: pythonDir() },
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}
