import { afterEach, describe, expect, it, vi } from 'vitest';

async function freshGitRev(value: string | undefined): Promise<string | null> {
  vi.resetModules();
  if (value === undefined) delete process.env.ATTNBENCH_GIT_REV;
  else process.env.ATTNBENCH_GIT_REV = value;
  const { gitRev } = await import('./env.js');
  return gitRev();
}

describe('gitRev', () => {
  const saved = process.env.ATTNBENCH_GIT_REV;
  afterEach(() => {
    if (saved === undefined) delete process.env.ATTNBENCH_GIT_REV;
    else process.env.ATTNBENCH_GIT_REV = saved;
  });

  it('names the commit the caller gives (a device copy whose .git is older)', async () => {
    expect(await freshGitRev('d1b0445')).toBe('d1b0445');
  });

  it('ignores a value that is not a commit id, and falls back to git', async () => {
    const fromGit = await freshGitRev(undefined);
    expect(await freshGitRev('not a rev; rm -rf')).toBe(fromGit);
  });
});
