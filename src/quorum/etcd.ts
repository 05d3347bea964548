/**
 * The etcd adapter for quorum mode: executes, decides nothing (the decisions are
 * src/quorum/lease.ts). It uses the etcd3 client's generated gRPC stubs, not its Lease helper:
 * floatd times renewals itself, from the send time on the monotonic clock (docs/quorum.md,
 * "Why floatd drives the renewals").
 */
import { readFileSync } from 'node:fs';
import { Etcd3, type IOptions } from 'etcd3';
import { ConsecutiveBreaker, circuitBreaker, handleAll, noop } from 'cockatiel';
import type { QuorumConfig } from '../config/model.js';
import type { Clock } from '../util/clock.js';
import { KeyWatch, type WatchHost } from './etcd-watch.js';

export type AcquireResult =
  | { ok: true; leaseId: string; epoch: number; ttlS: number }
  | { ok: false; holder: string; holderEpoch: number; holderLease: string };

/** `revision`: the deletion's (its mod_revision); a resumed watch may replay deletions of earlier keys. */
export type KeyEvent = { type: 'deleted'; revision: number } | { type: 'created'; epoch: number; holder: string };

export interface KeepAliveStream {
  /** One keepalive request for the stream's lease. */
  send(): void;
  close(): void;
}

/** What quorum mode needs from a lease store; the lab and unit tests may supply another. */
export interface LeaseBackend {
  /** Grant a lease of ttlS, then put key=value with it if the key does not exist (one transaction). */
  acquire(key: string, value: string, ttlS: number): Promise<AcquireResult>;
  keepAlive(leaseId: string, onReply: (ttlS: number) => void, onEnd: (why: string) => void): KeepAliveStream;
  revoke(leaseId: string): Promise<void>;
  watch(key: string, on: (ev: KeyEvent) => void): { close(): void };
  /** Linearizable check, right before an irreversible act (a cloud assign): is `epoch` still the key's? */
  confirm(key: string, epoch: number): Promise<boolean>;
  /**
   * The key check beside each renewal: a linearizable (serializable false) read of `key`; its lease
   * and creation revision, or undefined when there is no such key. Rejects when etcd does not answer.
   */
  readKey?(key: string): Promise<{ leaseId: string; epoch: number } | undefined>;
  /** Use the next endpoint from now on (the current one stalls or fails). */
  failover?(): void;
  close(): void;
}

/** The client options a floatd_quorum block asks for; secrets are read here, at (re)load. */
export function etcdOptions(q: QuorumConfig, env: NodeJS.ProcessEnv = process.env): IOptions {
  const read = (f: string): Buffer => readFileSync(f);
  const o: IOptions = {
    hosts: q.endpoints,
    dialTimeout: q.dialTimeoutMs,
    // No hidden retries (the lease machine retries on its own timer); a failing member is skipped for 1 s.
    faultHandling: {
      global: noop,
      host: () => circuitBreaker(handleAll, { halfOpenAfter: 1000, breaker: new ConsecutiveBreaker(2) }),
    },
  };
  if (q.tls?.caFile) {
    o.credentials = {
      rootCertificate: read(q.tls.caFile),
      ...(q.tls.keyFile ? { privateKey: read(q.tls.keyFile) } : {}),
      ...(q.tls.certFile ? { certChain: read(q.tls.certFile) } : {}),
    };
  }
  if (q.auth) {
    const password = q.auth.passwordFile
      ? readFileSync(q.auth.passwordFile, 'utf8').trim()
      : env[q.auth.passwordEnv ?? ''];
    if (password === undefined) throw new Error(`floatd_quorum ${q.name}: ${q.auth.passwordEnv} is not set`);
    o.auth = { username: q.auth.username, password };
  }
  return o;
}

/**
 * One etcd3 client per endpoint, used one at a time: a member that is stopped (SIGSTOP, a hung
 * VM) keeps its TCP connections open and never answers, which the client's own pool does not
 * notice on a stream. floatd moves to the next endpoint on a failed request, a broken stream or
 * a stalled one (the lease machine's `switchEndpoint`).
 */
export class EtcdBackend implements LeaseBackend {
  private readonly clients: Etcd3[];
  private cur = 0;
  private readonly watches = new Set<KeyWatch>();
  private readonly watchHost: WatchHost;

  /** `makeClient`: one client per endpoint (a test passes fakes). */
  constructor(
    options: IOptions,
    private readonly clock: Clock,
    private readonly timeoutMs: number,
    makeClient: (o: IOptions) => Etcd3 = (o) => new Etcd3(o),
  ) {
    const hosts = typeof options.hosts === 'string' ? [options.hosts] : options.hosts;
    this.clients = hosts.map((h) => makeClient({ ...options, hosts: [h] }));
    this.watchHost = { clients: this.clients, current: () => this.cur, failover: () => this.failover(), clock };
  }

