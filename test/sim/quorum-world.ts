/**
 * A simulated etcd and N floatd nodes running the real LeaseMachine (src/quorum/lease.ts), for
 * the "never two holders" property (docs/quorum.md, "What the simulator proves").
 *
 * - etcd: one logical server on the reference clock. Leases expire on the leader's 500 ms
 *   lessor tick (random phase); a leader change stops all processing for an election, then
 *   extends every lease to now + election timeout + TTL (etcd's Promote). A grant and the
 *   create-if-absent transaction are two round trips.
 * - Links node↔etcd: random delay; a keepalive stream delivers in order and, once a partition
 *   drops one of its messages, is broken (the node hears so after a detection delay). A unary
 *   request dropped by a partition fails at the client's dial timeout.
 * - Nodes: a clock with its own offset and rate (within the 1000 ppm bound), timers that fire
 *   late, SIGSTOP (everything deferred to the resume), SIGKILL and restart (a fresh machine that
 *   first removes stale VIPs). VIP changes run serially and take time; the kernel removes a VIP
 *   after its valid_lft (up to KERNEL_LATE_US late) even while the process is stopped.
 * A violation is an instant where a VIP appears on one node while another node still has it.
 */
import {
  KERNEL_LATE_US,
  LeaseMachine,
  type LeaseAction,
  type LeaseEvent,
  type LeaseTiming,
} from '../../src/quorum/lease.js';
import { answerPeer, Failsafe } from '../../src/quorum/failsafe.js';
import { prng } from './sim.js';

type Rng = () => number;
const uni = (r: Rng, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));

export interface QuorumScenarioOpts {
  /** Override the machine's timing (mutation tests use this to show the simulator catches a bad rule). */
  timing?: (t: LeaseTiming) => LeaseTiming;
  /** Pause and kill nodes even without a kernel backstop (to show that it is needed). */
  forceFreezes?: boolean;
  /** on_quorum_loss failsafe on every node (default: a third of the schedules). */
  failsafe?: boolean;
  /** Mutation: responders answer yes but do not keep their promise (shows the promise is what makes it safe). */
  brokenPromise?: boolean;
  /**
   * Watch outages on every schedule (default: a third): a node's watch stream is on a member that goes
   * away while its other requests reach the rest; on the member's return the watch resumes from the last
   * revision it saw and replays what it missed, in order (the etcd3 client). Watch streams deliver in
   * order then.
   */
  watchOutages?: boolean;
  /** Mutation: deletions come without their revision (the adapter before issue 13's fix). */
  noRevision?: boolean;
}

export interface QuorumRun {
  seed: number;
  violations: string[];
  holds: number;
  /** VIP taken by a node other than the last one that had it (a failover). */
  takeovers: number;
  fences: number;
  events: number;
  /** Times a holder went on holding past its lease deadline on the peers' promises (failsafe). */
  failsafeHolds: number;
  /** Fences for a "lost" lease whose key still existed at etcd under the node's epoch (a replayed event). */
  spuriousFences: number;
  /** Watch events delivered after an outage (replayed). */
  replayed: number;
  trace?: string[];
}

interface Ev {
  t: number;
  seq: number;
  f: () => void;
}

class Heap {
  private a: Ev[] = [];
  private seq = 0;
  get size(): number {
    return this.a.length;
  }
  push(t: number, f: () => void): void {
    const e = { t, seq: this.seq++, f };
    const a = this.a;
    let i = a.length;
    a.push(e);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (less(a[p]!, e)) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = e;
  }
  pop(): Ev | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= a.length) break;
        const r = l + 1;
        const c = r < a.length && less(a[r]!, a[l]!) ? r : l;
        if (less(last, a[c]!)) break;
        a[i] = a[c]!;
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}
const less = (x: Ev, y: Ev): boolean => x.t < y.t || (x.t === y.t && x.seq < y.seq);

interface Lease {
  id: string;
  ttlUs: number;
  expiry: number;
}
interface Key {
  holder: string;
  epoch: number;
  lease: string;
}

interface Node {
  name: string;
  m: LeaseMachine;
  incarnation: number;
  off: number;
  rate: number;
  state: 'up' | 'paused' | 'dead';
  buffer: Array<() => void>;
  partitioned: boolean;
  /** Cut from the other nodes (the failsafe channel; etcd may still be reachable). */
  peerCut: boolean;
  wake: number;
  wakeToken: number;
  netFree: number;
  vip: boolean;
  kernelExpiry: number;
  /** Keepalive stream: generation in use, in-order delivery times each way, broken flag. */
  gen: number;
  upFree: number;
  downFree: number;
  broken: boolean;
  /** In-order watch delivery (watchOutages): the last delivery time, and until when the watch is away. */
  watchFree: number;
  watchDownUntil: number;
  /** The epoch the machine held before the event being fed (the spurious-fence check). */
  epochBefore: number | undefined;
}

