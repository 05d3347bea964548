/**
 * A virtual-time world of VRRP nodes (real VrrpNode/VrrpInstance code) joined by a simulated
 * network. Used by the golden scenario runner and by the randomized simulator. Time is in
 * integer microseconds; events at equal times run in scheduling order, so runs are exact
 * replays.
 */
import { VrrpNode, type NodeAction } from '../../src/vrrp/node.js';
import type { Event, InstanceParams, TimerName, VrrpState } from '../../src/vrrp/fsm.js';
import type { SyncGroupParams } from '../../src/vrrp/sync-group.js';

export interface NodeSpec {
  name: string;
  instances: InstanceParams[];
  groups?: SyncGroupParams[];
}

export interface TransitionRecord {
  at: number;
  node: string;
  /** Instance name, or `group:<name>` for a sync group. */
  instance: string;
  from: VrrpState;
  to: VrrpState;
  kind: string;
  text: string;
}

export interface ActionRecord {
  at: number;
  node: string;
  instance: string;
  action: NodeAction['action'];
}

/** One-way delay for a packet from → to at `now`, or undefined to drop it. */
export type LinkModel = (from: string, to: string, now: number) => number | undefined;

interface QItem {
  at: number;
  seq: number;
  run: () => void;
}

class Heap {
  private a: QItem[] = [];
  get size(): number {
    return this.a.length;
  }
  peek(): QItem | undefined {
    return this.a[0];
  }
  private less(i: number, j: number): boolean {
    const x = this.a[i]!,
      y = this.a[j]!;
    return x.at < y.at || (x.at === y.at && x.seq < y.seq);
  }
  private swap(i: number, j: number): void {
    const t = this.a[i]!;
    this.a[i] = this.a[j]!;
    this.a[j] = t;
  }
  push(it: QItem): void {
    this.a.push(it);
    let i = this.a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }
  pop(): QItem | undefined {
    const top = this.a[0];
    const last = this.a.pop();
    if (this.a.length > 0 && last) {
      this.a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1,
          r = l + 1;
        let m = i;
        if (l < this.a.length && this.less(l, m)) m = l;
        if (r < this.a.length && this.less(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
}

interface LiveNode {
  spec: NodeSpec;
  vrrp: VrrpNode | undefined; // undefined while crashed
  incarnation: number;
  vips: Map<string, boolean>; // instance -> holds its VIPs
  timerGen: Map<string, number>;
}

export class World {
  now = 0;
  private seq = 0;
  private readonly q = new Heap();
  private readonly nodes = new Map<string, LiveNode>();
  readonly transitions: TransitionRecord[] = [];
  readonly actions: ActionRecord[] = [];
  /** Called after every node step (for invariants). */
  onStep: ((w: World, node: string) => void) | undefined;
  recordActions = false;
  /** How long the dataplane takes to report vipsReady after reportVipsReady. */
  vipsReadyDelayUs = 0;
  /** Every timer fires this late (timer lateness compensation scenarios). */
  timerLateUs = 0;

  constructor(public link: LinkModel) {}

  addNode(spec: NodeSpec): void {
    this.nodes.set(spec.name, {
      spec,
      vrrp: new VrrpNode(spec.instances, spec.groups ?? []),
      incarnation: 0,
      vips: new Map(),
      timerGen: new Map(),
    });
  }

  nodeNames(): string[] {
    return [...this.nodes.keys()];
  }
  node(name: string): VrrpNode | undefined {
    return this.nodes.get(name)?.vrrp;
  }
  isUp(name: string): boolean {
    return this.nodes.get(name)?.vrrp !== undefined;
  }
  holdsVip(node: string, instance: string): boolean {
    return this.nodes.get(node)?.vips.get(instance) === true;
  }
  spec(name: string): NodeSpec | undefined {
    return this.nodes.get(name)?.spec;
  }

  at(t: number, run: () => void): void {
    this.q.push({ at: Math.max(t, this.now), seq: this.seq++, run });
  }

  /** Feed an event to a node (all its instances if `instance` is omitted). */
  inject(node: string, event: Event, instance?: string): void {
    const n = this.nodes.get(node);
    if (!n?.vrrp) return;
    this.apply(n, n.vrrp.step(this.now, event, instance));
  }

  /** Host crash: the process and its VIPs vanish, nothing is sent. */
  crash(node: string): void {
    const n = this.nodes.get(node);
    if (!n?.vrrp) return;
    n.vrrp = undefined;
    n.incarnation++;
    n.vips.clear();
    this.onStep?.(this, node);
  }

  /** Boot a crashed (or replace a stopped) node with fresh state and start it. */
  restart(node: string, spec?: NodeSpec): void {
    const n = this.nodes.get(node);
    if (!n) return;
    if (spec) n.spec = spec;
    n.incarnation++;
    n.vrrp = new VrrpNode(n.spec.instances, n.spec.groups ?? []);
    this.inject(node, { type: 'start' });
  }

  runUntil(t: number): void {
    for (;;) {
      const top = this.q.peek();
      if (!top || top.at > t) break;
      this.q.pop();
      this.now = top.at;
      top.run();
    }
    this.now = Math.max(this.now, t);
  }

  private apply(n: LiveNode, out: NodeAction[]): void {
    const name = n.spec.name;
    for (const na of out) {
      const a = na.action;
      const inst = 'instance' in na ? na.instance : `group:${na.group}`;
      if (this.recordActions) this.actions.push({ at: this.now, node: name, instance: inst, action: a });
      switch (a.type) {
        case 'transition':
          this.transitions.push({
            at: this.now,
            node: name,
            instance: inst,
            from: a.from,
            to: a.to,
            kind: a.reason.kind,
            text: a.reason.text,
          });
          break;
        case 'addVips':
          n.vips.set(inst, true);
          break;
        case 'removeVips':
          n.vips.set(inst, false);
          break;
        case 'setTimer':
          this.armTimer(n, inst, a.timer, a.at);
          break;
        case 'cancelTimer':
          this.bumpGen(n, inst, a.timer);
          break;
        case 'sendAdvert':
          this.broadcast(n, inst, a.priority);
          break;
        case 'reportVipsReady':
          this.vipsReady(n, inst);
          break;
        default:
          break;
      }
    }
    this.onStep?.(this, name);
  }

  private vipsReady(n: LiveNode, inst: string): void {
    const inc = n.incarnation;
    this.at(this.now + this.vipsReadyDelayUs, () => {
      if (n.incarnation !== inc || !n.vrrp) return;
      this.apply(n, n.vrrp.step(this.now, { type: 'vipsReady' }, inst));
    });
  }

  private bumpGen(n: LiveNode, inst: string, timer: TimerName): number {
    const key = `${inst}\0${timer}`;
    const g = (n.timerGen.get(key) ?? 0) + 1;
    n.timerGen.set(key, g);
    return g;
  }

  private armTimer(n: LiveNode, inst: string, timer: TimerName, at: number): void {
    const gen = this.bumpGen(n, inst, timer);
    const inc = n.incarnation;
    const key = `${inst}\0${timer}`;
    this.at(at + this.timerLateUs, () => {
      if (n.incarnation !== inc || n.timerGen.get(key) !== gen || !n.vrrp) return;
      this.apply(n, n.vrrp.step(this.now, { type: 'timer', timer }, inst));
    });
  }

  private broadcast(src: LiveNode, instName: string, priority: number): void {
    const inst = src.vrrp?.instance(instName);
    if (!inst) return;
    const p = inst.params;
    for (const dst of this.nodes.values()) {
      if (dst === src) continue;
      const delay = this.link(src.spec.name, dst.spec.name, this.now);
      if (delay === undefined) continue;
      const ev: Event = { type: 'advert', from: p.myAddress, priority, advertIntervalCs: p.advertIntervalCs };
      this.at(this.now + delay, () => {
        if (!dst.vrrp) return; // host down: lost
        const targets = dst.spec.instances.filter(
          (i) => i.vrid === p.vrid && i.family === p.family && i.version === p.version,
        );
        for (const t of targets) {
          // v2 receivers drop a mismatched interval (digest §1.6 check i).
          if (p.version === 2 && t.advertIntervalCs !== p.advertIntervalCs) continue;
          this.apply(dst, dst.vrrp.step(this.now, ev, t.name));
        }
      });
    }
  }
}
