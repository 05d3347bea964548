/** floatd's version, kept in one place for logs, `--version` and the API. */
export const VERSION = '0.1.0';
/** The keepalived release whose behaviour floatd follows (docs, `-v`); tested against Debian 12's 2.2.7. */
export const KEEPALIVED_FOLLOWED = '2.2.8';
