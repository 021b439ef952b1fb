// Regenerates python/attnbench_worker/tables.json from src/contract/tables.ts:
//   npx tsx src/contract/write-tables.ts
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TABLES_FILE, tablesText } from './tables.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
fs.writeFileSync(path.join(root, TABLES_FILE), tablesText());
process.stdout.write(`wrote ${TABLES_FILE}\n`);
