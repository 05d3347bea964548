/**
 * Fault injection shared by every cloud emulator. A test queues faults; each incoming API
 * request (metadata requests are not affected unless `metadata: true`) takes the first matching
 * fault off the queue. Everything is counted so tests can assert "bounded number of calls".
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export type Fault =
  /** Answer with this status and the provider's error body; `times` requests in a row. */
  | { kind: 'status'; status: number; times?: number; match?: RegExp; retryAfterS?: number }
  /** Never answer (the client must time out); the socket is destroyed after `holdMs`. */
  | { kind: 'hang'; holdMs?: number; times?: number; match?: RegExp }
  /** Answer normally but only after `delayMs`. */
  | { kind: 'slow'; delayMs: number; times?: number; match?: RegExp }
  /** The next asynchronous action this request starts ends in the provider's error state. */
  | { kind: 'action_error'; times?: number; match?: RegExp };

export interface RequestLogEntry {
  method: string;
  path: string;
  status: number | 'hang';
  at: number;
}

export class Faults {
  private queue: (Fault & { left: number })[] = [];
  readonly log: RequestLogEntry[] = [];

  add(f: Fault): void {
    this.queue.push({ ...f, left: f.times ?? 1 });
  }
  clear(): void {
    this.queue = [];
  }

  /** Take the first fault matching "METHOD /path" (consumes one of its `times`). */
  take(method: string, path: string, kinds?: Fault['kind'][]): Fault | undefined {
    const key = `${method} ${path}`;
    const i = this.queue.findIndex((f) => (!f.match || f.match.test(key)) && (!kinds || kinds.includes(f.kind)));
    if (i < 0) return undefined;
    const f = this.queue[i]!;
    f.left -= 1;
    if (f.left <= 0) this.queue.splice(i, 1);
    return f;
  }

  /** Count of logged API requests matching a method and path pattern. */
  count(method?: string, path?: RegExp): number {
    return this.log.filter((e) => (!method || e.method === method) && (!path || path.test(e.path))).length;
  }
}

/**
 * Apply a transport-level fault (hang, slow) for this request. Returns true when the request
 * has been consumed (hang), false when the handler should go on (after any delay).
 */
export async function applyTransportFault(
  f: Fault | undefined,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<boolean> {
  if (!f) return false;
  if (f.kind === 'hang') {
    setTimeout(() => {
      req.socket.destroy();
    }, f.holdMs ?? 30_000).unref();
    res.on('close', () => undefined);
    return true;
  }
  if (f.kind === 'slow') await new Promise((r) => setTimeout(r, f.delayMs));
  return false;
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
