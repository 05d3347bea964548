/**
 * An in-memory etcd for the shipped-composition quorum simulator (shipped-quorum.ts): one
 * logical cluster on the simulator's virtual clock, reached by each node through a link that
 * can be cut, with what quorum mode's safety rests on modelled after etcd's source
 * (server/lease/lessor.go; docs/quorum.md "Why etcd's own behaviour is safe"):
 * - leases: grant (expiry = receipt + TTL), keepalive (expiry reset to receipt + TTL; an expired
 *   lease answers TTL 0), revoke (its keys deleted, watchers told);
 * - the acquire as two round trips (LeaseGrant, then the create-if-absent Txn), each with the
 *   client's request timeout (a lost or late answer fails the request; the server may still
 *   have done it);
 * - expiry only on the leader's 500 ms lessor tick (random phase), never early;
 * - leader changes: no request is processed and nothing expires during the election; the new
 *   leader extends every lease to now + election timeout + TTL (Promote);
 * - watches deliver in order; events a cut node missed come when its link is back (the client
 *   resumes from its revision).
 * It implements src/quorum/etcd.ts's LeaseBackend, the port the daemon's EtcdBackend fills.
 */
import type { AcquireResult, KeepAliveStream, KeyEvent, LeaseBackend } from '../../src/quorum/etcd.js';
import type { Clock } from '../../src/util/clock.js';
import type { VirtualUsClock } from '../support/virtual-us-clock.js';

export const LESSOR_TICK_US = 500_000;
/** etcd's election timeout (default 1000 ms): what Promote adds to every lease. */
export const ELECTION_TIMEOUT_US = 1_000_000;

interface Lease {
  ttlUs: number;
  expiresAt: number;
}

interface Link {
  up: boolean;
  /** Last delivery time per direction, so one connection delivers in order. */
  lastUp: number;
  lastDown: number;
  /** Watch events while the link was down, delivered when it is back. */
  missed: Array<() => void>;
}

/** The node side of one process: its clock (a paused or dead process runs nothing). */
export interface ProcessPort {
  clock: Clock;
  /** True once the process is gone (crash or stop): nothing more is delivered to it. */
  dead(): boolean;
}

export class SimEtcd {
  private rev = 1;
  private nextLease = 1;
  private readonly leases = new Map<string, Lease>();
  private readonly keys = new Map<string, { value: string; lease: string; createRev: number }>();
  private readonly watchers = new Map<string, Set<(ev: KeyEvent) => void>>();
  private readonly links = new Map<string, Link>();
  /** No leader until then (an election): requests wait, nothing expires. */
  private electionUntil = 0;
  private readonly waiting: Array<() => void> = [];
  /** Counts for the test's report. */
  readonly stats = { grants: 0, txns: 0, keepalives: 0, revokes: 0, expiries: 0, keyExpiries: 0, elections: 0 };

  constructor(
    private readonly clock: VirtualUsClock,
    private readonly rnd: () => number,
    /** One-way delay node ↔ etcd (µs). */
    private readonly delayUs: () => number,
  ) {
    const phase = Math.floor(rnd() * LESSOR_TICK_US);
    const tick = (): void => {
      this.expire();
      clock.at(clock.nowUs() + LESSOR_TICK_US, tick);
    };
    clock.at(phase, tick);
  }

  private link(node: string): Link {
    let l = this.links.get(node);
    if (!l) this.links.set(node, (l = { up: true, lastUp: 0, lastDown: 0, missed: [] }));
    return l;
  }

  /** Cut (or restore) one node's link to etcd; both directions. */
  cut(node: string, down: boolean): void {
    const l = this.link(node);
    l.up = !down;
    if (!down) for (const f of l.missed.splice(0)) f();
  }

  /** A leader election of `us`: nothing is processed meanwhile; then every lease is extended (Promote). */
  election(us: number): void {
    const now = this.clock.nowUs();
    this.stats.elections++;
    this.electionUntil = Math.max(this.electionUntil, now + us);
    this.clock.at(this.electionUntil, () => {
      if (this.clock.nowUs() < this.electionUntil) return;
      for (const l of this.leases.values()) l.expiresAt = this.clock.nowUs() + ELECTION_TIMEOUT_US + l.ttlUs;
      for (const f of this.waiting.splice(0)) f();
    });
  }

  /** Who holds `key` now (the property check's view of the server). */
  holder(key: string): { value: string; createRev: number } | undefined {
    return this.keys.get(key);
  }

  private leader(): boolean {
    return this.clock.nowUs() >= this.electionUntil;
  }

  private expire(): void {
    if (!this.leader()) return;
    const now = this.clock.nowUs();
    for (const [id, l] of [...this.leases]) {
      if (l.expiresAt > now) continue;
      this.stats.expiries++;
      if ([...this.keys.values()].some((k) => k.lease === id)) this.stats.keyExpiries++;
      this.revokeLease(id);
    }
  }

