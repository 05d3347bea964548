/**
 * Quorum mode's hooks into the runtime (docs/quorum.md): the lease machine's answers become
 * `lease` events of the VRRP state machine (which decides: MASTER now, stay BACKUP with
 * quorum_denied, or resign with quorum_lost); status shows the epoch and the denial.
 * The lease logic itself is src/quorum's.
 */
import type { FloatdConfig } from '../config/index.js';
import type { QuorumConfig } from '../config/model.js';
import type { LeaseBackend } from '../quorum/etcd.js';
import { QuorumWiring } from '../quorum/wiring.js';
import { sharedFenceGuard } from '../quorum/fence-guard.js';
import { realClock, type Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { Event } from '../vrrp/fsm.js';
import type { CloudIps } from './cloud-ips.js';
import type { Executor, InstanceRuntime } from './executor.js';
import type { DataplanePort } from './ports.js';
import { vipSpecs } from './mapping.js';

export interface QuorumBridge {
  clock(): Clock;
  log(): Logger;
  instance(name: string): InstanceRuntime | undefined;
  exec(): Executor;
  /** The kernel side (the simulator's in-memory one in tests): lifetime refreshes go through it. */
  dataplane(): DataplanePort;
  cloud(): CloudIps | undefined;
  step(name: string, ev: Event): void;
  /** Test hook: the lease store (the simulator's in-memory etcd); default: etcd. */
  backendFor?: (q: QuorumConfig) => LeaseBackend;
}

export function buildQuorum(cfg: FloatdConfig, b: QuorumBridge): QuorumWiring | undefined {
  const w = new QuorumWiring(cfg, {
    clock: b.clock(),
    log: b.log(),
    ...(b.backendFor ? { backendFor: b.backendFor } : {}),
    // The guard's deadlines are CLOCK_MONOTONIC: only the real clock is on it (the simulator has none).
    guardFor: () => (b.clock() === realClock ? sharedFenceGuard(b.clock(), b.log()) : undefined),
    hooks: {
      lease: (name, status, text, untilUs) => {
        if (status !== 'denied') b.cloud()?.permitChanged();
        const extra = { ...(text !== undefined ? { text } : {}), ...(untilUs !== undefined ? { untilUs } : {}) };
        b.step(name, { type: 'lease', status, ...extra });
      },
      vipSpecs: (name) => {
        const rt = b.instance(name);
        return rt ? vipSpecs(rt.cfg, b.cloud()?.localVips(name)) : [];
      },
      vipsUp: (name) => b.instance(name)?.vipsUp === true,
      refreshLifetime: (spec, seconds) => b.dataplane().refreshLifetime(spec, seconds),
      enqueue: (job) => b.exec().enqueue(job),
    },
  });
  return w.size > 0 ? w : undefined;
}

/** Status fields of an instance in quorum mode: the epoch held, and the FSM's denial. */
export function quorumFields(
  q: QuorumWiring | undefined,
  name: string,
  denied: string | undefined,
): { epoch?: number; quorumReason?: string } {
  const epoch = q?.epoch(name);
  const text = denied?.replace(/^\([^)]*\) stays BACKUP \(quorum_denied\): /, '');
  return { ...(epoch !== undefined ? { epoch } : {}), ...(text ? { quorumReason: `quorum_denied: ${text}` } : {}) };
}
