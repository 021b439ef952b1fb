import { describe, expect, it } from 'vitest';
import { parseArgs, runBench, SECTIONS } from './main.js';

describe('npm run bench', () => {
  it('parses sections and --quick', () => {
    expect(parseArgs([])).toEqual({ sections: [...SECTIONS], quick: false });
    expect(parseArgs(['cpu', '--quick', 'masks'])).toEqual({ sections: ['masks', 'cpu'], quick: true });
    expect(parseArgs(['all'])).toEqual({ sections: [...SECTIONS], quick: false });
    expect(() => parseArgs(['gpu'])).toThrow(/unknown section 'gpu'/);
  });

  it('quick mode prints every section with its table, targets and a summary', () => {
    let text = '';
    const results = runBench(SECTIONS, { quick: true, print: (s) => (text += s) });
    expect(results.map((r) => r.section)).toEqual([...SECTIONS]);
    expect(results.filter((r) => r.error)).toEqual([]);
    for (const s of SECTIONS) expect(text).toContain(`=== ${s} (quick) ===`);
    expect(text).toMatch(/Mask generation \+ area \+ block map/);
    expect(text).toMatch(/causal_document .*tiled .*fwd/);
    expect(text).toMatch(/tiled \/ plain_js forward = [\d.]+x/);
    expect(text).toMatch(/Planning time, causal_document/);
    expect(text).toMatch(/dispatch vs ring/);
    expect(text).toMatch(/sim: ring_p2p on causal, 64 ranks/);
    expect(text).toMatch(/target: tiled >= 4 GFLOP\/s/);
    expect(text).toMatch(/Summary/);
  }, 120_000);
});