  private revokeLease(id: string): void {
    if (!this.leases.delete(id)) return;
    for (const [k, v] of [...this.keys]) {
      if (v.lease !== id) continue;
      this.keys.delete(k);
      this.rev++;
      for (const w of this.watchers.get(k) ?? []) w({ type: 'deleted', revision: this.rev });
    }
  }

  /** node → server: runs `fn` at the server when the request arrives (after an election if one is on). */
  private toServer(node: string, fn: () => void): void {
    const l = this.link(node);
    if (!l.up) return;
    const at = Math.max(this.clock.nowUs() + this.delayUs(), l.lastUp + 1);
    l.lastUp = at;
    this.clock.at(at, () => {
      if (!this.link(node).up) return; // cut while in flight
      if (this.leader()) fn();
      else this.waiting.push(fn);
    });
  }

  /** server → node: runs `fn` in the node's process when the answer arrives. */
  private toNode(node: string, p: ProcessPort, fn: () => void): void {
    const l = this.link(node);
    if (!l.up) return;
    const at = Math.max(this.clock.nowUs() + this.delayUs(), l.lastDown + 1);
    l.lastDown = at;
    this.clock.at(at, () => {
      if (this.link(node).up && !p.dead()) p.clock.at(p.clock.nowUs(), fn);
    });
  }

  /** One request/answer with the client's timeout: the answer, or a rejection after `timeoutUs`. */
  private call<R>(node: string, p: ProcessPort, timeoutUs: number, serve: () => R): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      let done = false;
      const timer = p.clock.at(p.clock.nowUs() + timeoutUs, () => {
        if (done) return;
        done = true;
        reject(new Error('deadline exceeded'));
      });
      this.toServer(node, () => {
        const r = serve();
        this.toNode(node, p, () => {
          if (done) return;
          done = true;
          p.clock.cancel(timer);
          resolve(r);
        });
      });
    });
  }

  /** The LeaseBackend of one process on `node`. */
  client(node: string, p: ProcessPort, timeoutUs: number): LeaseBackend {
    let closed = false;
    const watches = new Set<() => void>();
    const backend: LeaseBackend = {
      acquire: async (key, value, ttlS): Promise<AcquireResult> => {
        const ttlUs = ttlS * 1_000_000;
        const id = await this.call(node, p, timeoutUs, () => {
          this.stats.grants++;
          const lid = `L${this.nextLease++}`;
          this.leases.set(lid, { ttlUs, expiresAt: this.clock.nowUs() + ttlUs });
          return lid;
        });
        const r = await this.call(node, p, timeoutUs, (): AcquireResult => {
          this.stats.txns++;
          const cur = this.keys.get(key);
          if (cur) return { ok: false, holder: cur.value, holderEpoch: cur.createRev, holderLease: cur.lease };
          if (!this.leases.has(id)) return { ok: false, holder: '?', holderEpoch: 0, holderLease: '0' };
          const createRev = ++this.rev;
          this.keys.set(key, { value, lease: id, createRev });
          for (const w of this.watchers.get(key) ?? []) w({ type: 'created', epoch: createRev, holder: value });
          return { ok: true, leaseId: id, epoch: createRev, ttlS };
        });
        if (!r.ok) void backend.revoke(id); // as EtcdBackend: the unused grant goes back
        return r;
      },
      keepAlive: (leaseId, onReply): KeepAliveStream => {
        let open = true;
        return {
          send: () => {
            if (!open || closed) return;
            this.toServer(node, () => {
              this.stats.keepalives++;
              const l = this.leases.get(leaseId);
              const now = this.clock.nowUs();
              let ttl = 0;
              if (l && l.expiresAt > now) {
                l.expiresAt = now + l.ttlUs;
                ttl = l.ttlUs / 1_000_000;
              }
              this.toNode(node, p, () => {
                if (open) onReply(ttl);
              });
            });
          },
          close: () => {
            open = false;
          },
        };
      },
      revoke: async (leaseId) => {
        if (closed) return;
        await this.call(node, p, timeoutUs, () => {
          this.stats.revokes++;
          this.revokeLease(leaseId);
        }).catch(() => undefined);
      },
      watch: (key, on) => {
        const w = (ev: KeyEvent): void => {
          const deliver = (): void => this.toNode(node, p, () => on(ev));
          if (this.link(node).up) deliver();
          else this.link(node).missed.push(deliver);
        };
        const set = this.watchers.get(key) ?? this.watchers.set(key, new Set()).get(key)!;
        set.add(w);
        const close = (): void => void set.delete(w);
        watches.add(close);
        return { close };
      },
      confirm: (key, epoch) => this.call(node, p, timeoutUs, () => this.keys.get(key)?.createRev === epoch),
      close: () => {
        closed = true;
        for (const c of watches) c();
      },
    };
    return backend;
  }
}
