/**
 * Stable error codes for everything a user or an API client can see (docs/errors.md: one table per
 * family). The code is the contract (scripts and clients match on it); the message is for people and
 * may change. Codes are a union type: a code that is not in a table here does not compile.
 */

/** The runtime's refusals and faults (verbs, reload, VRRP sockets and interfaces). */
export const RUNTIME_ERRORS = {
  CONFIG_UNUSABLE: 'the configuration has errors; nothing was started or changed',
  RELOAD_NO_INSTANCE: 'the new configuration has no vrrp_instance; the running one is kept',
  NO_SUCH_INSTANCE: 'no vrrp_instance by that name',
  NOT_MASTER: 'the instance is not MASTER, so there is nothing to hand over',
  SOCKET_OPEN_FAILED: 'the VRRP socket could not be opened; the instance is in FAULT and retries',
  INTERFACE_MISSING: "the instance's interface does not exist; the instance is in FAULT until it appears",
  PID_FILE_UNUSABLE: 'the pid file names a running floatd, or cannot be written: not starting',
  MAINTENANCE_STORE_FAILED: 'the maintenance set could not be written to its file; nothing changed',
} as const;

/** The local API's HTTP errors (body `{ "error": { "code", "message" } }`); runtime codes travel the same way. */
export const API_ERRORS = {
  BAD_REQUEST: 'the request could not be read: a malformed target, Host header or HTTP framing',
  BAD_PARAMETER: 'a query parameter is missing or out of its range',
  UNAUTHORIZED: 'no bearer token, or the wrong one',
  ACTIONS_DISABLED: 'no API token is configured, so every action is refused',
  FORBIDDEN_HOST: 'a loopback listener answers to loopback names only (DNS-rebinding guard)',
  NOT_FOUND: 'no such endpoint',
  METHOD_NOT_ALLOWED: 'the endpoint exists but not for this method',
  BODY_TOO_LARGE: 'the request body is larger than the endpoint accepts',
  DASHBOARD_OFF: 'the dashboard is off in floatd_api',
  NOT_AVAILABLE: 'this daemon does not offer the action',
  HEADERS_TOO_LARGE: 'the request headers are larger than the server accepts',
  REQUEST_TIMEOUT: 'the request headers or body did not arrive in time',
  INTERNAL: 'the request failed inside floatd (logged as api.error)',
  TOO_MANY_CONNECTIONS: 'a listener held max_connections: the oldest idle connection, or the new one, was closed',
  API_LISTEN_FAILED: 'an API listener could not be opened (address in use, socket path, group); floatd runs without it',
  API_TOKEN_UNUSABLE: 'the configured API token cannot be used (file unreadable, variable unset, under 16 characters)',
} as const;

/**
 * Configuration diagnostics (`floatd check`, the daemon's log at start and reload): one code per kind
 * of mistake, not per message. A diagnostic's severity (error, warning, info) is separate from its code.
 */
export const CONFIG_ERRORS = {
  CONFIG_UNREADABLE: 'the file cannot be read (missing, no permission)',
  CONFIG_SYNTAX: 'the text is not keepalived.conf grammar (braces, quotes, a keyword without its { } block)',
  CONFIG_UNKNOWN_KEYWORD: 'not a keyword of its block (a typo, or a keyword of another block)',
  CONFIG_MISSING_VALUE: 'a keyword without the value it needs, or a block without a keyword it requires',
  CONFIG_BAD_VALUE: 'a value of the wrong form (not a number, an address, one of the words the keyword takes)',
  CONFIG_OUT_OF_RANGE: 'a number outside the range the keyword accepts',
  CONFIG_CONFLICT: 'settings that cannot all hold (a duplicate name or VRID, two of a kind, contradictory options)',
  CONFIG_REFERENCE: 'a name that refers to nothing defined (a script, file, floating IP, quorum)',
  CONFIG_UNSUPPORTED: 'a keepalived feature floatd refuses: the file would not do what it says',
  CONFIG_NOT_HONOURED: 'a keyword floatd reads but does not act on; keepalived would',
  CONFIG_IGNORED: 'something written that has no effect (extra words, a block where none is taken, a repeat)',
  CONFIG_RISKY:
    'settings that work but carry a risk or a surprise (no peers listed, no kernel backstop, one lost renewal)',
  CONFIG_ADJUSTED: 'a value floatd uses changed, as keepalived does (clamped, truncated, an old name read as new)',
  CONFIG_INCLUDE: 'an include that cannot be read or matches nothing',
  CONFIG_LIMIT: 'an input bound was hit (nesting, includes, expansion, line length, diagnostics, parse time, memory)',
  CONFIG_NO_INSTANCE: 'the file defines no vrrp_instance (and no virtual_server): nothing would run',
  CONFIG_SECRET: 'a secret handled unsafely (written in the file, a file others can read)',
  CONFIG_NOTICE: 'information: what floatd will do that the reader may not expect',
} as const;

