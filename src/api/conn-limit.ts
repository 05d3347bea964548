/**
 * Bounds the connections one API listener holds, so no local user can exhaust floatd's file
 * descriptors (which the data plane needs: VRRP sockets, `ip`, scripts). At the cap, a new
 * connection evicts the oldest idle one (connected, no request in progress: a half-open or
 * keep-alive socket); when every held connection has a request in progress, the new one is
 * closed. A flood of half-open connections therefore never holds more than `max` descriptors
 * and never locks out a client that sends a request. Node's own header/request/keep-alive
 * timeouts (set in newServer) shed slow headers and long requests; they do not cover a
 * connection that sends nothing at all, so that one is closed here after `idleMs` (and after
 * `idleMs` of silence between keep-alive requests).
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { realClock, type Clock, type TimerHandle } from '../util/clock.js';

export const DEFAULT_MAX_CONNECTIONS = 64;

export interface ConnLimitStats {
  /** Connections held now. */
  readonly open: number;
  /** Idle connections closed to make room. */
  readonly evicted: number;
  /** New connections closed because every held one was busy. */
  readonly refused: number;
  /** Connections closed for sending nothing within idleMs. */
  readonly idle: number;
}

export interface ConnLimitOptions {
  max: number;
  /** A held connection with no request in progress is closed after this long. */
  idleMs: number;
  clock?: Clock;
  onShed?: (why: 'evicted' | 'refused' | 'idle') => void;
}

/**
 * Installs the bound on `server`; the returned counters are live. `onShed` is called for each
 * connection shed (the caller rate-limits its log line).
 */
export function limitConnections(server: Server, o: ConnLimitOptions): ConnLimitStats {
  const { max, onShed } = o;
  const clock = o.clock ?? realClock;
  const held = new Set<Socket>(); // insertion order = age
  const busy = new Set<Socket>();
  const idleTimers = new Map<Socket, TimerHandle>();
  const stats = {
    evicted: 0,
    refused: 0,
    idle: 0,
    get open() {
      return held.size;
    },
  };
  const disarm = (s: Socket): void => {
    const t = idleTimers.get(s);
    if (t) {
      clock.cancel(t);
      idleTimers.delete(s);
    }
  };
  const arm = (s: Socket): void => {
    disarm(s);
    idleTimers.set(
      s,
      clock.at(clock.nowUs() + o.idleMs * 1000, () => {
        idleTimers.delete(s);
        if (busy.has(s) || !held.has(s)) return;
        stats.idle++;
        onShed?.('idle');
        s.destroy();
      }),
    );
  };
  server.on('connection', (sock: Socket) => {
    if (held.size >= max) {
      let victim: Socket | undefined;
      for (const s of held)
        if (!busy.has(s)) {
          victim = s;
          break;
        }
      if (!victim) {
        stats.refused++;
        onShed?.('refused');
        sock.destroy();
        return;
      }
      held.delete(victim);
      stats.evicted++;
      onShed?.('evicted');
      victim.destroy();
    }
    held.add(sock);
    arm(sock);
    sock.once('close', () => {
      held.delete(sock);
      busy.delete(sock);
      disarm(sock);
    });
  });
  server.on('request', (req, res) => {
    const s = req.socket;
    busy.add(s);
    disarm(s);
    res.once('close', () => {
      busy.delete(s);
      if (held.has(s) && !s.destroyed) arm(s);
    });
  });
  return stats;
}
