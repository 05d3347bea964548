#!/usr/bin/env node
/**
 * floatd's command line. Subcommands (`run`, `check`, `status`, `demo`) plus keepalived's own
 * flags (`-f FILE -n -l -D -p PIDFILE -t`) so floatd is a drop-in for `keepalived`.
 * Only wiring lives here; each command is its own module.
 */
import { VERSION } from '../util/version.js';

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--version') || argv.includes('-v')) {
    process.stdout.write(`floatd ${VERSION}\n`);
    return 0;
  }
  process.stderr.write('floatd: not yet wired\n');
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    process.stderr.write(`floatd: internal error: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 70;
  },
);
