// One-shot python children that write a boot line first, before their heavy import (torch, a
// --kernel-module module): the torch probe (cp/torch/probe.ts) and `attnbench_worker describe`
// (kernels/external.ts). A short boot limit for that line (a --python that is not a python 3
// interpreter, or never answers, fails in seconds), then the long limit for the rest, as the
// kernels worker does with its protocol (client.ts). runBooted does the I/O and reports what
// happened; each caller decides what that means (pure functions next to it).
import { spawn } from 'node:child_process';
import { forwardSignals, killGroup } from '../util/process-group.js';

/** `{"type": "boot", ...}`, the first stdout line of such a child (the worker's carries `protocol`). */
export interface BootLine {
  readonly type: 'boot';
  readonly protocol?: unknown;
}

/** What became of the child. */
export type BootedRun =
  /** It exited (or closed its output). boot: its boot line, null when it exited without one. */
  | { readonly kind: 'done'; readonly code: number | null; readonly signal: NodeJS.Signals | null; readonly boot: BootLine | null; readonly stdout: string; readonly stderr: string }
  /** No boot line within bootMs: killed. */
  | { readonly kind: 'no_boot'; readonly stderr: string }
  /** A boot line, then no exit within limitMs of it: killed. */
  | { readonly kind: 'timeout'; readonly stderr: string }
  /** It could not be started (ENOENT: no such python). */
  | { readonly kind: 'spawn_error'; readonly error: NodeJS.ErrnoException };

export interface BootedOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Limit for the boot line, from the start. */
  readonly bootMs: number;
  /** Limit for the exit, from the boot line. */
  readonly limitMs: number;
}

/** The boot line in LINE, or null (any other line: noise, a warning, the child's own output). */
export function bootLine(line: string): BootLine | null {
  if (!line.trimStart().startsWith('{')) return null;
  try {
    const j = JSON.parse(line) as unknown;
    return typeof j === 'object' && j !== null && !Array.isArray(j) && (j as { type?: unknown }).type === 'boot' ? (j as BootLine) : null;
  } catch {
    return null;
  }
}

/** Runs PYTHON ARGS (stdin closed); never rejects. stdout in the result: what came after the boot line (all of it without one). */
export function runBooted(python: string, args: readonly string[], o: BootedOptions): Promise<BootedRun> {
  return new Promise((resolve) => {
    let out = '';
    let err = '';
    let boot: BootLine | null = null;
    let settled = false;
    const settle = (r: BootedRun) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      unhook();
      resolve(r);
    };
    // Its own process group, so a kill on a timeout also ends what it started (a compiler, a
    // --kernel-module's helpers); a Ctrl-C is passed on to that group.
    const child = spawn(python, [...args], { stdio: ['ignore', 'pipe', 'pipe'], env: o.env ?? process.env, detached: true });
    const unhook = forwardSignals(child);
    const kill = () => killGroup(child);
    let timer = setTimeout(() => {
      kill();
      settle({ kind: 'no_boot', stderr: err });
    }, o.bootMs);
    let scanned = 0; // stdout before this offset holds no boot line
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text: string) => {
      out += text;
      if (boot) return;
      for (let nl = out.indexOf('\n', scanned); nl >= 0; nl = out.indexOf('\n', scanned)) {
        const line = out.slice(scanned, nl);
        scanned = nl + 1;
        boot = bootLine(line);
        if (!boot) continue;
        out = out.slice(scanned); // what came before the boot line is dropped
        clearTimeout(timer);
        timer = setTimeout(() => {
          kill();
          settle({ kind: 'timeout', stderr: err });
        }, o.limitMs);
        return;
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      err += text;
      if (err.length > 1 << 16) err = err.slice(-(1 << 15)); // keeps the last words
    });
    child.on('error', (error: NodeJS.ErrnoException) => settle({ kind: 'spawn_error', error }));
    child.on('close', (code, signal) => settle({ kind: 'done', code, signal, boot, stdout: out, stderr: err }));
  });
}

/** The last non-empty line of TEXT ('' when none). */
export function lastLine(text: string): string {
  return text.trim().split('\n').pop()?.trim() ?? '';
}
