/**
 * The daemon side of quorum mode with an in-memory lease store and a virtual µs clock: the
 * wiring answers the FSM's wantLease with lease events, fences a holder whose renewals stop
 * being answered before the store expires its lease, and lets the other node in once the key
 * is gone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../../src/config/index.js';
import type { Clock, TimerHandle } from '../../../src/util/clock.js';
import { createLogger } from '../../../src/util/log.js';
import type { AcquireResult, KeyEvent, LeaseBackend } from '../../../src/quorum/etcd.js';
import { QuorumWiring } from '../../../src/quorum/wiring.js';

class FakeClock implements Clock {
  now = 0;
  private id = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  nowUs(): number {
    return this.now;
  }
  wallMs(): number {
    return 1.7e12 + this.now / 1000;
  }
  at(at: number, fn: () => void): TimerHandle {
    const id = ++this.id;
    this.timers.set(id, { at, fn });
    return { id };
  }
  cancel(h: TimerHandle): void {
    this.timers.delete(h.id);
  }
  async advance(us: number): Promise<void> {
    const end = this.now + us;
    for (;;) {
      const next = [...this.timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!next) break;
      this.timers.delete(next[0]);
      this.now = Math.max(this.now, next[1].at);
      next[1].fn();
      await new Promise((r) => setImmediate(r));
    }
    this.now = end;
    await new Promise((r) => setImmediate(r));
  }
}

/** One etcd for everyone: leases expire by the fake clock; `cut` nodes get no answers. */
class Store {
  key: { value: string; lease: string; rev: number } | undefined;
  leases = new Map<string, number>();
  rev = 1;
  watchers: ((e: KeyEvent) => void)[] = [];
  cut = new Set<string>();
  constructor(
    readonly clock: FakeClock,
    readonly ttlUs: number,
  ) {}
  expire(): void {
    for (const [id, exp] of this.leases)
      if (exp <= this.clock.now) {
        this.leases.delete(id);
        this.drop(id);
      }
  }
  drop(id: string): void {
    if (this.key?.lease === id) {
      this.key = undefined;
      this.rev++;
      for (const w of this.watchers) w({ type: 'deleted', revision: this.rev });
    }
  }
  backend(node: string): LeaseBackend {
    const never = new Promise<never>(() => undefined);
    let closed = false; // like the etcd3 client: nothing goes out once closed
    return {
      acquire: async (_k, value): Promise<AcquireResult> => {
        if (this.cut.has(node)) return never;
        this.expire();
        if (this.key)
          return { ok: false, holder: this.key.value, holderEpoch: this.key.rev, holderLease: this.key.lease };
        const id = `L${this.rev}`;
        this.leases.set(id, this.clock.now + this.ttlUs);
        this.key = { value, lease: id, rev: ++this.rev };
        return { ok: true, leaseId: id, epoch: this.key.rev, ttlS: this.ttlUs / 1e6 };
      },
      keepAlive: (id, onReply) => ({
        send: () => {
          if (this.cut.has(node)) return;
          this.expire();
          const alive = this.leases.has(id);
          if (alive) this.leases.set(id, this.clock.now + this.ttlUs);
          queueMicrotask(() => onReply(alive ? this.ttlUs / 1e6 : 0));
        },
        close: () => undefined,
      }),
      revoke: async (id) => {
        await Promise.resolve();
        if (!closed && !this.cut.has(node)) {
          this.leases.delete(id);
          this.drop(id);
        }
      },
      watch: (_k, on) => {
        this.watchers.push((e) => {
          if (!this.cut.has(node)) on(e);
        });
        return { close: () => undefined };
      },
      confirm: async () => true,
      readKey: async (): Promise<{ leaseId: string; epoch: number } | undefined> => {
        if (this.cut.has(node)) return never;
        return this.key ? { leaseId: this.key.lease, epoch: this.key.rev } : undefined;
      },
      close: () => {
        closed = true;
      },
    };
  }
}

const CONF = `floatd_quorum main {\n  backend etcd\n  endpoints http://198.51.100.1:2379\n  key /floatd/t\n  ttl 2\n}
floating_ip web {\n  provider hetzner\n  address 203.0.113.10\n  token_env T\n}
vrrp_instance VI_1 {\n  interface eth1\n  virtual_router_id 1\n  priority 100\n  quorum main\n  floating_ip web\n}\n`;

