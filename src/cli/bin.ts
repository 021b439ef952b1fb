#!/usr/bin/env node
// Executable entry: `attnbench ...`.
import { endQuietlyOnClosedPipe, main } from './main.js';

endQuietlyOnClosedPipe();
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
