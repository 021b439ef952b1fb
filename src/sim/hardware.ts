// Hardware description for the simulator: GPU specs and the cluster topology, with public defaults
// for H100 and H200 clusters. Every number can be overridden by a JSON config file (parsed with
// zod at the edge; `resolveCluster` turns it into a `Cluster` the pure models trust).
//
// Defaults and where they come from (per direction unless stated):
//   GPU peak, dense bf16/fp16 tensor core:  H100 SXM5 989 TFLOP/s, H200 SXM 989 TFLOP/s
//                                           (NVIDIA H100 / H200 datasheets; the 1979 figure is 2:4 sparse)
//   GPU peak fp32 (no tensor cores):       67 TFLOP/s (same datasheets)
//   HBM bandwidth:                         H100 SXM5 3350 GB/s (HBM3), H200 4800 GB/s (HBM3e) (datasheets)
//   NVLink 4 per GPU:                      450 GB/s (datasheets: "900 GB/s" counts both directions;
//                                           18 links x 25 GB/s per direction); through NVSwitch any GPU
//                                           pair inside a node can use the full per-GPU bandwidth.
//   InfiniBand NDR per NIC:                400 Gb/s = 50 GB/s (ConnectX-7); 8 NICs per node
//                                           (DGX H100 / HGX H200 reference: one compute NIC per GPU).
// Fitted to published NCCL figures (src/sim/nccl-published.json; `attnbench sim network --fit`,
// comparison in results/sim/network-validation.txt):
//   efficiency of a link under NCCL:        NVLink 0.81 (ring busbw ~360-370 GB/s of 450 on 8 x H100,
//                                           NCCL maintainers' figure), IB 0.94 (NDR 400G: "46-48 GB/s
//                                           per NIC", NCCL maintainers' figure)
// Assumptions (not from a datasheet nor fitted):
//   latency per message / ring step:        NVLink 5 us, IB 10 us (no published per-size ring curve
//                                           of the Simple protocol was found; LL-protocol small
//                                           all-reduces on 8 GPUs imply ~1 us per NVLink hop)
//   HBM efficiency of elementwise kernels:  0.80; launch overhead of an elementwise step: 10 us
//   roofline efficiency for kernels with no calibration: 0.50 of dense peak
import { z } from 'zod';
import { badInput } from '../errors.js';

export interface GpuSpec {
  /** Display name. */
  readonly name: string;
  /** Dense tensor-core peak by dtype (TFLOP/s); a dtype missing here has no roofline. */
  readonly peakTflops: Readonly<Record<string, number>>;
  readonly memBandwidthGBps: number;
  readonly sms: number;
}

export interface LinkSpec {
  /** Nominal bandwidth per direction, GB/s (1e9 bytes/s). */
  readonly bandwidthGBps: number;
  /** Fraction of the nominal bandwidth NCCL achieves on this link. */
  readonly efficiency: number;
  /** Per message (p2p) or per ring step (collectives), microseconds. */
  readonly latencyUs: number;
}

export interface Cluster {
  /** GPU type key (e.g. 'h100'): selects the spec and the kernel calibration. */
  readonly gpu: string;
  readonly gpuSpec: GpuSpec;
  readonly gpusPerNode: number;
  /** Number of nodes, or null for "as many as the world needs". */
  readonly nodes: number | null;
  readonly nvlink: LinkSpec;
  readonly ib: LinkSpec & { readonly nicsPerNode: number };
  /** Efficiency of a kernel with no calibration, relative to the dtype's dense peak. */
  readonly fallbackEfficiency: number;
  readonly memEfficiency: number;
  readonly elementwiseOverheadUs: number;
}

export const GPU_SPECS: Readonly<Record<string, GpuSpec>> = {
  h100: {
    name: 'NVIDIA H100 SXM5 80GB',
    peakTflops: { bfloat16: 989, float16: 989, float32: 67 },
    memBandwidthGBps: 3350,
    sms: 132,
  },
  h200: {
    name: 'NVIDIA H200 SXM 141GB',
    peakTflops: { bfloat16: 989, float16: 989, float32: 67 },
    memBandwidthGBps: 4800,
    sms: 132,
  },
};

