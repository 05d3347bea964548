/**
 * Watches interfaces and addresses so the runtime can react to a cable pull or a VIP
 * deleted behind its back (or expired by its lifetime).
 *
 * With the addon: an rtnetlink subscription (link-sources.ts) delivers link up/down and
 * address deletions as the kernel makes them; nothing is polled. An overrun (ENOBUFS: events
 * were lost) triggers a resync: every watched link re-read and every watched address
 * re-listed. Link state is read by RTM_GETLINK on the request socket opened at start.
 * Without the addon (fallback): one long-running `ip -o monitor link address` child, link
 * state from /sys/class/net/IF/{flags,carrier}, polled as a safety net every `linkPollUs`
 * (1 s) while the monitor runs and every `fallbackLinkPollUs` (100 ms) while it does not;
 * addresses re-listed every `addressPollUs` (30 s) / `fallbackPollUs` (2 s). A monitor that
 * exits is restarted after a short delay, and a reconcile follows each restart.
 * Up = IFF_UP and carrier (IFF_LOWER_UP), as keepalived judges an interface. A reading that
 * failed ('unknown', e.g. EMFILE) changes nothing: unknown is never "down".
 */
import { type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createInterface } from 'node:readline';
import { listAddresses } from './addresses.js';
import { ipv6Bytes } from './frames.js';
import { defaultIp, type IpRunner } from './iproute.js';
import {
  kernelIndex,
  kernelLinkState,
  netlinkSubscribe,
  parseMonitorLine,
  spawnIpMonitor,
  sysfsLinkState,
  type LinkState,
  type Subscribe,
  type Subscription,
} from './link-sources.js';
import type { HandleError } from '../native/addon.js';
import { expiredByLifetime, type RtnlMsg } from './rtnl-parse.js';
import { checkIfname, familyOf } from './validate.js';
import { realClock, type Clock, type TimerHandle } from '../util/clock.js';

/** After `ip monitor` exits: wait this long (µs), then restart it and catch up. */
const MONITOR_RESTART_US = 1_000_000;
import { stripZone } from '../util/ip.js';

export { parseMonitorLine, sysfsLinkState, type LinkState };

export interface LinkEvent {
  ifname: string;
  up: boolean;
  /** False when the interface does not exist (any more). */
  exists: boolean;
}

export interface AddressEvent {
  ifname: string;
  address: string;
  /** The kernel removed it at the end of its valid lifetime (not someone's `ip addr del`). */
  expired?: boolean;
}

export interface LinkWatchDeps {
  /** The link's state; booleans are accepted from old fakes (undefined = absent). */
  readLink(ifname: string): LinkState | boolean | undefined;
  /** Fallback: starts the address monitor; lines are `ip -o monitor address` output. */
  spawnMonitor(): ChildProcess | undefined;
  /** Fallback: the runner for address re-lists. */
  run: IpRunner;
  /** Kernel events; undefined (or returning undefined) = the `ip monitor` fallback. */
  subscribe?: Subscribe;
  /** The interface's index, to match address events (netlink mode). */
  indexOf?(ifname: string): number | undefined;
}

export interface LinkWatchOptions {
  /** Fallback: link poll period (µs, like every period here) while the monitor runs (default 1 s). */
  linkPollUs?: number;
  /** Fallback: link poll period while no monitor runs (default 100 ms). */
  fallbackLinkPollUs?: number;
  /** Fallback: reconcile period while the monitor runs (default 30 s). */
  addressPollUs?: number;
  /** Fallback: reconcile period while no monitor runs (default 2 s). */
  fallbackPollUs?: number;
  /**
   * Replaces the kernel: with `deps` given, only the sources named there are used (no
   * netlink subscription unless `subscribe` is passed); without, netlink when the addon loads.
   */
  deps?: Partial<LinkWatchDeps>;
  /** The daemon's clock (default: the real one). */
  clock?: Clock;
}

function addrKey(ifname: string, address: string): string {
  const a = stripZone(address);
  return `${ifname} ${familyOf(a) === 6 ? ipv6Bytes(a).toString('hex') : a}`;
}

function normState(s: LinkState | boolean | undefined): LinkState {
  return s === true ? 'up' : s === false ? 'down' : s === undefined ? 'absent' : s;
}

