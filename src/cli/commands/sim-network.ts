// `attnbench sim network`: the network model against published NCCL figures, as text.
import Table from 'cli-table3';
import { resolveCluster, type ClusterFile } from '../../sim/hardware.js';
import { medianAbs } from '../../sim/fit.js';
import { compareFigure, fitNetwork, fittable, PUBLISHED, sizeBucket, type NetworkComparison, type NetworkConstants, type PublishedFigure } from '../../sim/network-check.js';

function formatBytes(b: number): string {
  for (const [u, k] of [['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const) if (b >= k) return `${+(b / k).toFixed(1)} ${u}`;
  return `${b} B`;
}

function clusterOf(file: ClusterFile, f: PublishedFigure, c?: NetworkConstants) {
  const gpu = f.gpu === 'h200' ? 'h200' : 'h100';
  return resolveCluster(gpu, {
    ...file,
    gpu,
    gpusPerNode: Math.max(1, Math.round(f.gpus / f.nodes)),
    nodes: null,
    ...(c ? { nvlink: { ...file.nvlink, efficiency: c.nvlinkEfficiency, latencyUs: c.nvlinkLatencyUs }, ib: { ...file.ib, efficiency: c.ibEfficiency, latencyUs: c.ibLatencyUs } } : {}),
  });
}

function table(rows: readonly NetworkComparison[]): string {
  const t = new Table({ head: ['figure', 'op', 'GPUs/nodes', 'size', 'published', 'model', 'error', 'source'], style: { head: [], border: [] } });
  for (const r of rows) {
    const f = r.figure;
    const pub = f.busbwGBps !== undefined ? `${f.busbwGBps} GB/s` : `${f.timeUs} us`;
    const mod = f.busbwGBps !== undefined ? `${r.predictedBusbwGBps.toFixed(1)} GB/s` : `${r.predictedUs.toFixed(1)} us`;
    const err = r.errorPct === null ? '-' : `${r.errorPct >= 0 ? '+' : ''}${r.errorPct.toFixed(1)}%`;
    t.push([`${f.id}${f.modelled ? '' : ' (not modelled)'}`, `${f.op} (${f.algo})`, `${f.gpus}/${f.nodes}`, `${formatBytes(r.sizeBytes)}${f.sizeBytes === null ? ' (peak)' : ''}`, pub, mod, err, `${f.url} ${f.date}`]);
  }
  return t.toString();
}

function summary(rows: readonly NetworkComparison[]): string[] {
  const fit = rows.filter((r) => fittable(r.figure));
  const lines: string[] = [];
  const med = (xs: number[]) => `${medianAbs(xs).toFixed(1)}%`;
  for (const op of [...new Set(fit.map((r) => r.figure.op))].sort()) {
    const sel = fit.filter((r) => r.figure.op === op);
    const buckets = [...new Set(sel.map((r) => sizeBucket(r.sizeBytes)))].sort();
    const per = buckets.map((b) => `${b}: n=${sel.filter((r) => sizeBucket(r.sizeBytes) === b).length} median |err| ${med(sel.filter((r) => sizeBucket(r.sizeBytes) === b).map((r) => r.errorPct!))}`);
    lines.push(`  ${op}: n=${sel.length} median |err| ${med(sel.map((r) => r.errorPct!))} (${per.join('; ')})`);
  }
  lines.push(`  all modelled figures >= 1 MiB: n=${fit.length} median |err| ${med(fit.map((r) => r.errorPct!))}, max ${Math.max(...fit.map((r) => Math.abs(r.errorPct!))).toFixed(1)}% (target: median <= 15% per operation)`);
  const not = rows.filter((r) => !r.figure.modelled);
  if (not.length) lines.push(`  not modelled (NVLink SHARP / tree all-reduce, LL latency), listed only: ${not.map((r) => r.figure.id).join(', ')}`);
  return lines;
}

export function networkReport(file: ClusterFile, fit: boolean): string {
  const figs = PUBLISHED.figures;
  const out: string[] = [];
  const base = resolveCluster('h100', file);
  const baseConst: NetworkConstants = { nvlinkEfficiency: base.nvlink.efficiency, nvlinkLatencyUs: base.nvlink.latencyUs, ibEfficiency: base.ib.efficiency, ibLatencyUs: base.ib.latencyUs };
  const rows = figs.map((f) => compareFigure(clusterOf(file, f), f));
  out.push(`network model vs published NCCL figures (nccl-tests busbw; peaks compared at ${formatBytes(PUBLISHED.largeSizeBytes)})`);
  out.push(`cluster: NVLink ${base.nvlink.bandwidthGBps} GB/s x ${base.nvlink.efficiency}, ${base.nvlink.latencyUs} us; IB ${base.ib.bandwidthGBps} GB/s x ${base.ib.efficiency}, ${base.ib.latencyUs} us, ${base.ib.nicsPerNode} NICs per node`);
  out.push(table(rows), ...summary(rows));
  if (fit) {
    const r = fitNetwork((f, c) => clusterOf(file, f, c), baseConst);
    const c = r.constants;
    out.push('', `fitted: NVLink efficiency ${c.nvlinkEfficiency}, latency ${c.nvlinkLatencyUs} us; IB efficiency ${c.ibEfficiency}, latency ${c.ibLatencyUs} us (sum of squared log errors ${r.loss.toFixed(4)})`);
    const fr = figs.map((f) => compareFigure(clusterOf(file, f, c), f));
    out.push(table(fr), ...summary(fr));
  }
  return `${out.join('\n')}\n`;
}
