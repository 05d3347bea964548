/**
 * A simulated pair for issue 13: two nodes, each a real Reconciler, a VRRP model good enough
 * for partitions (adverts every second from a MASTER; a BACKUP that hears none for 3 s becomes
 * MASTER; a MASTER hearing a higher priority steps down and, as floatd makes it for instances
 * with a peered floating_ip, sends one advert first; a MASTER hearing a lower priority answers
 * at once), and one provider register whose assigns land after an action delay. Virtual time
 * in ms; every holder change is recorded.
 */
import {
  DEFAULT_RECONCILER,
  Reconciler,
  type ReconcilerAction,
  type ReconcilerSettings,
} from '../../../src/cloud/reconciler.js';

type Ev = { at: number; seq: number; fn: () => void };

export interface SimNodeSpec {
  id: string;
  priority: number;
  phaseMs: number;
}

export interface SimOptions {
  latencyMs: number;
  actionMs: number;
  settings?: Partial<ReconcilerSettings>;
  random?: () => number;
  /** Peers known to the reconcilers (default: both ids). */
  peers?: string[];
}

class SimNode {
  state: 'MASTER' | 'BACKUP' | 'FAULT' | 'DEAD' = 'BACKUP';
  lastRxMs = 0;
  timer: number | undefined;
  constructor(
    readonly spec: SimNodeSpec,
    readonly rec: Reconciler,
  ) {}
}

export class PairSim {
  now = 0;
  holder: string | null;
  link = true;
  readonly changes: { at: number; from: string | null; to: string | null }[] = [];
  readonly assigns: { at: number; by: string }[] = [];
  readonly nodes: SimNode[];
  readonly logs: { at: number; node: string; event: string; msg: string; code?: string }[] = [];
  private q: Ev[] = [];
  private seq = 0;

  constructor(
    specs: SimNodeSpec[],
    initialHolder: string | null,
    private readonly o: SimOptions,
  ) {
    this.holder = initialHolder;
    const peers = o.peers ?? specs.map((s) => s.id);
    this.nodes = specs.map(
      (s) =>
        new SimNode(s, new Reconciler({ ...DEFAULT_RECONCILER, peers, ...o.settings }, o.random ?? (() => 0.5), s.id)),
    );
    for (const n of this.nodes) this.tick(n);
  }

  node(id: string): SimNode {
    return this.nodes.find((n) => n.spec.id === id)!;
  }

  /** Runs the highest priority node as MASTER from the start (as after a normal boot). */
  start(masterId: string): void {
    const m = this.node(masterId);
    m.state = 'MASTER';
    this.feed(m, { type: 'desire', want: 'hold', reason: 'sim start' });
    for (const n of this.nodes)
      if (n !== m) {
        n.lastRxMs = this.now;
        this.feed(n, { type: 'desire', want: 'release', reason: 'sim start' });
      }
  }

  at(ms: number, fn: () => void): void {
    this.q.push({ at: ms, seq: this.seq++, fn });
  }

  run(untilMs: number): void {
    for (let guard = 0; guard < 2_000_000; guard++) {
      let best = -1;
      for (let i = 0; i < this.q.length; i++) {
        const e = this.q[i]!;
        const b = this.q[best];
        if (b === undefined || e.at < b.at || (e.at === b.at && e.seq < b.seq)) best = i;
      }
      const e = this.q[best];
      if (e === undefined || e.at > untilMs) {
        this.now = untilMs;
        return;
      }
      this.q.splice(best, 1);
      this.now = e.at;
      e.fn();
    }
    throw new Error('simulation did not settle');
  }

  /** Forces a node's VRRP state (FAULT and back, crash). */
  setState(id: string, state: SimNode['state']): void {
    const n = this.node(id);
    const was = n.state;
    n.state = state;
    if (state === 'MASTER') this.feed(n, { type: 'desire', want: 'hold', reason: 'sim' });
    else if (was === 'MASTER' || state === 'DEAD')
      this.feed(n, { type: 'desire', want: state === 'DEAD' ? 'idle' : 'release', reason: 'sim' });
    if (state === 'BACKUP') n.lastRxMs = this.now;
  }

  private other(n: SimNode): SimNode | undefined {
    return this.nodes.find((x) => x !== n);
  }

  /** One advert from `from` (if it gets through). */
  private advert(from: SimNode): void {
    const to = this.other(from);
    if (!to || !this.link || to.state === 'DEAD') return;
    this.feed(to, { type: 'heard' });
    to.lastRxMs = this.now;
    if (to.state === 'MASTER') {
      if (from.spec.priority > to.spec.priority) {
        to.state = 'BACKUP';
        this.advert(to); // higher_prio_send_advert
        this.feed(to, { type: 'desire', want: 'release', reason: 'higher priority advert' });
      } else this.advert(to); // forcing a new election
    } else if (to.state === 'BACKUP' && from.spec.priority < to.spec.priority) {
      this.setState(to.spec.id, 'MASTER'); // preempt
      this.advert(to);
    }
  }

  /** Each node's 1 s tick: a MASTER sends its advert, a BACKUP checks its down timer. */
  private tick(n: SimNode): void {
    const next = Math.floor((this.now - n.spec.phaseMs) / 1000) * 1000 + 1000 + n.spec.phaseMs;
    this.at(next, () => {
      if (n.state === 'MASTER') this.advert(n);
      else if (n.state === 'BACKUP' && this.now - n.lastRxMs >= 3000) {
        this.setState(n.spec.id, 'MASTER');
        this.advert(n);
      }
      this.tick(n);
    });
  }

  private feed(n: SimNode, ev: Parameters<Reconciler['step']>[1]): void {
    if (n.state === 'DEAD' && ev.type !== 'desire') return;
    this.apply(n, n.rec.step(this.now * 1000, ev));
  }

  private apply(n: SimNode, actions: ReconcilerAction[]): void {
    for (const a of actions) {
      if (a.type === 'log')
        this.logs.push({
          at: this.now,
          node: n.spec.id,
          event: a.event,
          msg: a.msg,
          ...(a.code ? { code: a.code } : {}),
        });
      else if (a.type === 'clearTimer') n.timer = undefined;
      else if (a.type === 'setTimer') {
        const token = (n.timer = this.seq);
        this.at(a.at / 1000, () => {
          if (n.timer === token) {
            n.timer = undefined;
            this.feed(n, { type: 'timer' });
          }
        });
      } else if (a.type === 'call') this.call(n, a);
    }
  }

  private call(n: SimNode, a: Extract<ReconcilerAction, { type: 'call' }>): void {
    const answer = (value?: string | null): void => {
      this.feed(n, { type: 'result', gen: a.gen, op: a.op, ok: true, value });
    };
    if (a.op === 'holder') this.at(this.now + this.o.latencyMs, () => answer(this.holder));
    else if (a.op === 'whoami') this.at(this.now + this.o.latencyMs, () => answer(n.spec.id));
    else {
      this.assigns.push({ at: this.now, by: n.spec.id });
      const target = a.self ?? null;
      this.at(this.now + this.o.actionMs, () => {
        if (this.holder !== target) {
          this.changes.push({ at: this.now, from: this.holder, to: target });
          this.holder = target;
        }
      });
      this.at(this.now + this.o.actionMs + this.o.latencyMs, () => answer());
    }
  }

  changesBetween(fromMs: number, toMs: number): number {
    return this.changes.filter((c) => c.at >= fromMs && c.at < toMs).length;
  }
}
