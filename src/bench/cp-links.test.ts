// Which link carries a plan's bytes (docs/cp.md "Full and causal per direction"): the split adds up
// to the plan's own byte counts, and usp / loongtrain put their all-to-alls and rings on opposite links.
import { describe, expect, it } from 'vitest';
import { planCp, sharedMask } from '../cp/plan/index.js';
import { planStats } from '../cp/stats.js';
import type { CpShape } from '../cp/types.js';
import { generateMask } from '../mask/families/index.js';
import { linkBytes } from './cp-links.js';

const SHAPE: CpShape = { headsQ: 16, headsKv: 8, headDim: 16, dtypeBytes: 2 };
const mask = sharedMask(generateMask('causal', 16 * 256, { seed: 0 }));
const total = (xs: ReturnType<typeof linkBytes>) => xs.reduce((a, x) => a + x.intra + x.inter, 0);
const of = (xs: ReturnType<typeof linkBytes>, kind: string) => xs.find((x) => x.kind === kind) ?? { intra: 0, inter: 0 };

describe('linkBytes', () => {
  it.each(['usp', 'loongtrain', 'ring_allgather', 'ring_p2p', 'ulysses'])('%s, P = 16: per rank and direction, intra + inter = the bytes the plan statistics count as sent', (scheme) => {
    const plan = planCp(scheme, mask, 16, scheme === 'ulysses' ? { replicate_kv: 1 } : {}, SHAPE);
    const st = planStats(plan);
    for (let r = 0; r < 16; r++) {
      expect(total(linkBytes(plan, r, 'fwd', 8))).toBeCloseTo(st.bytesSentFwd[r], 6);
      expect(total(linkBytes(plan, r, 'bwd', 8))).toBeCloseTo(st.bytesSentBwd[r], 6);
    }
  });

  it('P = 16, nodes of 8: usp keeps its all-to-alls in the node and rings across; loongtrain (context_first) the reverse', () => {
    const usp = planCp('usp', mask, 16, { ulysses: 8 }, SHAPE);
    const lt = planCp('loongtrain', mask, 16, { hp: 8 }, SHAPE);
    for (const d of ['fwd', 'bwd'] as const) {
      const u = linkBytes(usp, 0, d, 8);
      const l = linkBytes(lt, 0, d, 8);
      expect(of(u, 'all_to_all').inter).toBe(0);
      expect(of(u, 'all_to_all').intra).toBeGreaterThan(0);
      expect(of(u, 'p2p').intra).toBe(0);
      expect(of(u, 'p2p').inter).toBeGreaterThan(0);
      expect(of(l, 'p2p').inter).toBe(0);
      expect(of(l, 'p2p').intra).toBe(of(u, 'p2p').inter);
      expect(of(l, 'all_to_all').inter).toBeGreaterThan(0);
      expect(total(l)).toBeCloseTo(total(u), 6);
    }
  });
});
