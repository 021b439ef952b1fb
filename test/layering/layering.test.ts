// Layering (issue 16): pure layers import no executor, I/O, worker, store or CLI module; nothing
// outside src/cli imports the CLI; no import cycles. Runs in `npm test`.
import { describe, expect, it } from 'vitest';
import { cycles, importGraph } from './imports.js';

const g = importGraph(process.cwd());
const files = [...g.edges.keys()];

/** Pure layers: data models, planners, checkers, cost models, result rows. */
const PURE = [/^src\/mask\//, /^src\/cp\/plan\//, /^src\/cp\/check/, /^src\/sim\//, /^src\/results\//, /^src\/ids\.ts$/, /^src\/errors\.ts$/];
/** What they may not import: executors, the python worker, the store, the CLI, sweeps, the dashboard. */
const IMPURE = [/^src\/cp\/exec\//, /^src\/cp\/torch\//, /^src\/worker\//, /^src\/store\//, /^src\/cli\//, /^src\/bench\//, /^src\/report\/dashboard\//];
/** node: modules that do no I/O. */
const PURE_NODE = new Set(['node:path', 'node:url']);
/**
 * The pure layers' remaining file edges, each with why. The test fails when one no longer needs
 * its entry, so the list only shrinks.
 */
const KNOWN_IO: Readonly<Record<string, string>> = {
  'src/mask/doclen/load.ts': 'reads a document-length histogram given by path (--doclens file)',
  'src/mask/doclen/fit-report.ts': 'a report script over ../shared data (npx tsx), with its pure rows function',
  'src/mask/render/gallery.ts': 'writes the mask gallery (PNG, HTML) of `attnbench masks --gallery`',
  'src/sim/io.ts': "the simulator's row reader (JSONL files and the results database)",
};

const pure = (f: string) => PURE.some((r) => r.test(f));

describe('layering', () => {
  it('reads the import graph (sanity: the graph has the edges we know of)', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(g.edges.get('src/cli/main.ts')).toContain('src/errors.ts');
  });

  it('has no import cycles (type-only imports included)', () => {
    expect(cycles(g)).toEqual([]);
  });

  it('no module outside src/cli imports from src/cli', () => {
    const bad = files.filter((f) => !f.startsWith('src/cli/')).flatMap((f) => g.edges.get(f)!.filter((d) => d.startsWith('src/cli/')).map((d) => `${f} -> ${d}`));
    expect(bad).toEqual([]);
  });

  it('pure layers import no executor, worker, store, CLI or sweep module, and no node: I/O', () => {
    const bad: string[] = [];
    for (const f of files.filter(pure)) {
      const deps = g.edges.get(f)!.filter((d) => IMPURE.some((r) => r.test(d)));
      const io = g.external.get(f)!.filter((m) => (m.startsWith('node:') || m === 'fs' || m === 'child_process') && !PURE_NODE.has(m));
      if ((deps.length || io.length) && !(f in KNOWN_IO)) bad.push(`${f} -> ${[...deps, ...io].join(', ')}`);
    }
    expect(bad).toEqual([]);
  });

  it('each known I/O edge of a pure layer is still there (remove the entry when it is gone)', () => {
    for (const f of Object.keys(KNOWN_IO)) {
      const ext = g.external.get(f) ?? [];
      const deps = g.edges.get(f) ?? [];
      expect(ext.some((m) => m.startsWith('node:') && !PURE_NODE.has(m)) || deps.some((d) => IMPURE.some((r) => r.test(d))), f).toBe(true);
    }
  });

  it('masks know nothing of kernels; the worker nothing of sweeps (shared types live below both)', () => {
    const crossing = (from: string, to: string) => files.filter((f) => f.startsWith(from)).flatMap((f) => g.edges.get(f)!.filter((d) => d.startsWith(to)).map((d) => `${f} -> ${d}`));
    expect(crossing('src/mask/', 'src/kernels/')).toEqual([]);
    expect(crossing('src/worker/', 'src/bench/')).toEqual([]);
    expect(crossing('src/results/', 'src/cp/')).toEqual([]);
  });
});