const denials: string[] = [];
/** The last `untilUs` each node's FSM was told (the deadline it may hold to). */
const lastUntil = new Map<string, number>();

function node(name: string, clock: FakeClock, store: Store, events: string[]): QuorumWiring {
  const cfg = parseConfigText(CONF, 'q.conf').config!;
  return new QuorumWiring(cfg, {
    clock,
    log: createLogger({ level: 'silent' }),
    nodeName: name,
    backendFor: () => store.backend(name),
    hooks: {
      lease: (i, status, text, until) => {
        // Held is said again each time the deadline moves (renewals): recorded once per grant.
        if (status === 'held' && until !== undefined) lastUntil.set(name, until);
        if (status === 'held' && events.at(-1) !== `${name} granted ${i}`) events.push(`${name} granted ${i}`);
        else if (status === 'lost') events.push(`${name} fence ${i}: ${text?.slice(0, 40)}`);
        else denials.push(`${name} ${text}`);
      },
      vipSpecs: () => [],
      vipsUp: () => false,
      enqueue: async (job) => job(),
    },
  });
}

test('the lease decides: one node granted, the other denied until the holder is cut off and fenced', async () => {
  const clock = new FakeClock();
  const store = new Store(clock, 2_000_000);
  const ev: string[] = [];
  const a = node('lb1', clock, store, ev);
  const b = node('lb2', clock, store, ev);
  a.want('VI_1');
  assert.equal(a.mayAddVips('VI_1'), false, 'asking is wanting: no lease yet');
  await clock.advance(1000);
  assert.deepEqual(ev, ['lb1 granted VI_1']);
  assert.equal(a.mayAddVips('VI_1'), true);
  assert.deepEqual(a.permit('web'), { ok: true, epoch: 2 });
  denials.length = 0;
  b.want('VI_1');
  const until0 = lastUntil.get('lb1') ?? 0;
  await clock.advance(3_000_000);
  assert.equal(b.mayAddVips('VI_1'), false, 'renewals keep lb1 in; lb2 stays denied');
  assert.ok((lastUntil.get('lb1') ?? 0) > until0 + 2_000_000, 'the FSM is told the deadline as renewals move it');
  assert.match(denials.join('\n'), /lb2 lease \/floatd\/t\/VI_1 is held by lb1 \(epoch 2\)/);
  assert.equal(b.permit('web').ok, false);
  assert.deepEqual(
    b.status().map((q) => [q.phase, q.errorCode]),
    [['denied', 'QUORUM_DENIED']],
    'the denial has its stable code (docs/errors.md)',
  );
  assert.deepEqual(
    a.status().map((q) => [q.phase, q.errorCode]),
    [['holding', undefined]],
  );
  store.cut.add('lb1');
  const cutAt = clock.now;
  await clock.advance(1_600_000);
  const fence = ev.findIndex((e) => e.startsWith('lb1 fence'));
  assert.ok(fence > 0, ev.join('\n'));
  assert.equal(a.mayAddVips('VI_1'), false);
  assert.equal(a.permit('web').ok, false, 'no cloud assign once fenced');
  assert.ok(!ev.includes('lb2 granted VI_1'), 'lb2 waits for the lease to expire at the store');
  await clock.advance(1_000_000); // the store expires the lease ≥ 2 s after lb1's last renewal
  store.expire();
  await clock.advance(600_000);
  assert.ok(ev.includes('lb2 granted VI_1'), ev.join('\n'));
  assert.ok(clock.now - cutAt > 2_000_000);
  await a.stop('test');
  await b.stop('test');
});

test('SIGTERM revokes the lease after the VIPs are gone: the peer gets in without waiting for the expiry', async () => {
  const clock = new FakeClock();
  const store = new Store(clock, 2_000_000);
  const ev: string[] = [];
  const a = node('lb1', clock, store, ev);
  const b = node('lb2', clock, store, ev);
  a.want('VI_1');
  await clock.advance(1000);
  b.want('VI_1');
  await clock.advance(1000);
  assert.deepEqual(ev, ['lb1 granted VI_1']);
  a.release('VI_1', 'Stopping (shutdown)');
  await a.stop('SIGTERM');
  assert.equal(store.key?.value, 'lb2', 'the revoke landed before the client closed; the watch let lb2 in');
  await clock.advance(1000);
  assert.deepEqual(ev, ['lb1 granted VI_1', 'lb2 granted VI_1']);
  await b.stop('test');
});

