// The import graph of src/ (every relative import, type-only ones included; tests and test helpers
// left out), read from the sources: a small script instead of a dependency-cruiser config.
import fs from 'node:fs';
import path from 'node:path';

export interface ImportGraph {
  /** file (repo-relative, src/...) -> the files it imports. */
  readonly edges: ReadonlyMap<string, readonly string[]>;
  /** file -> the node: / bare modules it imports. */
  readonly external: ReadonlyMap<string, readonly string[]>;
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
const isTestOnly = (f: string) => /\.test\.ts$|\.d\.ts$|\/testing\.ts$|\/fixtures\.ts$/.test(f);

export function importGraph(root: string, dir = 'src'): ImportGraph {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(path.join(root, d), { withFileTypes: true })) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.ts') && !isTestOnly(p)) files.push(p);
    }
  };
  walk(dir);
  const edges = new Map<string, string[]>();
  const external = new Map<string, string[]>();
  for (const f of files) {
    const text = fs.readFileSync(path.join(root, f), 'utf8');
    const local: string[] = [];
    const ext: string[] = [];
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2];
      if (spec.startsWith('.')) local.push(path.posix.normalize(path.posix.join(path.posix.dirname(f), spec)).replace(/\.js$/, '.ts'));
      else ext.push(spec);
    }
    edges.set(f, local);
    external.set(f, ext);
  }
  return { edges, external };
}

/** Strongly connected components with more than one file (Tarjan): the import cycles. */
export function cycles(g: ImportGraph): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of g.edges.get(v) ?? []) {
      if (!g.edges.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const c: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        c.push(w);
      } while (w !== v);
      if (c.length > 1) out.push(c.sort());
    }
  };
  for (const v of g.edges.keys()) if (!index.has(v)) visit(v);
  return out;
}
