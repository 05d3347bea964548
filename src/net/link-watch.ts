/**
 * Watches interfaces and addresses so the runtime can react to a cable pull or a VIP
 * deleted behind its back.
 *
 * One long-running `ip -o monitor link address` child reports link changes and address
 * deletions as the kernel announces them.
 * Link state: read from /sys/class/net/IF/{flags,carrier} on each link event, and polled as a
 * safety net every `linkPollMs` (1 s) while the monitor runs, every `fallbackLinkPollMs`
 * (100 ms) while it does not (ten wake-ups a second were most of an idle daemon's CPU). Up =
 * IFF_UP and carrier present (what IFF_RUNNING means; sysfs flags don't carry RUNNING), as
 * keepalived judges an interface.
 * Addresses: deletions come from the monitor. A
 * reconcile re-lists watched interfaces so a missed event still gets noticed: every
 * `addressPollMs` (30 s) while the monitor runs — each one spawns `ip`, the largest part of an
 * idle daemon's CPU at a 2 s period — and every `fallbackPollMs` (2 s) while there is none. A
 * monitor that exits is restarted after a short delay, and a reconcile follows each restart.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { listAddresses } from './addresses.js';
import { ipv6Bytes } from './frames.js';
import { defaultIp, type IpRunner } from './iproute.js';
import { checkIfname, familyOf, stripZone } from './validate.js';
import { afterMs, realClock, type Clock, type TimerHandle } from '../util/clock.js';

const IFF_UP = 0x1;

export interface LinkEvent {
  ifname: string;
  up: boolean;
  /** False when the interface does not exist (any more). */
  exists: boolean;
}

export interface AddressEvent {
  ifname: string;
  address: string;
}

export interface LinkWatchDeps {
  /** Admin up + carrier, or undefined if the interface doesn't exist. */
  readLink(ifname: string): boolean | undefined;
  /** Starts the address monitor; lines are `ip -o monitor address` output. */
  spawnMonitor(): ChildProcess | undefined;
  run: IpRunner;
}

export interface LinkWatchOptions {
  /** Link poll period while the monitor runs (default 1 s). */
  linkPollMs?: number;
  /** Link poll period while no monitor runs (default 100 ms). */
  fallbackLinkPollMs?: number;
  /** Reconcile period while the monitor runs (default 30 s). */
  addressPollMs?: number;
  /** Reconcile period while no monitor runs (default 2 s). */
  fallbackPollMs?: number;
  deps?: Partial<LinkWatchDeps>;
  /** The daemon's clock (default: the real one). */
  clock?: Clock;
}

function sysfsLink(ifname: string): boolean | undefined {
  let flags: number;
  try {
    flags = parseInt(readFileSync(`/sys/class/net/${ifname}/flags`, 'utf8').trim(), 16);
  } catch {
    return undefined;
  }
  if ((flags & IFF_UP) === 0) return false;
  try {
    return readFileSync(`/sys/class/net/${ifname}/carrier`, 'utf8').trim() === '1';
  } catch {
    return false; // EINVAL while the device is going down
  }
}

function spawnIpMonitor(): ChildProcess {
  return spawn('ip', ['-o', 'monitor', 'link', 'address'], { stdio: ['ignore', 'pipe', 'ignore'] });
}

function addrKey(ifname: string, address: string): string {
  const a = stripZone(address);
  return `${ifname} ${familyOf(a) === 6 ? ipv6Bytes(a).toString('hex') : a}`;
}

/** Parses one `ip -o monitor address` line: `[Deleted ]IDX: IF    inet[6] ADDR/PFX …`. */
export function parseMonitorLine(line: string): { deleted: boolean; ifname: string; address: string } | undefined {
  const m = /^(Deleted\s+)?\d+:\s+(\S+)\s+inet6?\s+([0-9a-fA-F:.]+)(?:\/\d+)?/.exec(line.trim());
  if (!m) return undefined;
  return { deleted: !!m[1], ifname: m[2]!, address: m[3]! };
}

