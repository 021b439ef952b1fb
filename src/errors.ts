// Errors with stable codes. The CLI prints one line `attnbench: <code>: <message>` and exits with
// `exit` (2 for bad input and for what this machine lacks: python, torch, a GPU, a package; 1 for
// runtime failures); no stack trace unless ATTNBENCH_DEBUG is set.

export type ErrorCode =
  | 'usage' // bad flag, value or combination
  | 'bad_input' // unknown mask family, kernel or scheme, invalid size, malformed file
  | 'unsupported' // a valid request that this kernel / scheme cannot express
  | 'unavailable' // missing python, torch, GPU or optional package
  | 'worker' // the python worker died or broke the protocol
  | 'timeout'
  | 'failed' // the work ran and some of it failed: its result rows (or stage logs) say why
  | 'internal';

export class AttnbenchError extends Error {
  readonly code: ErrorCode;
  readonly exit: number;
  constructor(code: ErrorCode, message: string, exit?: number) {
    super(message);
    this.name = 'AttnbenchError';
    this.code = code;
    this.exit = exit ?? (code === 'usage' || code === 'bad_input' || code === 'unavailable' ? 2 : 1);
  }
}

/** Bad input from the user: exit code 2. */
export function badInput(message: string): AttnbenchError {
  return new AttnbenchError('bad_input', message, 2);
}

export function usage(message: string): AttnbenchError {
  return new AttnbenchError('usage', message, 2);
}