test('on_quorum_loss failsafe over real UDP: etcd silent, the peer says yes: the holder keeps holding', async () => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { createSocket } = await import('node:dgram');
  const { decode, encode } = await import('../../../src/quorum/failsafe-net.js');
  const dir = mkdtempSync(join(tmpdir(), 'floatd-fsw-'));
  const secret = Buffer.from('failsafe-wiring-test-secret-0123456789');
  writeFileSync(join(dir, 'k'), secret);
  const port = 20000 + Math.floor(Math.random() * 20000);
  // The peer: a socket on 127.0.0.2 (more specific than the wiring's 0.0.0.0 bind) answering as floatd would.
  let answer = true;
  let asked = 0;
  const peer = createSocket({ type: 'udp4', reuseAddr: true });
  peer.on('message', (b, r) => {
    const m = decode(b, secret);
    if (!m || m.t !== 'q') return;
    asked++;
    if (answer) peer.send(encode({ ...m, t: 'a', f: 'lb2', ok: true, why: 'not holding' }, secret), r.port, r.address);
  });
  await new Promise<void>((r) => peer.bind(port, '127.0.0.2', r));
  const conf = CONF.replace(
    '  ttl 2\n',
    `  ttl 2\n  on_quorum_loss failsafe\n  failsafe_secret_file ${join(dir, 'k')}\n` +
      `  failsafe_peers 127.0.0.2\n  failsafe_port ${port}\n`,
  );
  const clock = new FakeClock();
  const store = new Store(clock, 2_000_000);
  const ev: string[] = [];
  const cfg = parseConfigText(conf, 'q.conf').config!;
  const a = new QuorumWiring(cfg, {
    clock,
    log: createLogger({ level: 'silent' }),
    nodeName: 'lb1',
    backendFor: () => store.backend('lb1'),
    hooks: {
      // `held` is said again as the deadline (or the failsafe cover) moves: recorded once in a row.
      lease: (i, status) => {
        if (ev.at(-1) !== `${status} ${i}`) ev.push(`${status} ${i}`);
      },
      vipSpecs: () => [],
      vipsUp: () => false,
      enqueue: async (job) => job(),
    },
  });
  /** Virtual time in 50 ms steps, each followed by a few real ms for the datagrams. */
  const run = async (us: number): Promise<void> => {
    for (let t = 0; t < us; t += 50_000) {
      await clock.advance(50_000);
      await new Promise((r) => setTimeout(r, 3));
    }
  };
  try {
    a.want('VI_1');
    await run(2_100_000); // the start-up promise (one ttl) ends, then the lease is granted
    assert.deepEqual(ev, ['held VI_1']);
    store.cut.add('lb1'); // etcd silent from now on
    await run(4_000_000); // two lease lifetimes past the last acknowledged renewal
    assert.ok(asked > 5, `the peer was asked each renew period (${asked})`);
    assert.equal(a.mayAddVips('VI_1'), true, 'held on the peer’s promises');
    assert.equal(a.status()[0]?.failsafe, true, 'status says failsafe');
    answer = false; // the peer stops answering: the last round's cover runs out
    await run(1_700_000);
    assert.equal(a.mayAddVips('VI_1'), false);
    assert.deepEqual(ev, ['held VI_1', 'lost VI_1']);
  } finally {
    await a.stop('test');
    peer.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the key check beside each renewal: a key gone while keepalives still answer (etcd#14758) fences', async () => {
  const clock = new FakeClock();
  const store = new Store(clock, 2_000_000);
  const ev: string[] = [];
  const a = node('lb1', clock, store, ev);
  a.want('VI_1');
  await clock.advance(1_000_000);
  assert.deepEqual(ev, ['lb1 granted VI_1']);
  store.key = undefined; // no watch event, and the lease lives on: only the key check can see it
  await clock.advance(500_000); // within one renewal period (ttl 2: renew 0.4 s) and a round trip
  assert.match(ev.join('\n'), /lb1 fence VI_1: the key check of \/floatd\/t\/VI_1 found no/);
  // The key is free: VRRP still wants MASTER, so it takes a new key (a new epoch), not the old one back.
  assert.equal(ev.at(-1), 'lb1 granted VI_1', ev.join('\n'));
  assert.ok((a.permit('web').epoch ?? 0) > 2, 'a new epoch');
  await a.stop('test');
});
