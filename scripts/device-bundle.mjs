// Bundles the CLI into one file, .device/attnbench.mjs, for a GPU machine that has python and
// torch but no node_modules (carry it with .device/node.xz from ../shared/tools/device-node.sh).
// The two native packages (DuckDB, resvg) are replaced by a stub that fails when called: the
// commands a GPU run needs (doctor, kernels, cp) do not use them; results are ingested and
// reported back here. Usage: npm run build && node scripts/device-bundle.mjs
import { execFileSync } from 'node:child_process';
import { build } from 'esbuild';

// The commit the bundle is built from, named by every row it writes (src/util/env.ts gitRev): a device
// copy's .git may be an older one (rows of 2026-12-06 call35 / call37 named the session's first commit).
const rev = execFileSync('git', ['rev-parse', '--short=12', 'HEAD']).toString().trim();

const stubbed = ['@duckdb/node-api', '@resvg/resvg-js'];
const stub = {
  name: 'native-stub',
  setup(b) {
    b.onResolve({ filter: new RegExp(`^(${stubbed.map((s) => s.replace('/', '\\/')).join('|')})$`) }, (a) => ({ path: a.path, namespace: 'stub' }));
    b.onLoad({ filter: /.*/, namespace: 'stub' }, (a) => ({
      contents: `const no = () => { throw new Error('${'${a.path}'} is not in the device bundle: ingest the results and run this command where attnbench is installed'); };
        export const DuckDBInstance = { create: no }; export const StatementType = {}; export class Resvg { constructor() { no(); } };`.replace('${a.path}', a.path),
      loader: 'js',
    }));
  },
};

await build({
  entryPoints: ['dist/cli/bin.js'],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile: '.device/attnbench.mjs',
  plugins: [stub],
  banner: {
    js: `import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url); process.env.ATTNBENCH_GIT_REV ||= '${rev}';`,
  },
  logLevel: 'warning',
});
console.log('.device/attnbench.mjs');
