/** floatd's version, kept in one place for logs, `--version` and the API. */
export const VERSION = '0.1.0';
