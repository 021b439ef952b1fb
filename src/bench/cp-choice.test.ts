// dispatch's choice on dense masks against measured virtual-rank rows (issue 14): the tool's rank
// statistics, and the choice the bench's cost makes is the one its rows recorded, the same with a
// fresh cost (pure).
import { describe, expect, it } from 'vitest';
import type { ResultRow } from '../results/schema.js';
import { loadCalibration, SHIPPED_CALIBRATION } from '../sim/io.js';
import { readJsonl } from '../util/jsonl.js';
import { choiceLines, rankStats } from './cp-choice.js';

describe('cp-choice', () => {
  it('rankStats: the slowest rank, the mean and the spread max / min - 1', () => {
    const s = rankStats([126, 126, 126, 126, 126, 135.5, 140.8, 126]);
    expect(s.max).toBe(140.8);
    expect(s.mean).toBeCloseTo(129.0375, 6);
    expect(s.spreadPct).toBeCloseTo((140.8 / 126 - 1) * 100, 9);
  });

  it("H200 full P = 4 rows: dispatch's choice now is the layout its row recorded, and the same twice", () => {
    const { calibration } = loadCalibration(SHIPPED_CALIBRATION);
    const rows = readJsonl<ResultRow>('results/h200/cp/issue13-s8_cp_p4.jsonl');
    const a = choiceLines(rows, 'triton_ranges', ['full'], calibration!);
    const b = choiceLines(rows, 'triton_ranges', ['full'], calibration!);
    const d = a.find((l) => l.scheme === 'dispatch')!;
    expect(d.chosen).toBe(d.layout);
    expect(b.find((l) => l.scheme === 'dispatch')!.chosen).toBe(d.chosen);
    expect(a.map((l) => l.scheme).sort()).toEqual(['dispatch', 'loongtrain', 'ring_allgather', 'ring_p2p', 'ulysses', 'usp']);
    for (const l of a) expect(l.measured!.bwd.max).toBeGreaterThanOrEqual(l.measured!.bwd.mean);
  });
});