/** Cloud floating IPs: the reconciler's and the drivers' failure reasons (status `errorCode`, log `code`). */
export const CLOUD_ERRORS = {
  CLOUD_AUTH: 'the provider refused the token (401/403: bad or under-scoped); not retried for error_retry',
  CLOUD_NOT_FOUND: 'the address or instance does not exist in this account or project (404)',
  CLOUD_INVALID: 'the provider refused the request itself (400/422: a bad id, a wrong region)',
  CLOUD_RATE_LIMITED: "the provider throttled the calls (429); retried after the provider's delay",
  CLOUD_BUSY: 'the address is busy with another action (locked, pending); waited for',
  CLOUD_PROVIDER_ERROR: 'the provider answered 5xx or its action ended in error; retried with backoff',
  CLOUD_TIMEOUT: 'no answer within the request timeout; retried with backoff',
  CLOUD_NETWORK: 'the provider could not be reached (refused, reset, DNS); retried with backoff',
  CLOUD_VERIFY_FAILED: 'after an assign the provider still reports another holder; looked at again',
  CLOUD_BUDGET_SPENT: "the failover's call or time budget is spent; the next try is at the reconcile interval",
  CLOUD_FENCED: 'the quorum fencing check refused the assign: this node does not hold the lease',
  CLOUD_CONTESTED: 'a peer this node cannot hear holds the address; it is not fought over during a partition',
} as const;

/** Quorum mode on etcd (docs/quorum.md). */
export const QUORUM_ERRORS = {
  QUORUM_DENIED: 'another node holds the lease: this one stays BACKUP (reason quorum_denied)',
  QUORUM_LOST: 'the lease could not be renewed in time, or is gone: VIPs removed, cloud calls stopped (quorum_lost)',
  QUORUM_UNREACHABLE: 'an etcd endpoint does not answer (the next is tried); with none, no lease is taken or renewed',
  QUORUM_LIFETIME_FAILED: "a VIP's kernel lifetime (valid_lft) could not be refreshed",
  QUORUM_GUARD_DOWN: 'the fence guard process is not running: no lease is held (restarted after 1 s)',
  QUORUM_FAILSAFE_FAILED:
    'on_quorum_loss failsafe cannot run (its socket or secret file failed): floatd fences instead',
} as const;

/** The load balancer (docs/lb.md). */
export const LB_ERRORS = {
  LB_NOT_CONFIGURED: 'no virtual_server is configured, so there is no load balancer to act on',
  LB_NO_SUCH_REAL_SERVER: 'no real_server at that address and port',
  LB_NO_SUCH_VIRTUAL_SERVER: 'no virtual_server by that key',
  LB_REAL_SERVER_EXISTS: 'the virtual server already has that real server',
  LB_BAD_REAL_SERVER: 'the real server cannot be added as given',
  LB_APPLY_FAILED: 'the nftables ruleset could not be applied; the previous one stays',
  LB_CLEAR_FAILED: "the load balancer's nftables table could not be removed",
  LB_NOTIFY_FAILED: 'a notify_up/notify_down script of a real server failed',
} as const;

export const ERROR_FAMILIES = {
  runtime: RUNTIME_ERRORS,
  api: API_ERRORS,
  config: CONFIG_ERRORS,
  cloud: CLOUD_ERRORS,
  quorum: QUORUM_ERRORS,
  lb: LB_ERRORS,
} as const;

export type RuntimeErrorCode = keyof typeof RUNTIME_ERRORS;
export type ApiErrorCode = keyof typeof API_ERRORS;
export type ConfigErrorCode = keyof typeof CONFIG_ERRORS;
export type CloudErrorCode = keyof typeof CLOUD_ERRORS;
export type QuorumErrorCode = keyof typeof QUORUM_ERRORS;
export type LbErrorCode = keyof typeof LB_ERRORS;
export type ErrorCode =
  RuntimeErrorCode | ApiErrorCode | ConfigErrorCode | CloudErrorCode | QuorumErrorCode | LbErrorCode;

export const ERRORS: Readonly<Record<ErrorCode, string>> = {
  ...RUNTIME_ERRORS,
  ...API_ERRORS,
  ...CONFIG_ERRORS,
  ...CLOUD_ERRORS,
  ...QUORUM_ERRORS,
  ...LB_ERRORS,
};

export function isErrorCode(s: unknown): s is ErrorCode {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(ERRORS, s);
}

/** An error with a stable code (`floatd: E_CODE: message`). */
export class FloatdError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string = ERRORS[code],
  ) {
    super(message);
    this.name = 'FloatdError';
  }
}

/** A refused operation as the runtime's verbs return it. */
export interface Refusal {
  ok: false;
  code: ErrorCode;
  message: string;
}

export function refuse(code: ErrorCode, message: string = ERRORS[code]): Refusal {
  return { ok: false, code, message };
}

/** `E_CODE: message`, the form logs and CLI errors use. */
export function withCode(code: ErrorCode, message: string): string {
  return `E_${code}: ${message}`;
}

/** The JSON body of every non-2xx API answer (extra fields such as `ok`, `message` may stand beside it). */
export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

export function errorBody(code: ErrorCode, message: string = ERRORS[code]): ErrorBody {
  return { error: { code, message } };
}
