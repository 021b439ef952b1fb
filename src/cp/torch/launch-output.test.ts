// The terminal view of a launch's output, on the output of a real failing torchrun launch (gloo,
// 4 ranks, rank 2 raising in forward step 3; captured on the GPU machine, 2026-12-01).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LaunchOutput, summarizeChildFailed } from './launch-output.js';

const captured = fs.readFileSync(new URL('./fixtures/torchrun-child-failed.txt', import.meta.url), 'utf8').trimEnd().split('\n');

function feed(lines: readonly string[]) {
  const log = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'attnbench-launch-')), 'launch.log');
  const shown: string[] = [];
  const out = new LaunchOutput((l) => shown.push(l), log);
  for (const l of lines) out.line(l);
  out.end();
  return { shown, logged: fs.readFileSync(log, 'utf8').trimEnd().split('\n'), log };
}

describe('launch output', () => {
  it('keeps the executor lines and torch errors, drops torch log lines, and sums up the torchrun report in one line', () => {
    const { shown, logged, log } = feed(captured);
    expect(logged).toEqual(captured);
    const executor = captured.filter((l) => l.startsWith('attnbench-cp: '));
    expect(executor.length).toBeGreaterThan(0);
    expect(shown.slice(0, executor.length)).toEqual(executor);
    const errors = captured.filter((l) => /^E\d{4} /.test(l));
    expect(errors.length).toBe(1);
    expect(shown.slice(executor.length)).toEqual([...errors, `torchrun: the launch failed (exit codes: rank 0 -15, rank 1 3, rank 2 3, rank 3 3); torchrun's report: ${log}`]);
    expect(captured.length - shown.length).toBeGreaterThan(40);
  });

  it('a report ends where the executor speaks again; the next launch starts clean', () => {
    const next = 'attnbench-cp: rank 0: case X: injected fault';
    const { shown } = feed([...captured, next, 'plain line']);
    expect(shown.slice(-3)).toEqual([expect.stringMatching(/^torchrun: the launch failed \(exit codes: /), next, 'plain line']);
  });

  it('drops torch 1.x c10d warnings too, keeps their errors', () => {
    const w = 'W20261201 19:17:44.870848  2097 socket.cpp:426] [c10d] The server socket has failed to bind to [::]:29561 (errno: 98 - Address already in use).';
    const e = 'E20261201 19:17:44.872082  2097 socket.cpp:462] [c10d] The server socket has failed to listen on any local network address.';
    expect(feed([w, e, 'done']).shown).toEqual([e, 'done']);
  });

  it('shows any other traceback whole (an import error in the worker is not torchrun noise)', () => {
    const tb = ['Traceback (most recent call last):', '  File "x.py", line 1, in <module>', 'ModuleNotFoundError: No module named torch'];
    expect(feed(['hello', ...tb]).shown).toEqual(['hello', ...tb]);
  });

  it('without rank sections the summary still says the launch failed', () => {
    expect(summarizeChildFailed(['Traceback (most recent call last):', 'ChildFailedError:'], 'L')).toBe("torchrun: the launch failed; torchrun's report: L");
  });
});
