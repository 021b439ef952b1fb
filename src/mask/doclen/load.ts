// Reading a document-length histogram file by path, and resolving a doc-length source name
// (a built-in name or a path) to a histogram. The only file I/O of the mask model.
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { AttnbenchError, badInput } from '../../errors.js';
import { BUILTIN_DOCLENS, builtinHistogram, defaultDocLens, isBuiltinDocLens } from './builtin.js';
import { parseHistogram, type Histogram } from './histogram.js';
import { inputProblem } from '../../util/paths.js';

/** Load a histogram file ("[a,b)": weight). Any problem -> badInput, one line naming the file. */
export function loadHistogram(path: string): Histogram {
  let text: string;
  try {
    // A fifo blocks and /dev/zero never ends: refuse what is not a regular file before reading it.
    const st = statSync(path);
    const why = st.isDirectory() ? 'cannot read the file (EISDIR)' : inputProblem(resolve(path), st);
    if (why) throw badInput(`document-length histogram ${path}: ${why}`);
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof AttnbenchError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw badInput(`document-length histogram ${path}: cannot read the file (${code})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw badInput(`document-length histogram ${path}: malformed JSON (${(e as Error).message})`);
  }
  try {
    return parseHistogram(path, json);
  } catch (e) {
    throw badInput(`document-length histogram ${path}: ${(e as Error).message}`);
  }
}

/**
 * The histogram for a doc-length source: a built-in name, a path to a histogram file, or (undefined)
 * the SPEC 4 default for the sequence length.
 */
export function resolveDocLens(source: string | undefined, seqlen: number): Histogram {
  if (source === undefined) return builtinHistogram(defaultDocLens(seqlen));
  if (isBuiltinDocLens(source)) return builtinHistogram(source);
  if (!/[/\\.]/.test(source))
    throw badInput(`unknown document-length source '${source}': expected a built-in (${BUILTIN_DOCLENS.join(', ')}) or a path to a histogram file`);
  return loadHistogram(source);
}
