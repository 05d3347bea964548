/**
 * The API's answers: JSON with no-store, and one shape for every non-2xx answer,
 * `{ "error": { "code": "…", "message": "…" } }` with a code from src/errors.ts (docs/errors.md).
 * Refusals of actions keep their `ok` and `message` beside it (the CLI and the dashboard read them).
 */
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ERRORS, errorBody, type ErrorCode } from '../errors.js';

const JSON_TYPE = 'application/json; charset=utf-8';

export function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': JSON_TYPE, 'cache-control': 'no-store' });
  res.end(JSON.stringify(body, null, 2) + '\n');
}

export function sendError(res: ServerResponse, status: number, code: ErrorCode, message: string = ERRORS[code]): void {
  send(res, status, errorBody(code, message));
}

/** An action's result, as the runtime and the verbs return it; `code` is set on a refusal. */
export interface ActionResult {
  ok: boolean;
  message: string;
  code?: ErrorCode;
}

/** 200 with the result, or `status` (409 by default) with the result and its error (`fallback` when it has no code). */
export function sendResult(
  res: ServerResponse,
  r: ActionResult,
  fallback: ErrorCode,
  status = 409,
  extra: Record<string, unknown> = {},
): void {
  if (r.ok) return send(res, 200, { ...r, ...extra });
  send(res, status, { ...r, ...extra, ...errorBody(r.code ?? fallback, r.message) });
}

/**
 * Node's parser refused a request (bad framing, headers too large, headers too slow): the same
 * statuses Node sends by default, with a JSON error body; then the connection is closed.
 */
export function answerClientError(e: NodeJS.ErrnoException, socket: Duplex): void {
  // As Node does: answer only when no response of this connection has started.
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    const [status, reason, code]: [number, string, ErrorCode] =
      e.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large', 'HEADERS_TOO_LARGE']
        : e.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'Request Timeout', 'REQUEST_TIMEOUT']
          : [400, 'Bad Request', 'BAD_REQUEST'];
    const body = JSON.stringify(errorBody(code)) + '\n';
    socket.write(
      `HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-type: ${JSON_TYPE}\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.destroy(e);
}
