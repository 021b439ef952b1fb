// Issue 15: the nested-tensor (SDPA '@varlen') rows with their documents, for features.py.
// node scripts/sim-varlen/dump.mjs OUT.json FILE.jsonl... (needs `npm run build`)
import fs from 'node:fs';
import { generateMask } from '../../dist/mask/families/index.js';
const [out, ...files] = process.argv.slice(2);
const rows = [];
const docs = new Map();
for (const f of files)
  for (const line of fs.readFileSync(f, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const r = JSON.parse(line);
    if (r.status !== 'ok' || r.world !== 1 || !(r.notes ?? []).some((n) => /nested \(jagged\)/.test(n))) continue;
    const key = `${r.family}|${r.seqlen}|${r.seed}|${JSON.stringify(r.maskParams)}`;
    if (!docs.has(key)) docs.set(key, generateMask(r.family, r.seqlen, { seed: r.seed, params: r.maskParams }).docLens);
    rows.push({ gpu: r.env.gpu, kernel: r.kernel, family: r.family, S: r.seqlen, hq: r.headsQ, hkv: r.headsKv, dir: r.direction, ms: r.times.medianMs, docs: docs.get(key), causal: (r.notes ?? []).includes('is_causal=True') });
  }
fs.writeFileSync(out, JSON.stringify(rows));
console.log(`${rows.length} nested-tensor rows -> ${out}`);
