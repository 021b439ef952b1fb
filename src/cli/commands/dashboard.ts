// attnbench dashboard: a local web page over the results database (127.0.0.1 only).
import type { Command } from 'commander';
import { startDashboard } from '../../report/dashboard/server.js';
import { DEFAULT_DB_PATH } from '../../store/store.js';
import { parseInteger } from '../../util/parse.js';
import { AttnbenchError, usage } from '../../errors.js';

export function register(program: Command): void {
  program
    .command('dashboard')
    .description('serve a local dashboard (filters, plots, tables) over the results database')
    .option('--db <path>', 'results database', DEFAULT_DB_PATH)
    .option('--port <n>', 'port on 127.0.0.1 (0: any free port)', '8080')
    .action(async (o: { db: string; port: string }) => {
      const port = parseInteger(o.port, 'port', 0);
      if (port > 65535) throw usage(`invalid port '${o.port}': expected 0..65535`);
      let dash;
      try {
        dash = await startDashboard({ dbPath: o.db, port });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE') throw new AttnbenchError('unavailable', `port ${port} is in use: pick another with --port`);
        if (code === 'EACCES') throw usage(`port ${port} is not open to this user (ports below 1024 need privileges): pick one from 1024 to 65535, or 0 for any free port`);
        throw e;
      }
      process.stdout.write(`attnbench dashboard on ${dash.url} (Ctrl-C to stop)\n`);
      const stop = () => void dash.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
