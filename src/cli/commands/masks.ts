// attnbench masks: placeholder until its module lands (registered so that --help lists it).
import type { Command } from 'commander';
import { AttnbenchError } from '../errors.js';

export function register(program: Command): void {
  program
    .command('masks')
    .description('(not built yet)')
    .allowUnknownOption()
    .action(() => {
      throw new AttnbenchError('unavailable', 'masks is not built yet');
    });
}
