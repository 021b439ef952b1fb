import { describe, expect, it } from 'vitest';
import { AttnbenchError } from '../errors.js';
import { checkWorld, normalizeGpu, parseClusterFile, resolveCluster } from './hardware.js';

function badInputMessage(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(AttnbenchError);
    const err = e as AttnbenchError;
    expect(err.code).toBe('bad_input');
    expect(err.exit).toBe(2);
    expect(err.message).not.toContain('\n');
    return err.message;
  }
  throw new Error('expected a bad-input error');
}

describe('cluster config', () => {
  it('has public H100/H200 defaults', () => {
    const h100 = resolveCluster('h100');
    expect(h100.gpuSpec.peakTflops.bfloat16).toBe(989);
    expect(h100.nvlink.bandwidthGBps).toBe(450);
    expect(h100.ib.bandwidthGBps).toBe(50);
    expect(h100.ib.nicsPerNode).toBe(8);
    expect(h100.gpusPerNode).toBe(8);
    expect(resolveCluster('H200').gpuSpec.memBandwidthGBps).toBe(4800);
  });

  it('overrides defaults from a file', () => {
    const c = resolveCluster(undefined, parseClusterFile({ gpu: 'h200', gpusPerNode: 4, ib: { nicsPerNode: 2 }, nvlink: { latencyUs: 1 } }));
    expect(c.gpu).toBe('h200');
    expect(c.gpusPerNode).toBe(4);
    expect(c.ib.nicsPerNode).toBe(2);
    expect(c.ib.bandwidthGBps).toBe(50);
    expect(c.nvlink.latencyUs).toBe(1);
    expect(c.nvlink.bandwidthGBps).toBe(450);
  });

  it('rejects zero and negative bandwidths with one line', () => {
    expect(badInputMessage(() => parseClusterFile({ nvlink: { bandwidthGBps: 0 } }, 'x.json'))).toBe('x.json: nvlink.bandwidthGBps: bandwidthGBps must be > 0');
    expect(badInputMessage(() => parseClusterFile({ ib: { bandwidthGBps: -5 } }))).toMatch(/ib\.bandwidthGBps: bandwidthGBps must be > 0/);
    expect(badInputMessage(() => parseClusterFile({ ib: { nicsPerNode: 0 } }))).toMatch(/nicsPerNode must be >= 1/);
    expect(badInputMessage(() => parseClusterFile({ nvlink: { efficiency: 1.5 } }))).toMatch(/efficiency must be in \(0, 1\]/);
    expect(badInputMessage(() => parseClusterFile({ nvlnk: {} }))).toMatch(/nvlnk|Unrecognized/);
  });

  it('rejects a topology that cannot hold the world size', () => {
    const c = resolveCluster(undefined, parseClusterFile({ nodes: 2, gpusPerNode: 8 }));
    checkWorld(c, 16);
    expect(badInputMessage(() => checkWorld(c, 17))).toBe('topology of 2 node(s) x 8 GPUs holds 16 ranks, the plan needs 17');
  });

  it('rejects a GPU type with no calibration and no roofline', () => {
    expect(badInputMessage(() => resolveCluster('b300'))).toMatch(/GPU type 'b300' has no kernel calibration and no roofline/);
    const c = resolveCluster('b300', parseClusterFile({ gpus: { b300: { peakTflops: { bfloat16: 2250 }, memBandwidthGBps: 8000 } } }));
    expect(c.gpuSpec.peakTflops.bfloat16).toBe(2250);
    // calibrated but no spec: still needs the memory bandwidth for elementwise steps
    expect(badInputMessage(() => resolveCluster('b300', {}, new Set(['b300'])))).toMatch(/memBandwidthGBps/);
  });

  it('normalizes GPU names as torch reports them', () => {
    expect(normalizeGpu('NVIDIA H100 80GB HBM3')).toBe('h100');
    expect(normalizeGpu('NVIDIA H200')).toBe('h200');
    expect(normalizeGpu('NVIDIA H100 PCIe')).toBe('h100-pcie');
    expect(normalizeGpu('NVIDIA A100-SXM4-80GB')).toBe('a100');
    expect(normalizeGpu('h100')).toBe('h100');
  });
});

describe('example cluster config', () => {
  it('parses and defines an extra GPU type', async () => {
    const fs = await import('node:fs');
    const url = new URL('./cluster.example.json', import.meta.url);
    const file = parseClusterFile(JSON.parse(fs.readFileSync(url, 'utf8')), 'cluster.example.json');
    expect(resolveCluster(undefined, file).nodes).toBe(128);
    expect(resolveCluster('b200', file).gpuSpec.peakTflops.bfloat16).toBe(2250);
  });
});
