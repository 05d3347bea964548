/**
 * Stable error codes for what a user or an API client can see (docs/errors.md). The code is the
 * contract (scripts and clients match on it); the message is for people and may change.
 * Start: the runtime's refusals and faults. Other modules adopt it as they are touched.
 */
export const ERRORS = {
  CONFIG_UNUSABLE: 'the configuration has errors; nothing was started or changed',
  RELOAD_NO_INSTANCE: 'the new configuration has no vrrp_instance; the running one is kept',
  NO_SUCH_INSTANCE: 'no vrrp_instance by that name',
  NOT_MASTER: 'the instance is not MASTER, so there is nothing to hand over',
  SOCKET_OPEN_FAILED: 'the VRRP socket could not be opened; the instance is in FAULT and retries',
  INTERFACE_MISSING: "the instance's interface does not exist; the instance is in FAULT until it appears",
} as const;

export type ErrorCode = keyof typeof ERRORS;

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
