// Result rows from a CP job folder run where node is not (a GPU box, a cluster): the executor's
// raw measurement records joined with the folder's manifests (./rows.ts rowsFromRaw).
//   npx tsx src/cp/torch/rows-from-raw.ts --dir cp-jobs/gpu/p2 --raw OUT/virtual-p2.jsonl --out rows.jsonl
// then `attnbench results --ingest rows.jsonl`.
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { rowsFromRaw } from './rows.js';

const { values } = parseArgs({ options: { dir: { type: 'string' }, raw: { type: 'string' }, out: { type: 'string' } } });
if (!values.dir || !values.raw || !values.out) {
  process.stderr.write('usage: rows-from-raw.ts --dir JOBDIR --raw RAW.jsonl --out ROWS.jsonl\n');
  process.exit(2);
}
const { rows, skipped } = rowsFromRaw(values.dir, values.raw);
fs.appendFileSync(values.out, rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
for (const s of skipped) process.stderr.write(`skipped: ${s}\n`);
process.stdout.write(`${rows.length} row(s) -> ${values.out}\n`);
