// The dashboard's one page: filters, a plot (SVG from /api/plot), TFLOP/s tables and the rows.
// Plain HTML and a little script; every value from the database is inserted as text, never as HTML.
import { PLOTS } from '../specs.js';
import { escapeHtml } from '../tables.js';

const FILTERS = ['suite', 'family', 'kernel', 'scheme', 'direction', 'status'] as const;

const SCRIPT = String.raw`
const FILTERS = ${JSON.stringify(FILTERS)};
const $ = (id) => document.getElementById(id);
function params() {
  const p = new URLSearchParams();
  for (const f of FILTERS) { const v = $('f-' + f).value; if (v) p.set(f, v); }
  const sim = $('f-simulated').value; if (sim) p.set('simulated', sim);
  return p;
}
function table(head, rows) {
  const t = document.createElement('table');
  const tr = t.createTHead().insertRow();
  for (const h of head) { const th = document.createElement('th'); th.textContent = h; tr.appendChild(th); }
  const body = t.createTBody();
  for (const r of rows) { const row = body.insertRow(); for (const c of r) row.insertCell().textContent = c; }
  return t;
}
async function getJson(url) {
  const r = await fetch(url);
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}
async function refresh() {
  const p = params();
  $('status').textContent = 'loading...';
  try {
    const plot = new URLSearchParams(p); plot.set('kind', $('plot').value);
    const svg = await fetch('/api/plot?' + plot);
    $('figure').innerHTML = svg.ok ? await svg.text() : '';
    const pivots = await getJson('/api/pivots?' + p);
    const pv = $('pivots'); pv.replaceChildren();
    for (const t of pivots) { const h = document.createElement('h4'); h.textContent = t.title; pv.append(h, table(t.head, t.rows)); }
    const rows = await getJson('/api/rows?' + p);
    const fmt = (x) => x == null ? '' : (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(2));
    const shown = rows.slice(0, 1000).map((r) => [r.suite, r.scheme ? r.scheme + (r.kernel ? '+' + r.kernel : '') : r.kernel, r.family,
      r.direction, String(r.seqlen), String(r.world), r.status, r.times ? fmt(r.times.medianMs) : '', fmt(r.tflops),
      r.error ? (r.error.exceedsTolerance ? 'over tolerance' : 'ok') : '', r.simulated ? 'yes' : '', r.message || '']);
    $('rows').replaceChildren(table(['suite', 'kernel/scheme', 'family', 'dir', 'S', 'P', 'status', 'median ms', 'TFLOP/s', 'error', 'sim', 'message'], shown));
    $('status').textContent = rows.length + ' row(s)' + (rows.length > 1000 ? ' (first 1000 listed)' : '');
  } catch (e) { $('status').textContent = 'error: ' + e.message; }
}
async function init() {
  const f = await getJson('/api/facets');
  for (const k of FILTERS) {
    const sel = $('f-' + k);
    for (const v of f[k]) { const o = document.createElement('option'); o.value = v; o.textContent = v; sel.appendChild(o); }
    sel.onchange = refresh;
  }
  $('f-simulated').onchange = refresh;
  $('plot').onchange = refresh;
  refresh();
}
init();
`;

export function dashboardPage(): string {
  const select = (id: string, label: string, options: string) =>
    `<label>${escapeHtml(label)} <select id="${id}">${options}</select></label>`;
  const filters = FILTERS.map((f) => select(`f-${f}`, f, '<option value="">(all)</option>')).join('\n');
  const plots = PLOTS.map((p) => `<option value="${p.id}">${escapeHtml(p.title)}</option>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>attnbench dashboard</title>
<style>
body{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;margin:1.5em;color:#222}
#filters label{margin-right:1em;font-size:13px}#filters{margin-bottom:1em}
table{border-collapse:collapse;font-size:12px;margin:.3em 0 1em}th,td{border:1px solid #ddd;padding:2px 6px}th{background:#f3f3f3}
#figure svg{max-width:100%;height:auto}#status{color:#666;font-size:12px}
</style></head><body>
<h1>attnbench dashboard</h1>
<div id="filters">
${filters}
${select('f-simulated', 'source', '<option value="">(all)</option><option value="false">measured</option><option value="true">simulated</option>')}
${select('plot', 'plot', plots)}
</div>
<div id="status"></div>
<div id="figure"></div>
<h2>TFLOP/s</h2><div id="pivots"></div>
<h2>Rows</h2><div id="rows"></div>
<script>${SCRIPT}</script>
</body></html>
`;
}
