// attnbench dashboard's listen errors (issue 17): a port this user may not bind (below 1024 without
// privileges) was `internal: listen EACCES`, exit 1. The server is replaced by one that fails as
// listen() does there (the tests run as root, who may bind any port).
import { Command } from 'commander';
import { describe, expect, it, vi } from 'vitest';
import * as dashboard from './dashboard.js';

const listenError = vi.hoisted(() => ({ code: 'EACCES' }));
vi.mock('../../report/dashboard/server.js', () => ({
  startDashboard: vi.fn(async (o: { port: number }) => {
    throw Object.assign(new Error(`listen ${listenError.code}: 127.0.0.1:${o.port}`), { code: listenError.code });
  }),
}));

async function cli(...args: string[]): Promise<void> {
  const program = new Command('attnbench').exitOverride();
  dashboard.register(program);
  await program.parseAsync(args, { from: 'user' });
}

describe('attnbench dashboard: ports it cannot listen on', () => {
  it('a privileged port: exit 2, one line saying which ports to pick', async () => {
    listenError.code = 'EACCES';
    await expect(cli('dashboard', '--port', '80')).rejects.toMatchObject({ exit: 2, message: expect.stringMatching(/^port 80 is not open to this user .*1024/) });
  });
  it('a port in use: exit 2', async () => {
    listenError.code = 'EADDRINUSE';
    await expect(cli('dashboard', '--port', '8080')).rejects.toMatchObject({ exit: 2, message: 'port 8080 is in use: pick another with --port' });
  });
});
