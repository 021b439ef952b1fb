// What a user sees of a launch's output. Every line goes to the launch log in the job folder;
// the terminal gets the executor's own lines, without torch's internal log lines (glog format:
// `W1201 17:54:19.578000 892 torch/distributed/...`; errors `E...` stay) and with torchrun's
// multi-screen ChildFailedError report replaced by one line with each rank's exit code. Other
// tracebacks (an import error in the worker, say) are shown whole.
import fs from 'node:fs';

// torch 2.x: `W1201 17:54:19.578000 892 torch/distributed/...py:1012] ...`; c10d in torch 1.x:
// `W20261201 19:17:44.870848  2097 socket.cpp:426] [c10d] ...`.
const TORCH_LOG = /^[IW]\d{4}(\d{4})? \d\d:\d\d:\d\d\.\d+ +\d+ (\S*torch\/|\S+\.cpp:\d+\] \[c10d\])/;
const TORCHRUN_CHATTER = [/^\*{10,}$/, /^WARNING:__main__:$/, /^Setting OMP_NUM_THREADS environment variable for each process/];
const TRACEBACK = 'Traceback (most recent call last):';
const CHILD_FAILED = 'ChildFailedError';
/** Lines of attnbench itself (the executor's `attnbench-cp:`, the launcher's `attnbench:`). */
const EXECUTOR_LINE = /^attnbench(-cp)?: /;

/** One line for torchrun's failure report: each failed rank's exit code. (Its "root cause" is
 * the first failure torchrun noticed, not always the first rank that failed: the executor's own
 * lines and the fault rows name that one.) */
export function summarizeChildFailed(block: readonly string[], log: string): string {
  const codes = new Map<string, string>();
  let rank: string | undefined;
  for (const l of block) {
    const r = /^\s*rank\s*:\s*(\d+)/.exec(l);
    if (r) rank = r[1];
    const c = /^\s*exitcode\s*:\s*(-?\d+)/.exec(l);
    if (c && rank !== undefined && !codes.has(rank)) codes.set(rank, c[1]);
  }
  const list = [...codes].sort((a, b) => Number(a[0]) - Number(b[0])).map(([r, c]) => `rank ${r} ${c}`);
  return `torchrun: the launch failed${list.length ? ` (exit codes: ${list.join(', ')})` : ''}; torchrun's report: ${log}`;
}

export class LaunchOutput {
  private block: string[] | null = null;

  /** `show` gets the lines for the terminal; `log` (a file) gets every line. */
  constructor(
    private readonly show: (line: string) => void,
    readonly log: string | null,
  ) {}

  line(l: string): void {
    if (this.log) fs.appendFileSync(this.log, `${l}\n`);
    if (this.block) {
      // A report ends where the executor speaks again.
      if (!EXECUTOR_LINE.test(l)) {
        this.block.push(l);
        return;
      }
      this.end();
    }
    if (l === TRACEBACK) {
      this.block = [l];
      return;
    }
    if (TORCH_LOG.test(l) || TORCHRUN_CHATTER.some((r) => r.test(l))) return;
    this.show(l);
  }

  /** The launch ended: flush a report still held back. */
  end(): void {
    const b = this.block;
    this.block = null;
    if (!b) return;
    if (b.some((l) => l.includes(CHILD_FAILED))) this.show(summarizeChildFailed(b, this.log ?? 'not kept'));
    else for (const l of b) if (!TORCH_LOG.test(l)) this.show(l);
  }
}
