// Environment metadata recorded with every result row (SPEC section 6).
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import type { Environment } from '../results/schema.js';

let gitRevCache: string | null | undefined;

/**
 * The commit the rows ran: ATTNBENCH_GIT_REV when the caller knows it better than git does (the device
 * bundle sets it to the commit it was built from, scripts/device-bundle.mjs: a device copy's .git may be
 * an older one, and rows of 2026-12-06 call35 / call37 named the session's first commit instead of the
 * one that ran), else `git rev-parse HEAD`.
 */
export function gitRev(): string | null {
  if (gitRevCache !== undefined) return gitRevCache;
  const given = process.env.ATTNBENCH_GIT_REV?.trim();
  if (given && /^[0-9a-f]{7,40}$/.test(given)) return (gitRevCache = given);
  try {
    gitRevCache = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    gitRevCache = null;
  }
  return gitRevCache;
}

/** Environment of a CPU run on this host. GPU executors fill gpu/driver/cuda/libs from the worker. */
export function cpuEnvironment(extra: Partial<Environment> = {}): Environment {
  return {
    host: os.hostname(),
    gpu: null,
    driver: null,
    cuda: null,
    libs: { node: process.versions.node, v8: process.versions.v8, cpu: os.cpus()[0]?.model ?? 'unknown' },
    gitRev: gitRev(),
    date: new Date().toISOString(),
    command: process.argv.slice(1).join(' '),
    ...extra,
  };
}