  private get client(): Etcd3 {
    return this.clients[this.cur]!;
  }
  /** The watches on the endpoint left are re-opened on the next one, from where they were. */
  failover(): void {
    const left = this.cur;
    this.cur = (this.cur + 1) % this.clients.length;
    for (const w of this.watches) if (w.at === left) w.reopen();
  }
  /** A failed call moves to the next endpoint before the error goes on. */
  private async failing<R>(p: Promise<R>): Promise<R> {
    try {
      return await p;
    } catch (e) {
      this.failover();
      throw e;
    }
  }

  private call(): { deadline: number } {
    return { deadline: this.clock.wallMs() + this.timeoutMs };
  }

  async acquire(key: string, value: string, ttlS: number): Promise<AcquireResult> {
    const k = Buffer.from(key);
    const client = this.client;
    const grant = await this.failing(client.leaseClient.leaseGrant({ TTL: ttlS, ID: 0 }, this.call()));
    const txn = await this.failing(
      client.kv.txn(
        {
          compare: [{ key: k, target: 'Create', result: 'Equal', create_revision: 0 }],
          success: [{ request_put: { key: k, value: Buffer.from(value), lease: grant.ID } }],
          failure: [{ request_range: { key: k } }],
        },
        this.call(),
      ),
    ).catch(async (e: unknown) => {
      void this.revoke(grant.ID);
      throw e;
    });
    if (txn.succeeded)
      return { ok: true, leaseId: grant.ID, epoch: Number(txn.header.revision), ttlS: Number(grant.TTL) };
    void this.revoke(grant.ID); // not needed: the key is someone else's
    const kv = txn.responses[0]?.response_range?.kvs[0];
    if (!kv) return { ok: false, holder: '?', holderEpoch: 0, holderLease: '0' }; // deleted meanwhile: retry
    return { ok: false, holder: kv.value.toString(), holderEpoch: Number(kv.create_revision), holderLease: kv.lease };
  }

  keepAlive(leaseId: string, onReply: (ttlS: number) => void, onEnd: (why: string) => void): KeepAliveStream {
    let closed = false;
    let queued = 0;
    let stream: Awaited<ReturnType<Etcd3['leaseClient']['leaseKeepAlive']>> | undefined;
    const end = (why: string): void => {
      if (!closed) {
        closed = true;
        stream?.cancel();
        onEnd(why);
      }
    };
    this.client.leaseClient.leaseKeepAlive().then(
      (s) => {
        if (closed) {
          s.cancel();
          return;
        }
        stream = s;
        s.on('data', (r) => {
          if (!closed) onReply(Number(r.TTL));
        });
        s.on('error', (e) => end(e.message));
        s.on('end', () => end('stream ended'));
        for (; queued > 0; queued--) s.write({ ID: leaseId });
      },
      (e: Error) => end(e.message),
    );
    return {
      send: () => {
        if (closed) return;
        if (stream) stream.write({ ID: leaseId });
        else queued++;
      },
      close: () => {
        if (!closed) {
          closed = true;
          stream?.cancel();
        }
      },
    };
  }

  async revoke(leaseId: string): Promise<void> {
    await this.client.leaseClient.leaseRevoke({ ID: leaseId }, this.call()).then(
      () => undefined,
      () => undefined,
    );
  }

  /** Re-opened on the adapter's endpoint when its member fails (src/quorum/etcd-watch.ts). */
  watch(key: string, on: (ev: KeyEvent) => void): { close(): void } {
    const w = new KeyWatch(this.watchHost, key, on);
    this.watches.add(w);
    return {
      close: () => {
        this.watches.delete(w);
        w.close();
      },
    };
  }

  async readKey(key: string): Promise<{ leaseId: string; epoch: number } | undefined> {
    const r = await this.failing(this.client.kv.range({ key: Buffer.from(key), serializable: false }, this.call()));
    const kv = r.kvs[0];
    return kv ? { leaseId: String(kv.lease), epoch: Number(kv.create_revision) } : undefined;
  }

  async confirm(key: string, epoch: number): Promise<boolean> {
    const txn = await this.failing(
      this.client.kv.txn(
        {
          compare: [{ key: Buffer.from(key), target: 'Create', result: 'Equal', create_revision: epoch }],
        },
        this.call(),
      ),
    );
    return txn.succeeded;
  }

  close(): void {
    for (const w of this.watches) w.close();
    this.watches.clear();
    for (const c of this.clients) c.close();
  }
}
