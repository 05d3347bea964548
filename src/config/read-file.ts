/**
 * Reads a configuration file with bounds: only a regular file (a FIFO, /dev/zero or a directory is refused
 * without blocking: opened O_NONBLOCK) and at most LIMITS.fileBytes. Errors carry a readable `code`.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import { LIMITS } from './limits.js';

function fail(code: string): never {
  throw Object.assign(new Error(code), { code });
}

export function readConfigFile(path: string): string {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) fail('not a regular file');
    if (st.size > LIMITS.fileBytes) fail(`larger than ${LIMITS.fileBytes / 1024 / 1024} MiB`);
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}
