/**
 * An instance's shell side at build time: its runtime record, its advert source address, its
 * VRRP socket (a failure is a fault retried with backoff), a missing interface (a fault until
 * it appears), and who its scripts run as.
 */
import type { FloatdConfig, InstanceConfig } from '../config/index.js';
import { resolveUser } from '../track/users.js';
import type { ScriptIdentity } from '../track/types.js';
import type { Logger } from '../util/log.js';
import { withCode } from '../errors.js';
import type { InstanceRuntime } from './executor.js';
import { destinations, socketOptions } from './mapping.js';
import type { DataplanePort } from './ports.js';
import type { RuntimeFaults } from './runtime-faults.js';
import type { SocketPool } from './socket-pool.js';

/** The advert source: unicast_src_ip, else the interface's address of the family. */
export function sourceAddress(ic: InstanceConfig, info: { ipv4?: string; linkLocal6?: string } | undefined): string {
  return ic.unicastSrcIp ?? (ic.family === 4 ? info?.ipv4 : info?.linkLocal6) ?? (ic.family === 4 ? '0.0.0.0' : '::');
}

export function newInstanceRuntime(ic: InstanceConfig, src: string, since: string): InstanceRuntime {
  return {
    cfg: ic,
    src,
    dsts: destinations(ic),
    ipId: 0,
    timers: new Map(),
    vipsUp: false,
    since,
    lastReason: 'starting',
    peers: new Map(),
    counters: {
      advertsSent: 0,
      advertsReceived: 0,
      becameMaster: 0,
      releasedMaster: 0,
      priorityZeroSent: 0,
      priorityZeroReceived: 0,
      garpsSent: 0,
      dropped: {},
    },
  };
}

export interface InstanceSocketDeps {
  log: Logger;
  faults: RuntimeFaults;
  dataplane: DataplanePort;
  pool(): SocketPool;
  /** Still this runtime's instance and not stopping (a retry after a reload or stop does nothing). */
  live(rt: InstanceRuntime): boolean;
}

export class InstanceSockets {
  constructor(private readonly d: InstanceSocketDeps) {}

  /** Opens (or re-opens) an instance's socket; a failure is a fault, retried with backoff. */
  open(rt: InstanceRuntime): void {
    const ic = rt.cfg;
    try {
      rt.socket = this.d.pool().acquire(ic.name, socketOptions(ic, rt.src));
      this.d.faults.clear(ic.name, 'socket');
    } catch (e) {
      const msg = `cannot open VRRP socket on ${ic.interface}: ${(e as Error).message}`;
      this.d.log.error(
        { event: 'vrrp.socket_error', code: 'SOCKET_OPEN_FAILED', instance: ic.name, err: (e as Error).message },
        withCode('SOCKET_OPEN_FAILED', msg),
      );
      this.d.faults.set(ic.name, 'socket', msg, () => {
        if (this.d.live(rt)) this.open(rt);
      });
    }
  }

  /** A missing interface is a fault until it appears (link watch or the backoff retry). */
  missing(rt: InstanceRuntime): void {
    const ic = rt.cfg;
    this.d.log.error(
      { event: 'vrrp.interface_missing', code: 'INTERFACE_MISSING', instance: ic.name },
      withCode('INTERFACE_MISSING', `(${ic.name}) interface ${ic.interface} does not exist: FAULT until it appears`),
    );
    this.d.faults.set(ic.name, 'interface', `interface ${ic.interface} does not exist`, () => {
      void this.d.dataplane.interfaceInfo(ic.interface).then((info) => {
        if (!this.d.live(rt)) return;
        if (!info) {
          this.missing(rt);
          return;
        }
        this.d.faults.clear(ic.name, 'interface');
        if (!rt.socket) this.open(rt);
      });
    });
  }
}

/** global_defs script_user USER [GROUP]: who scripts and notify scripts run as. */
export function resolveScriptUser(cfg: FloatdConfig, log: Logger): ScriptIdentity | undefined {
  if (!cfg.global.scriptUser) return undefined;
  const r = resolveUser(cfg.global.scriptUser, cfg.global.scriptGroup);
  if (r.ok) return r.id;
  log.error(
    { event: 'track.script_user' },
    `script_user ${cfg.global.scriptUser}: ${r.error}; scripts run as floatd's own user`,
  );
  return undefined;
}