export class LinkWatch extends EventEmitter {
  private readonly deps: LinkWatchDeps;
  private readonly links = new Map<string, boolean | undefined>(); // ifname → last up (undefined = not yet read)
  private readonly watched = new Map<string, AddressEvent>(); // key → addr; present = believed present
  /** Safety-net polls: slow while the monitor reports events, fast while there is none. */
  private readonly polls = [
    this.poller(() => this.pollLinks(), () => (this.monitor ? this.opts.linkPollMs ?? 1000 : this.opts.fallbackLinkPollMs ?? 100)),
    this.poller(() => this.reconcileAddresses(), () => (this.monitor ? this.opts.addressPollMs ?? 30_000 : this.opts.fallbackPollMs ?? 2000)),
  ];
  private restartTimer: TimerHandle | undefined;
  private monitor: ChildProcess | undefined;
  private stopped = true;

  constructor(private readonly opts: LinkWatchOptions = {}) {
    super();
    this.deps = {
      readLink: opts.deps?.readLink ?? sysfsLink,
      spawnMonitor: opts.deps?.spawnMonitor ?? spawnIpMonitor,
      run: opts.deps?.run ?? defaultIp,
    };
  }

  private clock(): Clock { return this.opts.clock ?? realClock; }

  /** Current state from sysfs (undefined if the interface does not exist). */
  linkUp(ifname: string): boolean | undefined {
    return this.deps.readLink(ifname);
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
    this.startMonitor();
    this.pollLinks();
    return this;
  }

  stop(): void {
    this.stopped = true;
    for (const p of this.polls) p.stop();
    if (this.restartTimer) this.clock().cancel(this.restartTimer);
    this.monitor?.kill();
    this.monitor = undefined;
  }

  /** One link poll (public for tests with a fake readLink). */
  pollLinks(): void {
    for (const [ifname, last] of this.links) {
      const state = this.deps.readLink(ifname);
      const up = state === true;
      if (last === up) continue;
      this.links.set(ifname, up);
      const ev: LinkEvent = { ifname, up, exists: state !== undefined };
      this.emit('link', ev);
    }
  }

  /** Re-lists watched interfaces and reports watched addresses that are gone. */
  async reconcileAddresses(): Promise<void> {
    const ifnames = new Set([...this.watched.values()].map((w) => w.ifname));
    for (const ifname of ifnames) {
      let present: Set<string>;
      try {
        present = new Set((await listAddresses(ifname, this.deps.run)).map((a) => addrKey(ifname, a.address)));
      } catch {
        present = new Set(); // interface gone: every watched address on it is gone too
      }
      for (const [k, w] of this.watched) if (w.ifname === ifname && !present.has(k)) this.removed(k);
    }
  }

  /** Feeds one monitor line (exported for tests). */
  handleMonitorLine(line: string): void {
    // A link line (`IDX: IF[@PEER]: <FLAGS> …`): re-read the watched links now.
    if (/^(?:Deleted\s+)?\d+:\s+\S+:\s+</.test(line.trim())) { this.pollLinks(); return; }
    const p = parseMonitorLine(line);
    if (!p?.deleted) return;
    const k = addrKey(p.ifname, p.address);
    if (this.watched.has(k)) this.removed(k);
  }

  private removed(k: string): void {
    const w = this.watched.get(k);
    if (!w) return;
    this.watched.delete(k); // report once; the runtime re-watches after re-adding
    this.emit('address-removed', w);
  }

  /** A timer that runs `fn`, then re-arms with the period `periodMs()` gives at that moment. */
  private poller(fn: () => void | Promise<void>, periodMs: () => number): { rearm(): void; stop(): void } {
    let timer: TimerHandle | undefined;
    const clear = (): void => { if (timer) this.clock().cancel(timer); timer = undefined; };
    const rearm = (): void => {
      clear();
      if (this.stopped) return;
      timer = afterMs(this.clock(), periodMs(), () => void Promise.resolve(fn()).finally(rearm), { weak: true });
    };
    return { rearm, stop: clear };
  }

  private rearmPolls(): void {
    for (const p of this.polls) p.rearm();
  }

  private startMonitor(): void {
    if (this.stopped) return;
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
      if (this.monitor !== child || this.stopped) return;
      this.monitor = undefined;
      this.rearmPolls();
      // After a restart, catch up on what happened while no one listened.
      this.restartTimer = afterMs(this.clock(), 1000, () => {
        this.startMonitor(); this.pollLinks(); void this.reconcileAddresses();
      });
    });
  }
}

export interface LinkWatch {
  on(ev: 'link', fn: (e: LinkEvent) => void): this;
  on(ev: 'address-removed', fn: (e: AddressEvent) => void): this;
}