/**
 * The kernel calibration's GPU key: GPU types with the same compute die (same dense peaks and SM
 * count, e.g. H100 SXM and H200) share their kernel curves, joined as 'h100+h200'. Memory size and
 * bandwidth differ between them; the attention kernels measured here are compute-bound.
 */
export function computeClass(gpu: string): string {
  const spec = GPU_SPECS[gpu];
  if (!spec) return gpu;
  const same = Object.entries(GPU_SPECS).filter(([, o]) => {
    const keys = new Set([...Object.keys(o.peakTflops), ...Object.keys(spec.peakTflops)]);
    return o.sms === spec.sms && [...keys].every((k) => o.peakTflops[k] === spec.peakTflops[k]);
  });
  return same.map(([k]) => k).sort().join('+');
}

/** Whether a calibration curve's GPU key (a type or a compute class) covers this GPU type. */
export function curveCoversGpu(curveGpu: string, gpu: string): boolean {
  return curveGpu === gpu || curveGpu.split('+').includes(gpu);
}

/** The default H100/H200 cluster (nodes of 8 GPUs on NVLink 4 and 8 NDR NICs); only the GPU differs. */
export function defaultClusterConfig(gpu: string): ClusterConfig {
  return {
    gpu,
    gpusPerNode: 8,
    nodes: null,
    nvlink: { bandwidthGBps: 450, efficiency: 0.81, latencyUs: 5 },
    ib: { bandwidthGBps: 50, efficiency: 0.94, latencyUs: 10, nicsPerNode: 8 },
    fallbackEfficiency: 0.5,
    memEfficiency: 0.8,
    elementwiseOverheadUs: 10,
  };
}

const positive = (what: string) => z.number({ error: `${what} must be a number` }).positive({ error: `${what} must be > 0` });
const fraction = (what: string) =>
  z.number({ error: `${what} must be a number` }).gt(0, { error: `${what} must be in (0, 1]` }).lte(1, { error: `${what} must be in (0, 1]` });
const nonNegative = (what: string) => z.number({ error: `${what} must be a number` }).min(0, { error: `${what} must be >= 0` });
const count = (what: string) => z.number({ error: `${what} must be a number` }).int({ error: `${what} must be a whole number` }).min(1, { error: `${what} must be >= 1` });

const GpuSpecSchema = z.strictObject({
  name: z.string().optional(),
  peakTflops: z.record(z.string(), positive('peakTflops')).optional(),
  memBandwidthGBps: positive('memBandwidthGBps').optional(),
  sms: count('sms').optional(),
});

const LinkSchema = z.strictObject({
  bandwidthGBps: positive('bandwidthGBps').optional(),
  efficiency: fraction('efficiency').optional(),
  latencyUs: nonNegative('latencyUs').optional(),
});

/** The config file: every field optional; what is given overrides the defaults of `gpu`. */
export const ClusterFileSchema = z.strictObject({
  gpu: z.string().min(1).optional(),
  /** Specs for GPU types not built in, or overrides of built-in ones. */
  gpus: z.record(z.string(), GpuSpecSchema).optional(),
  gpusPerNode: count('gpusPerNode').optional(),
  nodes: count('nodes').nullable().optional(),
  nvlink: LinkSchema.optional(),
  ib: LinkSchema.extend({ nicsPerNode: count('nicsPerNode').optional() }).optional(),
  fallbackEfficiency: fraction('fallbackEfficiency').optional(),
  memEfficiency: fraction('memEfficiency').optional(),
  elementwiseOverheadUs: nonNegative('elementwiseOverheadUs').optional(),
});
export type ClusterFile = z.infer<typeof ClusterFileSchema>;

export interface ClusterConfig {
  readonly gpu: string;
  readonly gpusPerNode: number;
  readonly nodes: number | null;
  readonly nvlink: LinkSpec;
  readonly ib: LinkSpec & { readonly nicsPerNode: number };
  readonly fallbackEfficiency: number;
  readonly memEfficiency: number;
  readonly elementwiseOverheadUs: number;
  readonly gpus?: Readonly<Record<string, Partial<GpuSpec>>>;
}