export class LinkWatch extends EventEmitter {
  private readonly deps: LinkWatchDeps;
  private readonly links = new Map<string, boolean | undefined>(); // ifname → last up (undefined = not yet read)
  private readonly watched = new Map<string, AddressEvent>(); // key → addr; present = believed present
  /** Safety-net polls: slow while the monitor reports events, fast while there is none. */
  private readonly polls = [
    this.poller(
      () => this.pollLinks(),
      () => (this.monitor ? (this.opts.linkPollUs ?? 1_000_000) : (this.opts.fallbackLinkPollUs ?? 100_000)),
    ),
    this.poller(
      () => this.reconcileAddresses(),
      () => (this.monitor ? (this.opts.addressPollUs ?? 30_000_000) : (this.opts.fallbackPollUs ?? 2_000_000)),
    ),
  ];
  private restartTimer: TimerHandle | undefined;
  private monitor: ChildProcess | undefined;
  private sub: Subscription | undefined;
  private stopped = true;

  constructor(private readonly opts: LinkWatchOptions = {}) {
    super();
    const fake = opts.deps !== undefined;
    const subscribe = opts.deps?.subscribe ?? (fake ? undefined : netlinkSubscribe);
    this.deps = {
      readLink: opts.deps?.readLink ?? (fake ? sysfsLinkState : kernelLinkState),
      spawnMonitor: opts.deps?.spawnMonitor ?? spawnIpMonitor,
      run: opts.deps?.run ?? defaultIp,
      ...(subscribe ? { subscribe } : {}),
      indexOf: opts.deps?.indexOf ?? (fake ? () => undefined : kernelIndex),
    };
  }

  /** Where events come from now: 'netlink', 'ip-monitor', or 'poll' (neither). */
  source(): 'netlink' | 'ip-monitor' | 'poll' {
    return this.sub ? 'netlink' : this.monitor ? 'ip-monitor' : 'poll';
  }

  private clock(): Clock {
    return this.opts.clock ?? realClock;
  }

  /** Current state: true/false, undefined if the interface does not exist or cannot be read now. */
  linkUp(ifname: string): boolean | undefined {
    const s = this.linkState(ifname);
    return s === 'up' ? true : s === 'down' ? false : undefined;
  }

  linkState(ifname: string): LinkState {
    return normState(this.deps.readLink(ifname));
  }

  /** Emits 'link' whenever `ifname` changes state (first reading included). */
  watchLink(ifname: string): void {
    checkIfname(ifname);
    if (!this.links.has(ifname)) this.links.set(ifname, undefined);
    this.pollLinks();
  }

  unwatchLink(ifname: string): void {
    this.links.delete(ifname);
  }

  /** Emits 'address-removed' if `address` disappears from `ifname`. Unwatch before removing it yourself. */
  watchAddress(ifname: string, address: string): void {
    checkIfname(ifname);
    this.watched.set(addrKey(ifname, address), { ifname, address: stripZone(address) });
  }

  unwatchAddress(ifname: string, address: string): void {
    this.watched.delete(addrKey(ifname, address));
  }

  start(): this {
    if (!this.stopped) return this;
    this.stopped = false;
    try {
      this.sub = this.deps.subscribe?.(
        (m) => this.handleKernel(m),
        (e) => this.kernelError(e),
      );
    } catch {
      this.sub = undefined; // e.g. EMFILE at start: the fallback still works
    }
    if (!this.sub) this.startMonitor();
    this.pollLinks();
    return this;
  }

  stop(): void {
    this.stopped = true;
    for (const p of this.polls) p.stop();
    if (this.restartTimer) this.clock().cancel(this.restartTimer);
    this.sub?.close();
    this.sub = undefined;
    this.monitor?.kill();
    this.monitor = undefined;
  }

  /** Feeds kernel messages (netlink mode; public for tests). */
  handleKernel(msgs: RtnlMsg[]): void {
    for (const m of msgs) {
      if (m.kind === 'link') {
        if (m.ifname === undefined || !this.links.has(m.ifname)) continue;
        this.setLink(m.ifname, m.deleted ? 'absent' : m.up ? 'up' : 'down');
      } else if (m.kind === 'addr' && m.deleted) {
        for (const [k, w] of this.watched) {
          if (addrKey(w.ifname, m.address) !== k) continue;
          const idx = this.deps.indexOf?.(w.ifname);
          if (idx !== undefined && idx !== m.index) continue;
          this.removed(k, expiredByLifetime(m));
        }
      }
    }
  }