export function runQuorumScenario(seed: number, opts: QuorumScenarioOpts = {}, withTrace = false): QuorumRun {
  const r = prng(seed);
  const ttlS = [1, 2, 2, 2, 3][uni(r, 0, 4)]!;
  const ttlUs = ttlS * 1_000_000;
  const base: LeaseTiming = {
    ttlUs,
    renewUs: ttlUs / 5,
    marginUs: ttlS >= 2 ? 500_000 : 300_000,
    kernelLifetimeUs: Math.max(0, ttlS - 1) * 1_000_000,
    retryUs: 500_000,
  };
  const timing = opts.timing ? opts.timing(base) : base;
  // Without a kernel backstop a stopped or killed holder keeps its VIP (documented): no pauses or crashes then.
  const freezes = timing.kernelLifetimeUs > 0 || opts.forceFreezes === true;
  const nNodes = uni(r, 2, 3);
  const maxDelayUs = [500, 2000, 20_000, 150_000][uni(r, 0, 3)]!;
  const maxLagUs = uni(r, 0, 40_000);
  const maxExecUs = uni(r, 500, 30_000);
  const dialUs = 1_000_000;
  const electionUs = 1_000_000;
  const endUs = 4 * ttlUs + 4_000_000;
  const tickPhase = uni(r, 0, 499_999);
  const fsOn = opts.failsafe ?? uni(r, 0, 2) === 0;
  // Its own stream of randomness, so the schedules without outages stay what they were.
  const rw = prng((seed ^ 0x5bd1e995) >>> 0);
  const watchOutages = opts.watchOutages ?? uni(rw, 0, 2) === 0;

  const q = new Heap();
  let now = 0;
  const violations: string[] = [];
  const trace: string[] | undefined = withTrace ? [] : undefined;
  let holds = 0;
  let takeovers = 0;
  let lastHolder: Node | undefined;
  let fences = 0;
  let events = 0;
  let failsafeHolds = 0;
  let spuriousFences = 0;
  let replayed = 0;
  const log = (s: string): void => {
    trace?.push(`${(now / 1000).toFixed(1).padStart(8)} ms ${s}`);
  };

  // ---- etcd ----
  const leases = new Map<string, Lease>();
  let key: Key | undefined;
  let rev = 1;
  let nextLease = 1;
  let leaderFrom = 0; // no leader before this time
  const leader = (): boolean => now >= leaderFrom;
  const notify = (ev: LeaseEvent): void => {
    for (const n of nodes) {
      if (n.partitioned) continue;
      if (!watchOutages) {
        deliverLater(n, () => feed(n, ev));
        continue;
      }
      const at = Math.max(now + delay(), n.watchFree, n.watchDownUntil);
      if (at === n.watchDownUntil) replayed++;
      n.watchFree = at;
      deliverLater(n, () => feed(n, ev), at);
    }
  };
  const dropKeyIf = (leaseId: string): void => {
    if (key && key.lease === leaseId) {
      key = undefined;
      rev++;
      log('etcd: key deleted');
      notify(opts.noRevision ? { type: 'keyDeleted' } : { type: 'keyDeleted', revision: rev });
    }
  };
  const tick = (): void => {
    if (leader())
      for (const l of [...leases.values()])
        if (l.expiry <= now) {
          leases.delete(l.id);
          log(`etcd: lease ${l.id} expired`);
          dropKeyIf(l.id);
        }
    if (now + 500_000 < endUs) q.push(now + 500_000, tick);
  };
  q.push(tickPhase, tick);

  // ---- nodes ----
  const local = (n: Node): number => Math.floor(n.off + now * n.rate);
  const toReal = (n: Node, l: number): number => Math.ceil((l - n.off) / n.rate);
  const delay = (): number => uni(r, 200, maxDelayUs);
  const held = (n: Node, t: number): boolean => n.vip && (timing.kernelLifetimeUs === 0 || t < n.kernelExpiry);

  /** A machine for node i (fresh at start and at each restart): with failsafe, its peers are the other nodes. */
  const machine = (i: number, startUs: number): LeaseMachine => {
    if (!fsOn) return new LeaseMachine('/floatd/sim/VI_1', timing);
    const peers = Array.from({ length: nNodes }, (_, j) => `n${j}`).filter((x) => x !== `n${i}`);
    const ft = { peers, windowUs: ttlUs, marginUs: timing.marginUs, kernelLifetimeUs: timing.kernelLifetimeUs };
    const fs = new Failsafe({ ...ft, kernelLateUs: KERNEL_LATE_US }, startUs);
    if (opts.brokenPromise) fs.mayGrant = () => true;
    return new LeaseMachine('/floatd/sim/VI_1', timing, fs);
  };
  const mkNode = (i: number): Node => ({
    name: `n${i}`,
    m: machine(i, 0),
    incarnation: 0,
    off: uni(r, 0, 1e9),
    rate: 1 + (r() * 2 - 1) * 9e-4,
    state: 'up',
    buffer: [],
    partitioned: false,
    peerCut: false,
    wake: -1,
    wakeToken: 0,
    netFree: 0,
    vip: false,
    kernelExpiry: 0,
    gen: 0,
    upFree: 0,
    downFree: 0,
    broken: false,
    watchFree: 0,
    watchDownUntil: 0,
    epochBefore: undefined,
  });
  const nodes: Node[] = Array.from({ length: nNodes }, (_, i) => mkNode(i));

  /** Deliver a network message (or watch event) to a node after a link delay; lost if partitioned on arrival. */
  function deliverLater(n: Node, f: () => void, at = now + delay()): void {
    const inc = n.incarnation;
    q.push(at, () => {
      if (!n.partitioned && n.incarnation === inc) enqueue(n, f);
    });
  }
  function enqueue(n: Node, f: () => void): void {
    if (n.state === 'dead') return;
    if (n.state === 'paused') n.buffer.push(f);
    else f();
  }
  function feed(n: Node, ev: LeaseEvent): void {
    events++;
    n.epochBefore = n.m.epoch;
    const actions = n.m.step(local(n), ev);
    for (const a of actions) act(n, a);
    arm(n);
  }
  function arm(n: Node): void {
    const w = n.m.nextWake();
    if (w === undefined || w === n.wake) return;
    n.wake = w;
    const token = ++n.wakeToken;
    const inc = n.incarnation;
    q.push(Math.max(now, toReal(n, w)) + uni(r, 0, maxLagUs), () => {
      if (n.incarnation === inc && token === n.wakeToken) {
        n.wake = -1;
        enqueue(n, () => feed(n, { type: 'timer' }));
      }
    });
  }
  /** Serialised VIP changes that take time, like the runtime's netQueue. Returns the effect time. */
  function net(n: Node, f: () => void): number {
    const at = Math.max(now, n.netFree) + uni(r, 100, maxExecUs);
    n.netFree = at;
    q.push(at, f); // an `ip` child finishes even if floatd was stopped or killed meanwhile
    return at;
  }
  function vipUp(n: Node): void {
    const was = held(n, now);
    n.vip = true;
    if (timing.kernelLifetimeUs > 0) {
      const late = uni(r, -40_000, 300_000);
      n.kernelExpiry = now + Math.floor((timing.kernelLifetimeUs + late) / n.rate);
    }
    if (!was) {
      holds++;
      if (lastHolder && lastHolder !== n) takeovers++;
      lastHolder = n;
      log(`${n.name}: VIP up`);
      for (const o of nodes)
        if (o !== n && held(o, now))
          violations.push(`seed ${seed} at ${now} µs: ${n.name} took the VIP while ${o.name} still held it`);
    }
  }

  function act(n: Node, a: LeaseAction): void {
    const lnow = local(n);
    switch (a.type) {
      case 'acquire':
        acquire(n, a.req);
        break;
      case 'renew':
        renew(n, a.leaseId, a.gen);
        break;
      case 'revoke': {
        const send = (): void =>
          deliverServer(n, () => {
            if (leader()) {
              leases.delete(a.leaseId);
              dropKeyIf(a.leaseId);
            }
          });
        if (a.afterRelease) q.push(Math.max(now, n.netFree), send);
        else send();
        break;
      }
      case 'hold':
        log(`${n.name}: hold epoch ${a.epoch}`);
        net(n, () => vipUp(n));
        break; // FSM addVips
      case 'kernelRefresh':
        // The adapter checks the guard right before the syscall; the change lands after it.
        if (lnow <= a.notAfterUs) net(n, () => vipUp(n));
        break;
      case 'fence':
        fences++;
        log(`${n.name}: fence (${a.kind})`);
        if (a.kind === 'lease_gone' && key?.holder === n.name && key.epoch === n.epochBefore && leases.has(key.lease))
          spuriousFences++;
        net(n, () => {
          n.vip = false;
        });
        break;
      case 'confirm':
        confirm(n, a.round);
        break;
      case 'checkKey': {
        // A linearizable read: answered by the leader only, from the key as it is when the read arrives.
        const epoch = a.epoch;
        deliverServer(n, () => {
          if (!leader()) return;
          const found = key ? { found: { leaseId: key.lease, epoch: key.epoch } } : {};
          deliverLater(n, () => feed(n, { type: 'keyChecked', epoch, ...found }));
        });
        break;
      }
      case 'log':
        if (a.text.includes('(failsafe)')) failsafeHolds++;
        break;
    }
  }
  /** One failsafe round: a datagram to each other node, its answer back; lost if either end is cut on the way. */
  function confirm(n: Node, round: number): void {
    const inc = n.incarnation;
    for (const p of nodes) {
      if (p === n || n.peerCut || p.peerCut) continue;
      const pinc = p.incarnation;
      q.push(now + delay(), () => {
        if (n.peerCut || p.peerCut || p.incarnation !== pinc) return;
        enqueue(p, () => {
          const a = answerPeer(p.m, local(p));
          q.push(now + delay(), () => {
            if (n.peerCut || p.peerCut || n.incarnation !== inc) return;
            enqueue(n, () => feed(n, { type: 'peerAnswer', round, peer: p.name, ...a }));
          });
        });
      });
    }
  }
  function deliverServer(n: Node, f: () => void): void {
    if (n.partitioned) return;
    const at = now + delay();
    q.push(at, () => {
      if (!n.partitioned) f();
    });
  }
  function acquire(n: Node, req: number): void {
    const inc = n.incarnation;
    let done = false;
    const reply = (ev: LeaseEvent): void =>
      deliverLater(n, () => {
        if (!done && n.incarnation === inc) {
          done = true;
          feed(n, ev);
        }
      });
    q.push(now + dialUs, () => {
      if (!done && n.incarnation === inc) {
        done = true;
        enqueue(n, () => feed(n, { type: 'failed', req, error: 'timeout' }));
      }
    });
    deliverServer(n, () => {
      if (!leader()) return;
      const l: Lease = { id: `L${nextLease++}`, ttlUs, expiry: now + ttlUs };
      leases.set(l.id, l);
      const back = delay() + delay();
      q.push(now + back, () => {
        if (n.partitioned || !leader()) return;
        if (!leases.has(l.id)) {
          reply({ type: 'failed', req, error: 'lease expired before the txn' });
          return;
        }
        if (key) {
          leases.delete(l.id);
          reply({
            type: 'denied',
            req,
            holder: key.holder,
            holderEpoch: key.epoch,
            holderLease: key.lease,
            mine: key.holder === n.name,
          });
          return;
        }
        key = { holder: n.name, epoch: ++rev, lease: l.id };
        log(`etcd: ${n.name} created the key, epoch ${key.epoch}`);
        notify({ type: 'keyCreated', epoch: key.epoch, holder: n.name });
        reply({ type: 'acquired', req, leaseId: l.id, epoch: key.epoch, grantedTtlUs: ttlUs });
      });
    });
  }
  function renew(n: Node, leaseId: string, gen: number): void {
    if (gen !== n.gen) {
      n.gen = gen;
      n.broken = false;
      n.upFree = now;
      n.downFree = now;
    }
    if (n.broken) return;
    const breakStream = (): void => {
      if (n.broken) return;
      n.broken = true;
      deliverLater(
        n,
        () => feed(n, { type: 'renewFailed', leaseId, gen, error: 'stream broken' }),
        now + uni(r, 100_000, 1_000_000),
      );
    };
    if (n.partitioned) {
      breakStream();
      return;
    }
    const at = Math.max(now + delay(), n.upFree);
    n.upFree = at;
    q.push(at, () => {
      if (n.partitioned || n.gen !== gen || n.broken) {
        breakStream();
        return;
      }
      if (!leader()) return; // no leader: the request waits and is answered by none
      const l = leases.get(leaseId);
      if (l) l.expiry = now + l.ttlUs;
      const ttl = l ? l.ttlUs : 0;
      const back = Math.max(now + delay(), n.downFree);
      n.downFree = back;
      const inc = n.incarnation;
      q.push(back, () => {
        if (n.partitioned) {
          breakStream();
          return;
        }
        if (n.incarnation === inc && n.gen === gen && !n.broken)
          enqueue(n, () => feed(n, { type: 'renewed', leaseId, gen, ttlUs: ttl }));
      });
    });
  }

  // ---- disturbances ----
  const at = (t: number, f: () => void): void => {
    if (t < endUs) q.push(t, f);
  };
  for (const n of nodes) {
    // VRRP abstracted: each node wants MASTER or not, toggling; while it wants, its down timer re-fires.
    let wants = r() < 0.85;
    const toggle = (): void => {
      wants = !wants;
      if (n.state !== 'dead')
        enqueue(n, () => feed(n, wants ? { type: 'want' } : { type: 'unwant', why: 'left MASTER' }));
      at(now + uni(r, 300_000, 8_000_000), toggle);
    };
    const again = (): void => {
      if (wants && n.state !== 'dead') enqueue(n, () => feed(n, { type: 'want' }));
      at(now + uni(r, 200_000, 1_200_000), again);
    };
    at(uni(r, 0, 300_000), () => {
      if (wants) feed(n, { type: 'want' });
      at(now + uni(r, 300_000, 8_000_000), toggle);
      at(now + 500_000, again);
    });
    for (let t = uni(r, 0, 3_000_000); t < endUs; t += uni(r, 500_000, 6_000_000)) {
      const kind = uni(r, 0, fsOn ? 11 : 9);
      const len = uni(r, 50_000, 2 * ttlUs + 2_000_000);
      if (kind <= 3) {
        at(t, () => {
          n.partitioned = true;
          log(`${n.name}: cut from etcd`);
        });
        at(t + len, () => {
          n.partitioned = false;
          log(`${n.name}: reaches etcd`);
        });
      } else if (kind <= 5 && freezes) {
        at(t, () => pause(n));
        at(t + len, () => resume(n));
      } else if (kind === 6 && freezes) {
        at(t, () => crash(n));
        at(t + len, () => restart(n));
      } else if (kind >= 10) {
        at(t, () => {
          n.peerCut = true;
          log(`${n.name}: cut from its peers`);
        });
        at(t + len, () => {
          n.peerCut = false;
          log(`${n.name}: reaches its peers`);
        });
      }
    }
  }
  for (const n of nodes) {
    if (!watchOutages) break;
    for (let t = uni(rw, 0, 3_000_000); t < endUs; t += uni(rw, 1_000_000, 6_000_000)) {
      const len = uni(rw, 200_000, 2 * ttlUs + 2_000_000);
      at(t, () => {
        n.watchDownUntil = Math.max(n.watchDownUntil, now + len);
        log(`${n.name}: watch away for ${len / 1000} ms`);
      });
    }
  }
  for (let t = uni(r, 0, 6_000_000); t < endUs; t += uni(r, 2_000_000, 10_000_000)) {
    const gap = uni(r, electionUs, uni(r, 0, 3) === 0 ? 3 * ttlUs + 2_000_000 : 2 * electionUs);
    at(t, () => {
      leaderFrom = now + gap;
      log('etcd: leader lost');
    });
    at(t + gap, () => {
      for (const l of leases.values()) l.expiry = now + electionUs + l.ttlUs;
      log('etcd: new leader, leases extended');
    });
  }
  function pause(n: Node): void {
    if (n.state === 'up') {
      n.state = 'paused';
      log(`${n.name}: SIGSTOP`);
    }
  }
  function resume(n: Node): void {
    if (n.state !== 'paused') return;
    n.state = 'up';
    log(`${n.name}: SIGCONT`);
    const b = n.buffer.splice(0);
    for (const f of b) f();
    feed(n, { type: 'timer' });
  }
  function crash(n: Node): void {
    if (n.state === 'dead') return;
    n.state = 'dead';
    n.buffer.length = 0;
    n.incarnation++;
    log(`${n.name}: SIGKILL`);
  }
  function restart(n: Node): void {
    if (n.state !== 'dead') return;
    n.state = 'up';
    n.m = machine(nodes.indexOf(n), local(n));
    n.wake = -1;
    n.gen = 0;
    log(`${n.name}: restarted`);
    net(n, () => {
      n.vip = false;
    }); // start-up removes stale VIPs first (the FSM's INIT → BACKUP)
    feed(n, { type: 'want' });
  }

  for (let e = q.pop(); e && e.t < endUs; e = q.pop()) {
    now = e.t;
    e.f();
  }
  const counts = { holds, takeovers, fences, events, failsafeHolds, spuriousFences, replayed };
  return { seed, violations, ...counts, ...(trace ? { trace } : {}) };
}
