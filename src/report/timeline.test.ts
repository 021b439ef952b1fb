import { describe, expect, it } from 'vitest';
import { pngSize, svgToPng } from './render.js';
import { laneOf, parseTrace, tickStep, timelineSvg, type TraceEvent } from './timeline.js';

function ringTrace(ranks: number, steps: number): { traceEvents: TraceEvent[] } {
  const ev: TraceEvent[] = [{ name: 'process_name', ph: 'M', ts: 0, pid: 0, tid: 0, args: { name: 'rank 0' } }];
  for (let r = 0; r < ranks; r++)
    for (let s = 0; s < steps; s++) {
      ev.push({ name: `attn step ${s}`, ph: 'X', ts: 1000 + s * 500, dur: 400, pid: r, tid: 'compute' });
      if (s < steps - 1) ev.push({ name: `send/recv kv ${s}`, ph: 'X', ts: 1000 + s * 500, dur: 450, pid: r, tid: 'comm' });
    }
  return { traceEvents: ev };
}

describe('CP timeline', () => {
  it('draws one lane per rank and one rectangle per complete event, coloured by lane', () => {
    const svg = timelineSvg(parseTrace(ringTrace(4, 3)), { title: 'ring_p2p P=4' });
    expect(svg.match(/class="lane"/g)).toHaveLength(4);
    for (const r of [0, 1, 2, 3]) expect(svg).toContain(`>rank ${r}</text>`);
    expect(svg.match(/class="ev ev-compute"/g)).toHaveLength(12);
    expect(svg.match(/class="ev ev-comm"/g)).toHaveLength(8);
    expect(svg).toContain('ring_p2p P=4');
    // Span 1000 us .. 2400 us = 1.4 ms: ticks 0, 0.2, ..., 1.4 ms.
    const ticks = [...svg.matchAll(/class="tick"[^>]*>([^<]*)</g)].map((m) => m[1]);
    expect(ticks).toEqual(['0', '0.2', '0.4', '0.6', '0.8', '1', '1.2', '1.4']);
    // First compute event starts at the left edge (x = 70), the last one ends at the right (70 + 900).
    expect(svg).toMatch(/class="ev ev-compute" x="70" y="\d+" width="257.143"/);
    const png = svgToPng(svg, 1);
    expect(pngSize(png).width).toBe(990);
  });

  it('accepts a bare event array and classifies communication by thread or category', () => {
    const t = parseTrace([{ name: 'a2a', ph: 'X', ts: 0, dur: 1, pid: 0, tid: 1, cat: 'nccl' }]);
    expect(laneOf(t.traceEvents[0])).toBe('comm');
    expect(laneOf({ name: 'x', ph: 'X', ts: 0, dur: 1, pid: 0, tid: 'compute' })).toBe('compute');
    expect(() => parseTrace({ traceEvents: [{ name: 'x' }] }, 'bad.json')).toThrow(/bad.json: not a Chrome trace/);
  });

  it('takes metadata events without a timestamp (as cp run --trace writes them)', () => {
    const t = parseTrace({
      traceEvents: [
        { name: 'process_name', ph: 'M', pid: 0, args: { name: 'rank 0' } },
        { name: 'attn', ph: 'X', ts: 10, dur: 5, pid: 0, tid: 'compute' },
      ],
    });
    expect(timelineSvg(t)).toContain('<rect');
    expect(() => parseTrace({ traceEvents: [{ name: 'x', ph: 'X' }] })).toThrow();
  });

  it('picks round tick steps', () => {
    expect(tickStep(1.4)).toBeCloseTo(0.2);
    expect(tickStep(70)).toBe(10);
    expect(tickStep(3)).toBe(0.5);
  });
});
