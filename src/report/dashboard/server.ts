// The local dashboard: a node:http server on 127.0.0.1 over the results database (read-only).
// One HTML page (page.ts) with filters; it calls a small JSON API, and plots come back as SVG
// rendered here, so the browser needs no script bundle and nothing from the network.
// The database is opened per request (~20 ms) and closed again, one request at a time, so that
// `attnbench results --ingest` can write to it while the dashboard runs; reloading shows new rows.
//
//   GET /                      the page
//   GET /api/facets            distinct suites, families, kernels, schemes, directions, statuses
//   GET /api/rows?FILTER       newest result rows passing the filter (JSON)
//   GET /api/pivots?FILTER     TFLOP/s tables, kernels x S per family and direction (JSON)
//   GET /api/plot?kind=ID&FILTER   the plot as SVG (ID: a plot id of specs.ts)
//   GET /api/spec?kind=ID&FILTER   its Vega-Lite spec (JSON), for use elsewhere
// FILTER: suite, family, kernel, scheme, direction, status (comma-separated lists), simulated=true|false.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AttnbenchError } from '../../errors.js';
import { DIRECTIONS, STATUSES, SUITES } from '../../results/schema.js';
import { closeStore, latestRows, openStore, query, type RowFilter, type Store } from '../../store/store.js';
import { splitList } from '../../util/parse.js';
import { specToSvg } from '../render.js';
import { PLOTS, plotById } from '../specs.js';
import { tflopsPivots, escapeHtml } from '../tables.js';
import { dashboardPage } from './page.js';

export interface DashboardOptions {
  readonly dbPath: string;
  /** 0 picks a free port. */
  readonly port?: number;
}

export interface Dashboard {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const LISTS = ['suite', 'family', 'kernel', 'scheme', 'direction', 'status'] as const;
const ALLOWED: Partial<Record<(typeof LISTS)[number], readonly string[]>> = {
  suite: SUITES,
  direction: DIRECTIONS,
  status: STATUSES,
};

/** Filter from query parameters; unknown enum values are a 400, not an empty result. */
export function filterFromParams(params: URLSearchParams): RowFilter {
  const f: Record<string, unknown> = {};
  for (const k of LISTS) {
    const v = params.get(k);
    if (v === null || v === '') continue;
    const list = splitList(v);
    const allowed = ALLOWED[k];
    const bad = allowed ? list.filter((x) => !allowed.includes(x)) : [];
    if (bad.length) throw new HttpError(400, `unknown ${k} '${bad[0]}' (expected one of ${allowed!.join(', ')})`);
    f[k] = list;
  }
  const sim = params.get('simulated');
  if (sim === 'true' || sim === 'false') f.simulated = sim === 'true';
  else if (sim !== null && sim !== '') throw new HttpError(400, `simulated must be true or false`);
  return f as RowFilter;
}

async function facets(store: Store): Promise<Record<string, string[]>> {
  const col = async (c: string) =>
    (await query(store, `SELECT DISTINCT ${c} AS v FROM results WHERE ${c} IS NOT NULL ORDER BY v`)).map((o) => String(o.v));
  return {
    suite: await col('suite'),
    family: await col('family'),
    kernel: await col('kernel'),
    scheme: await col('scheme'),
    direction: await col('direction'),
    status: await col('status'),
    plots: PLOTS.map((p) => p.id),
  };
}

function emptySvg(text: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" class="empty" width="420" height="60"><text x="10" y="35" font-family="sans-serif" font-size="14" fill="#777">${escapeHtml(text)}</text></svg>`;
}

function send(res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': `${type}; charset=utf-8`, 'cache-control': 'no-store' });
  res.end(body);
}

/** Answers one /api/ request. */
async function api(store: Store, url: URL, res: http.ServerResponse): Promise<void> {
  const json = (v: unknown) => send(res, 200, 'application/json', JSON.stringify(v));
  switch (url.pathname) {
    case '/api/facets':
      return json(await facets(store));
    case '/api/rows':
      return json(await latestRows(store, filterFromParams(url.searchParams)));
    case '/api/pivots':
      return json(tflopsPivots(await latestRows(store, filterFromParams(url.searchParams))));
    case '/api/plot':
    case '/api/spec': {
      const kind = url.searchParams.get('kind') ?? '';
      const plot = plotById(kind);
      if (!plot) throw new HttpError(404, `unknown plot '${kind}' (known: ${PLOTS.map((p) => p.id).join(', ')})`);
      const spec = plot.spec(await latestRows(store, filterFromParams(url.searchParams)));
      if (url.pathname === '/api/spec') return json(spec);
      return send(res, 200, 'image/svg+xml', spec ? await specToSvg(spec) : emptySvg(`no rows for ${plot.title} with these filters`));
    }
    default:
      throw new HttpError(404, `not found: ${url.pathname}`);
  }
}

export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  closeStore(await openStore(opts.dbPath, { readOnly: true })); // fail now on a missing or foreign file
  let queue: Promise<unknown> = Promise.resolve();
  const withStore = <T>(fn: (store: Store) => Promise<T>): Promise<T> => {
    const run = queue.then(async () => {
      const store = await openStore(opts.dbPath, { readOnly: true });
      try {
        return await fn(store);
      } finally {
        closeStore(store);
      }
    });
    queue = run.catch(() => undefined);
    return run;
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method !== 'GET') return send(res, 405, 'application/json', JSON.stringify({ error: 'GET only' }));
    if (url.pathname === '/') return send(res, 200, 'text/html', dashboardPage());
    const work = url.pathname.startsWith('/api/')
      ? withStore((store) => api(store, url, res))
      : Promise.reject(new HttpError(404, `not found: ${url.pathname}`));
    work.catch((e: unknown) => {
      const status =
        e instanceof HttpError ? e.status : e instanceof AttnbenchError ? (e.exit === 2 ? 400 : e.code === 'unavailable' ? 503 : 500) : 500;
      if (!res.headersSent) res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify({ error: (e as Error).message }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8080, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => void queue.then(() => resolve()));
      }),
  };
}
