// Network model: which link resources a message crosses, and how NCCL-like algorithms turn a
// point-to-point send or a collective into flows (see fluid.ts for how flows share links).
//
// Topology: ranks are laid out node-major (rank r is GPU r % G of node floor(r / G)). Inside a
// node every GPU reaches every other through NVSwitch at its full NVLink bandwidth, so the
// resources are each GPU's NVLink egress and ingress. Between nodes a GPU uses its rail's NIC
// (NIC floor(g * nics / G) of its node; with fewer NICs than GPUs, GPUs share NICs), and the
// resources are each NIC's egress and ingress.
//
// Algorithms (n = group size, c_i = chunk of member i, alpha = per-step latency):
//   p2p            one flow over the link it crosses; time = alpha + bytes / bw (uncontended)
//   all-gather /   ring over the members in rank order; edge i -> i+1 carries every chunk except
//   reduce-scatter   the successor's own, sum(c) - c_{i+1} = (n-1) c for equal chunks, so
//                    time = (n-1) alpha + (n-1)/n * total / busBW (NCCL's ring formula). An edge that
//                    leaves a node is striped over all of the node's NICs, as NCCL's channels are.
//   all-to-all     every pair at once: intra-node pairs as their own flows over NVLink; inter-node
//                    traffic of a rank aggregated per destination node over its rail's NIC (PXN
//                    style); time = alpha + the most loaded link's bytes / bandwidth.
import type { Cluster } from './hardware.js';
import type { FlowSpec } from './fluid.js';

export interface Topology {
  readonly world: number;
  readonly gpusPerNode: number;
  readonly nodes: number;
  readonly nicsPerNode: number;
  /** Resource bandwidths in bytes per millisecond, indexed by resource id. */
  readonly bandwidth: Float64Array;
  readonly nvlinkLatencyMs: number;
  readonly ibLatencyMs: number;
}

/** GB/s (1e9 bytes per second) to bytes per millisecond. */
export function gbpsToBytesPerMs(gbps: number): number {
  return gbps * 1e6;
}

export function makeTopology(c: Cluster, world: number): Topology {
  const G = c.gpusPerNode;
  const nodes = Math.ceil(world / G);
  const nics = c.ib.nicsPerNode;
  const bw = new Float64Array(2 * world + 2 * nodes * nics);
  const nv = gbpsToBytesPerMs(c.nvlink.bandwidthGBps * c.nvlink.efficiency);
  const ib = gbpsToBytesPerMs(c.ib.bandwidthGBps * c.ib.efficiency);
  bw.fill(nv, 0, 2 * world);
  bw.fill(ib, 2 * world);
  return {
    world,
    gpusPerNode: G,
    nodes,
    nicsPerNode: nics,
    bandwidth: bw,
    nvlinkLatencyMs: c.nvlink.latencyUs / 1000,
    ibLatencyMs: c.ib.latencyUs / 1000,
  };
}

export const nodeOf = (t: Topology, rank: number): number => Math.floor(rank / t.gpusPerNode);
export const nicOf = (t: Topology, rank: number): number => Math.floor(((rank % t.gpusPerNode) * t.nicsPerNode) / t.gpusPerNode);
const gpuOut = (_t: Topology, rank: number): number => rank;
const gpuIn = (t: Topology, rank: number): number => t.world + rank;
const nicOut = (t: Topology, node: number, nic: number): number => 2 * t.world + node * t.nicsPerNode + nic;
const nicIn = (t: Topology, node: number, nic: number): number => 2 * t.world + (t.nodes + node) * t.nicsPerNode + nic;

export interface TransferSpec {
  readonly flows: readonly FlowSpec[];
  readonly latencyMs: number;
}

const EMPTY: TransferSpec = { flows: [], latencyMs: 0 };

/** Route of one message (no allocation): resources crossed and latency, written into `out`. */
export function p2pRoute(t: Topology, src: number, dst: number, out: { res0: number; res1: number; latencyMs: number }): void {
  const ns = nodeOf(t, src);
  const nd = nodeOf(t, dst);
  if (ns === nd) {
    out.res0 = gpuOut(t, src);
    out.res1 = gpuIn(t, dst);
    out.latencyMs = t.nvlinkLatencyMs;
  } else {
    out.res0 = nicOut(t, ns, nicOf(t, src));
    out.res1 = nicIn(t, nd, nicOf(t, dst));
    out.latencyMs = t.ibLatencyMs;
  }
}

/**
 * Ring all-gather / reduce-scatter over `members` (any order; the ring follows rank order).
 * chunkBytes[i] is member i's chunk (all-gather input, reduce-scatter output).
 */
export function ringTransfer(t: Topology, members: readonly number[], chunkBytes: readonly number[]): TransferSpec {
  const n = members.length;
  if (n <= 1) return EMPTY;
  const order = members.map((r, i) => ({ r, c: chunkBytes[i] })).sort((a, b) => a.r - b.r);
  const total = order.reduce((s, x) => s + x.c, 0);
  const flows: FlowSpec[] = [];
  let crossesNodes = false;
  for (let i = 0; i < n; i++) {
    const a = order[i].r;
    const next = order[(i + 1) % n];
    const bytes = total - next.c;
    if (!(bytes > 0)) continue;
    const na = nodeOf(t, a);
    const nb = nodeOf(t, next.r);
    if (na === nb) {
      flows.push({ r0: gpuOut(t, a), r1: gpuIn(t, next.r), bytes });
    } else {
      crossesNodes = true;
      const share = bytes / t.nicsPerNode;
      for (let k = 0; k < t.nicsPerNode; k++) flows.push({ r0: nicOut(t, na, k), r1: nicIn(t, nb, k), bytes: share });
    }
  }
  return { flows, latencyMs: (n - 1) * (crossesNodes ? t.ibLatencyMs : t.nvlinkLatencyMs) };
}

/** All-to-all over `members`: sendBytes[i][j] bytes from member i to member j. */
export function allToAllTransfer(t: Topology, members: readonly number[], sendBytes: readonly (readonly number[])[]): TransferSpec {
  const n = members.length;
  if (n <= 1) return EMPTY;
  const flows: FlowSpec[] = [];
  let inter = false;
  let intra = false;
  for (let i = 0; i < n; i++) {
    const src = members[i];
    const ns = nodeOf(t, src);
    const perNode = new Map<number, number>();
    for (let j = 0; j < n; j++) {
      const dst = members[j];
      const bytes = sendBytes[i][j];
      if (dst === src || !(bytes > 0)) continue;
      const nd = nodeOf(t, dst);
      if (nd === ns) {
        intra = true;
        flows.push({ r0: gpuOut(t, src), r1: gpuIn(t, dst), bytes });
      } else {
        inter = true;
        perNode.set(nd, (perNode.get(nd) ?? 0) + bytes);
      }
    }
    const nic = nicOf(t, src);
    for (const [nd, bytes] of perNode) flows.push({ r0: nicOut(t, ns, nic), r1: nicIn(t, nd, nic), bytes });
  }
  return { flows, latencyMs: inter ? t.ibLatencyMs : intra ? t.nvlinkLatencyMs : 0 };
}