  /** An overrun lost events: read everything watched again. A dead subscription: fall back. */
  private kernelError(e: HandleError): void {
    if (this.stopped) return;
    this.emit('resync', { code: String(e.code ?? 'EIO'), fatal: e.fatal === true });
    if (e.fatal) {
      this.sub?.close();
      this.sub = undefined;
      this.startMonitor();
    }
    this.pollLinks();
    void this.reconcileAddresses();
  }

  /** One link poll (public for tests with a fake readLink). */
  pollLinks(): void {
    for (const ifname of this.links.keys()) this.setLink(ifname, this.linkState(ifname));
  }

  private setLink(ifname: string, state: LinkState): void {
    if (state === 'unknown') return; // a failed read says nothing about the link
    const up = state === 'up';
    if (this.links.get(ifname) === up) return;
    this.links.set(ifname, up);
    const ev: LinkEvent = { ifname, up, exists: state !== 'absent' };
    this.emit('link', ev);
  }

  /** Re-lists watched interfaces and reports watched addresses that are gone. */
  async reconcileAddresses(): Promise<void> {
    const ifnames = new Set([...this.watched.values()].map((w) => w.ifname));
    for (const ifname of ifnames) {
      let present: Set<string>;
      try {
        const list = await listAddresses(ifname, this.sub ? undefined : this.deps.run);
        present = new Set(list.map((a) => addrKey(ifname, a.address)));
      } catch (e) {
        // interface gone: every watched address on it is gone too; any other failure: unknown
        const gone = /not found|ENODEV|does not exist/i.test(
          `${(e as Error).message} ${String((e as NodeJS.ErrnoException).code)}`,
        );
        if (!gone) continue;
        present = new Set();
      }
      for (const [k, w] of this.watched) if (w.ifname === ifname && !present.has(k)) this.removed(k);
    }
  }

  /** Feeds one monitor line (exported for tests). */
  handleMonitorLine(line: string): void {
    // A link line (`IDX: IF[@PEER]: <FLAGS> …`): re-read the watched links now.
    if (/^(?:Deleted\s+)?\d+:\s+\S+:\s+</.test(line.trim())) {
      this.pollLinks();
      return;
    }
    const p = parseMonitorLine(line);
    if (!p?.deleted) return;
    const k = addrKey(p.ifname, p.address);
    if (this.watched.has(k)) this.removed(k);
  }

  private removed(k: string, expired = false): void {
    const w = this.watched.get(k);
    if (!w) return;
    this.watched.delete(k); // report once; the runtime re-watches after re-adding
    this.emit('address-removed', expired ? { ...w, expired } : w);
  }

  /** A timer that runs `fn`, then re-arms with the period `periodUs()` gives at that moment. */
  private poller(fn: () => void | Promise<void>, periodUs: () => number): { rearm(): void; stop(): void } {
    let timer: TimerHandle | undefined;
    const clear = (): void => {
      if (timer) this.clock().cancel(timer);
      timer = undefined;
    };
    const rearm = (): void => {
      clear();
      if (this.stopped) return;
      const c = this.clock();
      timer = c.at(c.nowUs() + periodUs(), () => void Promise.resolve(fn()).finally(rearm), { weak: true });
    };
    return { rearm, stop: clear };
  }

  private rearmPolls(): void {
    for (const p of this.polls) p.rearm();
  }

  private startMonitor(): void {
    if (this.stopped || this.sub) return;
    let child: ChildProcess | undefined;
    try {
      child = this.deps.spawnMonitor();
    } catch {
      child = undefined;
    }
    this.monitor = child;
    this.rearmPolls();
    if (!child) return; // reconcile polling covers addresses
    child.on('error', () => undefined);
    if (child.stdout) createInterface({ input: child.stdout }).on('line', (l) => this.handleMonitorLine(l));
    child.on('exit', () => {
      if (this.monitor !== child || this.stopped || this.sub) return;
      this.monitor = undefined;
      this.rearmPolls();
      // After a restart, catch up on what happened while no one listened.
      this.restartTimer = this.clock().at(this.clock().nowUs() + MONITOR_RESTART_US, () => {
        this.startMonitor();
        this.pollLinks();
        void this.reconcileAddresses();
      });
    });
  }
}

export interface LinkWatch {
  on(ev: 'link', fn: (e: LinkEvent) => void): this;
  on(ev: 'address-removed', fn: (e: AddressEvent) => void): this;
  /** Kernel events were lost (ENOBUFS) or the subscription died (fatal): everything is re-read. */
  on(ev: 'resync', fn: (e: { code: string; fatal: boolean }) => void): this;
}
