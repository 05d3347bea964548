/**
 * Quorum mode's hooks into the runtime (docs/quorum.md): fencing drops the VIPs and resigns,
 * a granted lease lets a denied down timer fire now, status shows the epoch and the denial.
 * The lease logic itself is src/quorum's.
 */
import type { FloatdConfig } from '../config/index.js';
import { QuorumWiring } from '../quorum/wiring.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { Event } from '../vrrp/fsm.js';
import type { VrrpNode } from '../vrrp/node.js';
import type { CloudIps } from './cloud-ips.js';
import type { Executor, InstanceRuntime } from './executor.js';
import { vipSpecs } from './mapping.js';

export interface QuorumBridge {
  clock(): Clock;
  log(): Logger;
  node(): VrrpNode;
  instance(name: string): InstanceRuntime | undefined;
  exec(): Executor;
  cloud(): CloudIps | undefined;
  step(name: string, ev: Event): void;
}

export function buildQuorum(cfg: FloatdConfig, b: QuorumBridge): QuorumWiring | undefined {
  const w = new QuorumWiring(cfg, {
    clock: b.clock(),
    log: b.log(),
    hooks: {
      fence: (name, text) => {
        const rt = b.instance(name);
        if (!rt) return;
        if (rt.vipsUp) b.exec().changeVips(rt, false);
        b.cloud()?.permitChanged();
        b.step(name, { type: 'handover', text });
      },
      granted: (name) => {
        granted(b, name);
        b.cloud()?.permitChanged();
      },
      vipSpecs: (name) => {
        const rt = b.instance(name);
        return rt ? vipSpecs(rt.cfg, b.cloud()?.localVips(name)) : [];
      },
      vipsUp: (name) => b.instance(name)?.vipsUp === true,
      enqueue: (job) => b.exec().enqueue(job),
    },
  });
  return w.size > 0 ? w : undefined;
}

/** The lease is held: an instance whose down timer was denied becomes MASTER now, not at its re-armed timer. */
function granted(b: QuorumBridge, name: string): void {
  const inst = b.node().instance(name);
  const rt = b.instance(name);
  const due = inst?.timers.get('masterDown');
  if (!inst || !rt || inst.state !== 'BACKUP' || inst.wantState !== 'MASTER' || due === undefined) return;
  const h = rt.timers.get('masterDown');
  if (h) {
    b.clock().cancel(h);
    rt.timers.delete('masterDown');
  }
  b.exec().run(b.node().step(Math.max(due, b.clock().nowUs()), { type: 'timer', timer: 'masterDown' }, name));
}

/** Status fields of an instance in quorum mode. */
export function quorumFields(q: QuorumWiring | undefined, name: string): { epoch?: number; quorumReason?: string } {
  const epoch = q?.epoch(name);
  const st = q?.status().find((x) => x.holder === (q.holder(name) ?? ''));
  const asking = st !== undefined && (st.phase === 'denied' || st.phase === 'unreachable' || st.phase === 'acquiring');
  const text = asking ? q?.deniedText(name) : undefined;
  return { ...(epoch !== undefined ? { epoch } : {}), ...(text ? { quorumReason: `quorum_denied: ${text}` } : {}) };
}
