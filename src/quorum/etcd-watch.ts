/**
 * The key watch of the etcd adapter (src/quorum/etcd.ts), following the adapter's endpoint: executes,
 * decides nothing. The etcd3 client re-creates a broken watch on the same member, forever; while that
 * member is down a BACKUP would learn of the holder's key deletion only through its acquire retry. So a
 * watch whose stream breaks moves the adapter to the next endpoint, and a watch on the endpoint the
 * adapter leaves (a stalled keepalive stream, a failed request) moves with it. Either way it is re-opened
 * from the revision after the last it saw, so what happened meanwhile is replayed, not missed; what a
 * replayed event means (a deletion older than the key held) is the lease machine's (src/quorum/lease.ts).
 */
import type { Etcd3, Watcher } from 'etcd3';
import type { Clock } from '../util/clock.js';
import type { KeyEvent } from './etcd.js';

/** A re-open that never connected waits this long before the next (every member down: no busy loop). */
const REOPEN_AFTER_FAILURE_US = 250_000;

export interface WatchHost {
  readonly clients: readonly Pick<Etcd3, 'watch'>[];
  /** The adapter's current endpoint. */
  current(): number;
  /** Move the adapter to the next endpoint (it re-opens the watches on the one it leaves). */
  failover(): void;
  readonly clock: Clock;
}

export class KeyWatch {
  /** The endpoint the watch is open on. */
  at = -1;
  /** The first revision not yet seen (the start revision of a re-open); undefined before the first connect. */
  next: number | undefined;
  private watcher: Watcher | undefined;
  private connected = false;
  private closed = false;

  constructor(
    private readonly host: WatchHost,
    readonly key: string,
    private readonly on: (ev: KeyEvent) => void,
  ) {
    this.open();
  }

  /** Re-open on the adapter's current endpoint, from `next`. */
  reopen(): void {
    const ok = this.connected;
    this.drop();
    if (this.closed) return;
    if (ok) this.open();
    else this.host.clock.at(this.host.clock.nowUs() + REOPEN_AFTER_FAILURE_US, () => this.open(), { weak: true });
  }

  close(): void {
    this.closed = true;
    this.drop();
  }

  private drop(): void {
    const w = this.watcher;
    this.watcher = undefined;
    this.connected = false;
    void w?.cancel().catch(() => undefined);
  }

  private open(): void {
    if (this.closed || this.watcher) return;
    this.at = this.host.current();
    let b = this.host.clients[this.at]!.watch().key(this.key);
    if (this.next !== undefined) b = b.startRevision(String(this.next));
    const w = b.watcher();
    this.watcher = w;
    const live = (): boolean => this.watcher === w;
    const seen = (rev: string | number | undefined): void => {
      const n = Number(rev) + 1;
      if (rev !== undefined && Number.isFinite(n) && (this.next === undefined || n > this.next)) this.next = n;
    };
    w.on('connected', (res) => {
      if (!live()) return;
      this.connected = true;
      // A fresh watch sees what follows its creation; a resumed one is about to replay from `next`.
      if (this.next === undefined) seen(res.header?.revision);
    });
    // The client's own listener (registered first) has emitted this response's put/delete events.
    w.on('data', (res) => live() && seen(res.header?.revision));
    w.on('delete', (kv) => {
      if (!live()) return;
      seen(kv.mod_revision);
      this.on({ type: 'deleted', revision: Number(kv.mod_revision) });
    });
    w.on('put', (kv) => {
      if (!live()) return;
      seen(kv.mod_revision);
      if (kv.version === '1')
        this.on({ type: 'created', epoch: Number(kv.create_revision), holder: kv.value.toString() });
    });
    w.on('disconnected', () => {
      if (!live()) return;
      // The member under the watch failed: the adapter leaves it, which re-opens this watch on the next one.
      if (this.host.current() === this.at) this.host.failover();
      else this.reopen();
    });
    w.on('error', (e: Error) => {
      if (!live()) return;
      // Cancelled by the server; a compacted start revision cannot be replayed: watch from now (the acquire
      // retry covers what fell in the gap).
      if (/compact/i.test(e.message)) this.next = undefined;
      this.connected = false;
      this.reopen();
    });
  }
}