/** Parse a config file's JSON (already read) into overrides; one-line bad-input error on failure. */
export function parseClusterFile(json: unknown, source = 'cluster config'): ClusterFile {
  const r = ClusterFileSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue.path.length ? issue.path.join('.') : '(top level)';
    throw badInput(`${source}: ${where}: ${issue.message}`);
  }
  return r.data;
}

/**
 * Cluster for a GPU type with optional file overrides. The GPU spec comes from the built-ins merged
 * with `file.gpus[gpu]`; a GPU with neither is allowed only when `calibrated` says kernel curves
 * exist for it (then memory-bound steps need memBandwidthGBps, so it must still be given).
 */
export function resolveCluster(gpuArg: string | undefined, file: ClusterFile = {}, calibratedGpus: ReadonlySet<string> = new Set()): Cluster {
  const gpu = normalizeGpu(gpuArg ?? file.gpu ?? 'h100');
  const base = defaultClusterConfig(gpu);
  const builtIn = GPU_SPECS[gpu];
  const over = file.gpus?.[gpu] ?? Object.entries(file.gpus ?? {}).find(([k]) => normalizeGpu(k) === gpu)?.[1];
  if (!builtIn && !over?.peakTflops && !calibratedGpus.has(gpu)) {
    throw badInput(
      `GPU type '${gpu}' has no kernel calibration and no roofline: give gpus.${gpu}.peakTflops (and memBandwidthGBps) in the config file, or calibrate from its results (built in: ${Object.keys(GPU_SPECS).join(', ')})`,
    );
  }
  const memBw = over?.memBandwidthGBps ?? builtIn?.memBandwidthGBps;
  if (memBw === undefined) throw badInput(`GPU type '${gpu}' needs gpus.${gpu}.memBandwidthGBps in the config file`);
  const gpuSpec: GpuSpec = {
    name: over?.name ?? builtIn?.name ?? gpu,
    peakTflops: { ...(builtIn?.peakTflops ?? {}), ...(over?.peakTflops ?? {}) },
    memBandwidthGBps: memBw,
    sms: over?.sms ?? builtIn?.sms ?? 132,
  };
  return {
    gpu,
    gpuSpec,
    gpusPerNode: file.gpusPerNode ?? base.gpusPerNode,
    nodes: file.nodes === undefined ? base.nodes : file.nodes,
    nvlink: { ...base.nvlink, ...stripUndefined(file.nvlink ?? {}) },
    ib: { ...base.ib, ...stripUndefined(file.ib ?? {}) },
    fallbackEfficiency: file.fallbackEfficiency ?? base.fallbackEfficiency,
    memEfficiency: file.memEfficiency ?? base.memEfficiency,
    elementwiseOverheadUs: file.elementwiseOverheadUs ?? base.elementwiseOverheadUs,
  };
}

/** Throws a bad-input error when the topology cannot hold `world` ranks. */
export function checkWorld(c: Cluster, world: number): void {
  if (!Number.isInteger(world) || world < 1) throw badInput(`world size must be a positive integer, got ${world}`);
  if (c.nodes !== null && c.nodes * c.gpusPerNode < world) {
    throw badInput(
      `topology of ${c.nodes} node(s) x ${c.gpusPerNode} GPUs holds ${c.nodes * c.gpusPerNode} ranks, the plan needs ${world}`,
    );
  }
}

/**
 * GPU type key from a name as reported by torch / nvidia-smi ("NVIDIA H100 80GB HBM3" -> h100,
 * "NVIDIA H200" -> h200, "NVIDIA H100 PCIe" -> h100-pcie) or as typed on the command line.
 */
export function normalizeGpu(name: string): string {
  const s = name.toLowerCase().replace(/nvidia|geforce|tesla/g, ' ').trim();
  const m = /\b([a-z]{1,3}\d{2,4}[a-z]?)\b/.exec(s);
  if (!m) return s.replace(/\s+/g, '-');
  const base = m[1];
  if (/pcie/.test(s)) return `${base}-pcie`;
  if (/\bnvl\b/.test(s)) return `${base}-nvl`;
  return base;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** SMs of a GPU class key ('h100+h200' -> 132); 132 when unknown. */
export function smsOfClass(gpuClass: string): number {
  for (const k of gpuClass.split('+')) if (GPU_SPECS[k]) return GPU_SPECS[k].sms;
  return 132;
}
