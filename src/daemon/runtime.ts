/**
 * The runtime: wires the pure VrrpNode to the kernel. Adverts in (decode, validate, feed the
 * node), actions out (adverts, VIPs, GARP, notify, timers), trackers feeding priorities and
 * faults, and a status snapshot for the API. Every decision is the node's; this file only
 * executes and records.
 */
import { hostname } from 'node:os';
import { readFileSync } from 'node:fs';
import type { FloatdConfig, InstanceConfig } from '../config/index.js';
import type { WebhookDef } from '../config/model.js';
import type { WebhookConfig } from '../notify/webhook.js';
import { resolveUser } from '../track/users.js';
import { VrrpNode } from '../vrrp/node.js';
import type { Action, InstanceParams, TimerName, VrrpState } from '../vrrp/fsm.js';
import type { NodeAction } from '../vrrp/node.js';
import { encodeAdvert, buildIpv4Packet, parseIpv4Packet, decodeAdvert, type Advert } from '../vrrp/packet.js';
import { validateAdvert, type Expect } from '../vrrp/validate.js';
import { openVrrpSocket, VRRP_GROUP_V4, VRRP_GROUP_V6, type VrrpPacket, type VrrpSocket } from '../net/vrrp-socket.js';
import { addAddress, removeAddress, interfaceInfo, addRoute, removeRoute, type AddressSpec } from '../net/addresses.js';
import { announceAddress } from '../net/garp.js';
import { LinkWatch } from '../net/link-watch.js';
import { TrackerSet, type TrackingChange } from '../track/tracker-set.js';
import type { ScriptIdentity, TrackingConfig, TrackRef } from '../track/types.js';
import { Notifier, type NotifierConfig, type NotifyTargets } from '../notify/notifier.js';
import { afterMs, type Clock, type TimerHandle } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { VERSION } from '../util/version.js';
import { SocketPool } from './socket-pool.js';
import { formatStats } from './dumps.js';
import type { DaemonStatus, InstanceStatus, TransitionRecord } from './status-types.js';
import type { RuntimeLike } from './daemon.js';
import { CloudIps } from './cloud-ips.js';
import type { ProviderFactory } from '../cloud/types.js';
import { providers } from '../cloud/providers/index.js';
import { trackingConfig } from './mapping.js';
import { QuorumWiring } from '../quorum/wiring.js';
import { addWithLifetime } from '../quorum/vip-lifetime.js';

export interface RuntimeOptions {
  configFile: string;
  load(path: string): Promise<{ config: FloatdConfig | null; errors: string[] }>;
  clock: Clock;
  log: Logger;
  /** Test hook: replaces raw sockets (the simulator and unit tests use an in-memory network). */
  openSocket?: typeof openVrrpSocket;
  /** Cloud drivers by provider name (tests may inject); default: every built-in driver. */
  cloudProviders?: Record<string, ProviderFactory>;
  /** Instances held at the lowest priority with no end (maintenance, persisted by the caller); read at each step. */
  holds?: () => ReadonlySet<string>;
}

interface InstRt {
  cfg: InstanceConfig;
  socket?: VrrpSocket;
  src: string;
  dsts: string[];
  ipId: number;
  timers: Map<TimerName, TimerHandle>;
  vipsUp: boolean;
  since: string;
  lastReason: string;
  peers: Map<string, { lastHeard: string; priority: number; advertIntervalCs: number }>;
  counters: InstanceStatus['counters'];
  syncGroup?: string;
}

const MAX_TRANSITIONS = 200;
const US_PER_CS = 10_000;
/** Effective priority clamps at 1: below every peer that has not been handed over too. */
const HOLD_PENALTY = -254;

export class Runtime implements RuntimeLike {
  private cfg!: FloatdConfig;
  private node!: VrrpNode;
  private readonly insts = new Map<string, InstRt>();
  private trackers?: TrackerSet;
  private pool!: SocketPool;
  private linkWatch?: LinkWatch;
  private notifier!: Notifier;
  private scriptUser: ScriptIdentity | undefined;
  private cloud?: CloudIps;
  /** Quorum mode (docs/quorum.md): present when an instance or group names a floatd_quorum. */
  private quorum?: QuorumWiring;
  private readonly transitions: TransitionRecord[] = [];
  private readonly transitionCounts = new Map<string, NonNullable<DaemonStatus['transitionCounts']>[number]>();
  /** Instances handed over through the API, kept at the lowest priority until the timer ends. */
  private readonly held = new Map<string, TimerHandle>();
  private readonly startedAt: string;
  private configLoadedAt: string;
  private unknownVrid = 0;
  /** Serialises kernel changes so addVips/removeVips never interleave. */
  private netQueue: Promise<void> = Promise.resolve();

  constructor(private readonly o: RuntimeOptions) {
    this.startedAt = this.isoNow();
    this.configLoadedAt = this.startedAt;
  }

  private isoNow(): string { return new Date(this.o.clock.wallMs()).toISOString(); }

  async start(): Promise<void> {
    const r = await this.o.load(this.o.configFile);
    if (!r.config) throw new Error(`configuration ${this.o.configFile} is not usable:\n${r.errors.join('\n')}`);
    await this.build(r.config, new Set());
  }

  private async build(cfg: FloatdConfig, wasMaster: ReadonlySet<string>, prevTrackers?: TrackerSet): Promise<void> {
    this.cfg = cfg;
    this.configLoadedAt = this.isoNow();
    this.cloud = new CloudIps(cfg, {
      log: this.o.log, clock: this.o.clock, factories: this.o.cloudProviders ?? providers,
      onContest: (name, reason) => void this.notifier.floatingIp(name, reason ? 'CONTESTED' : 'UNCONTESTED', reason ?? 'the address is claimed again'),
      mayAssign: (fip) => this.quorum?.permit(fip) ?? { ok: true },
    });
    this.pool = new SocketPool(this.o.openSocket ?? openVrrpSocket, (p, s) => this.onPacket(p, s), (e) => {
      this.o.log.warn({ event: 'vrrp.socket_error', err: e.code ?? e.message }, `socket error: ${e.message}`);
    });
    const params: InstanceParams[] = [];
    for (const ic of cfg.instances) {
      const info = await interfaceInfo(ic.interface).catch(() => undefined);
      const src = ic.unicastSrcIp ?? (ic.family === 4 ? info?.ipv4 : info?.linkLocal6) ?? (ic.family === 4 ? '0.0.0.0' : '::');
      const unicast = ic.unicastPeers.length > 0;
      const group = ic.mcastGroup ?? (ic.family === 4 ? VRRP_GROUP_V4 : VRRP_GROUP_V6);
      const rt: InstRt = {
        cfg: ic, src, dsts: unicast ? ic.unicastPeers.map((p) => p.address) : [group], ipId: 0,
        timers: new Map(), vipsUp: false, since: this.isoNow(), lastReason: 'starting',
        peers: new Map(),
        counters: { advertsSent: 0, advertsReceived: 0, becameMaster: 0, releasedMaster: 0, priorityZeroSent: 0, priorityZeroReceived: 0, garpsSent: 0, dropped: {} },
      };
      try {
        rt.socket = this.pool.acquire(ic.name, {
          family: ic.family, ifname: ic.interface, peers: unicast ? rt.dsts : undefined,
          unicastSrc: unicast ? src : undefined, mcastGroup: unicast ? undefined : group,
          mcastSrc: ic.family === 6 && !unicast ? src : undefined,
        });
      } catch (e) {
        this.o.log.error({ event: 'vrrp.socket_error', instance: ic.name, err: (e as Error).message }, `cannot open VRRP socket on ${ic.interface}: ${(e as Error).message}`);
      }
      this.insts.set(ic.name, rt);
      params.push({
        name: ic.name, vrid: ic.vrid, version: ic.version, family: ic.family, priority: ic.priority,
        initialState: ic.initialState, advertIntervalCs: ic.advertIntervalCs, preempt: ic.preempt,
        preemptDelayUs: ic.preemptDelayMs * 1000, downTimerAdverts: ic.downTimerAdverts, myAddress: src,
        lowerPrioNoAdvert: ic.lowerPrioNoAdvert, higherPrioSendAdvert: ic.higherPrioSendAdvert,
        garpMasterDelayUs: ic.garp.masterDelayMs * 1000, garpMasterRefreshUs: ic.garp.masterRefreshMs * 1000,
        garpLowerPrioDelayUs: ic.garp.lowerPrioDelayMs * 1000,
      });
    }
    for (const g of cfg.syncGroups) for (const m of g.members) { const rt = this.insts.get(m); if (rt) rt.syncGroup = g.name; }
    this.quorum = cfg.quorums.length > 0 ? this.buildQuorum(cfg) : undefined;
    const gates = this.quorum ? { mayMaster: this.quorum.mayMaster } : {};
    this.node = new VrrpNode(params, cfg.syncGroups.map((g) => ({ name: g.name, members: g.members })), gates);
    this.scriptUser = this.resolveScriptUser(cfg);
    this.notifier = new Notifier(notifierConfig(cfg, this.scriptUser, this.o.log), { log: this.o.log });
    try { this.notifier.open(); } catch (e) { this.o.log.error({ event: 'notify.fifo_error' }, (e as Error).message); }
    this.buildTrackers();
    if (prevTrackers) this.trackers!.inheritFrom(prevTrackers);
    // Trackers' initial view goes in before start, so a faulted instance starts in FAULT.
    for (const name of this.insts.keys()) {
      const agg = this.trackers!.aggregate(name);
      this.exec(this.node.step(this.o.clock.nowUs(), { type: 'tracking', priorityDelta: agg.priorityDelta + this.holdDelta(name), faults: agg.faults, reason: 'initial tracking state' }, name));
    }
    for (const name of this.insts.keys()) {
      this.exec(this.node.step(this.o.clock.nowUs(), { type: 'start', ...(wasMaster.has(name) ? { wasMaster: true } : {}) }, name));
    }
    await this.trackers!.start();
    this.linkWatch?.start();
  }

  private buildQuorum(cfg: FloatdConfig): QuorumWiring | undefined {
    const w = new QuorumWiring(cfg, {
      clock: this.o.clock, log: this.o.log,
      hooks: {
        fence: (name, text) => {
          const rt = this.insts.get(name);
          if (!rt) return;
          if (rt.vipsUp) this.changeVips(rt, false);
          this.cloud?.permitChanged();
          this.exec(this.node.step(this.o.clock.nowUs(), { type: 'handover', text }, name));
        },
        granted: (name) => { this.quorumGranted(name); this.cloud?.permitChanged(); },
        vipSpecs: (name) => { const rt = this.insts.get(name); return rt ? this.vipSpecs(rt) : []; },
        vipsUp: (name) => this.insts.get(name)?.vipsUp === true,
        enqueue: (job) => { const p = this.netQueue.then(job, job); this.netQueue = p; return p; },
      },
    });
    return w.size > 0 ? w : undefined;
  }

  /** The lease is held: an instance whose down timer was denied becomes MASTER now, not at its re-armed timer. */
  private quorumGranted(name: string): void {
    const inst = this.node.instance(name);
    const rt = this.insts.get(name);
    const due = inst?.timers.get('masterDown');
    if (!inst || !rt || inst.state !== 'BACKUP' || inst.wantState !== 'MASTER' || due === undefined) return;
    const h = rt.timers.get('masterDown');
    if (h) { this.o.clock.cancel(h); rt.timers.delete('masterDown'); }
    this.exec(this.node.step(Math.max(due, this.o.clock.nowUs()), { type: 'timer', timer: 'masterDown' }, name));
  }

  /** global_defs script_user USER [GROUP]: who scripts and notify scripts run as. */
  private resolveScriptUser(cfg: FloatdConfig): ScriptIdentity | undefined {
    if (!cfg.global.scriptUser) return undefined;
    const r = resolveUser(cfg.global.scriptUser, cfg.global.scriptGroup);
    if (r.ok) return r.id;
    this.o.log.error({ event: 'track.script_user' }, `script_user ${cfg.global.scriptUser}: ${r.error}; scripts run as floatd's own user`);
    return undefined;
  }

  private buildTrackers(): void {
    const cfg = this.cfg;
    // The exhaustive mapping (mapping.ts): a check field nobody passes on fails to compile.
    const tc: TrackingConfig = trackingConfig(cfg, this.scriptUser);
    const set = new TrackerSet(tc, { log: this.o.log, onChange: (name, ch) => this.onTracking(name, ch) });
    for (const w of set.warnings) this.o.log.warn({ event: 'track.config' }, w);
    const watch = new LinkWatch();
    for (const ifname of set.interfaces()) {
      watch.watchLink(ifname);
      // A missing interface reads as down (FAULT: no notify_master, no cloud assign), not as unknown.
      set.setInterface(ifname, watch.linkUp(ifname) === true);
    }
    watch.on('link', (ev: { ifname: string; up: boolean }) => set.setInterface(ev.ifname, ev.up));
    watch.on('address-removed', (ev: { ifname: string; address: string }) => this.onVipRemoved(ev.ifname, ev.address));
    this.linkWatch = watch;
    this.trackers = set;
  }

  private onTracking(name: string, ch: TrackingChange): void {
    if (!this.insts.has(name)) return;
    this.exec(this.node.step(this.o.clock.nowUs(), { type: 'tracking', priorityDelta: ch.priorityDelta + this.holdDelta(name), faults: ch.faults, reason: ch.reason }, name));
  }

  private onVipRemoved(ifname: string, address: string): void {
    for (const [name, rt] of this.insts) {
      if (!rt.vipsUp) continue;
      const hit = [...rt.cfg.vips, ...rt.cfg.excludedVips].some((v) => !v.noTrack && v.address === address && (v.dev ?? rt.cfg.interface) === ifname);
      if (hit && this.quorum?.holder(name) !== undefined) {
        // The kernel ends a VIP's lifetime when renewals stop being acknowledged: self-fencing, not
        // tampering. While the lease is held the next renewal puts it back.
        this.o.log.info({ event: 'quorum.vip_expired', instance: name, address }, `VIP ${address} left ${ifname} (lifetime ended or removed); not re-taken by VRRP`);
      } else if (hit) {
        this.o.log.warn({ event: 'vrrp.vip_removed', instance: name, address }, `VIP ${address} removed from ${ifname} by someone else`);
        this.exec(this.node.step(this.o.clock.nowUs(), { type: 'vipRemovedExternally' }, name));
      }
    }
  }

  // ---- receive ----

  private onPacket(p: VrrpPacket, socket: VrrpSocket): void {
    let payload = p.data;
    let ttl = p.ttl;
    if (socket.family === 4) {
      const ip = parseIpv4Packet(p.data);
      if (!ip.ok) { this.countDropGlobal(ip.reason); return; }
      payload = ip.payload;
      ttl = ip.ttl;
    }
    const dec = decodeAdvert(payload, socket.family);
    if (!dec.ok) { this.countDropGlobal(dec.reason); return; }
    const adv = dec.advert;
    const rt = [...this.insts.values()].find((r) => r.socket === socket && r.cfg.vrid === adv.vrid);
    if (!rt) { this.unknownVrid++; return; }
    if (this.handovers) {
      // Stopping: only a valid advert from a router that is not resigning ends a hand-over.
      const wake = this.handovers.get(rt);
      if (wake && adv.priority > 0 && p.src !== rt.src) wake();
      return;
    }
    const ic = rt.cfg;
    const expect: Expect = {
      version: ic.version, authType: ic.auth.type === 'PASS' ? 1 : 0, authPass: passBytes(ic.auth.type === 'PASS' ? ic.auth.pass : ''),
      advertIntervalCs: ic.advertIntervalCs, vips: ic.vips.map((v) => v.address), unicast: ic.unicastPeers.length > 0,
      peers: ic.unicastPeers, checkUnicastSrc: ic.checkUnicastSrc, requireTtl255: ic.unicastTtl === undefined,
    };
    const v = validateAdvert(payload, adv, { family: socket.family, src: p.src, dst: p.dst, ttl }, expect);
    if (!v.ok) {
      rt.counters.dropped[v.reason] = (rt.counters.dropped[v.reason] ?? 0) + 1;
      this.o.log.info({ event: 'vrrp.drop', instance: ic.name, reason: v.reason, from: p.src }, v.message);
      return;
    }
    rt.counters.advertsReceived++;
    if (adv.priority === 0) rt.counters.priorityZeroReceived++;
    rt.peers.set(p.src, { lastHeard: this.isoNow(), priority: adv.priority, advertIntervalCs: adv.advertIntervalCs });
    if (adv.priority > 0 && p.src !== rt.src) this.switching.get(rt)?.();
    if (p.src !== rt.src) this.cloud?.onAdvert(ic.name);
    this.exec(this.node.step(this.o.clock.nowUs(), { type: 'advert', from: p.src, priority: adv.priority, advertIntervalCs: adv.advertIntervalCs }, ic.name));
  }

  private countDropGlobal(reason: string): void {
    this.o.log.debug({ event: 'vrrp.drop', reason }, `dropped a malformed packet: ${reason}`);
  }

  // ---- actions ----

  private exec(actions: NodeAction[]): void {
    for (const na of actions) {
      if ('group' in na) {
        const t = na.action;
        this.recordTransition('GROUP', na.group, t.from, t.to, t.reason.kind, t.reason.text, 0);
        this.o.log.info({ event: 'vrrp.group_transition', group: na.group, from: t.from, to: t.to }, t.reason.text);
        if (t.from === 'MASTER') this.quorum?.leftMaster(na.group, t.reason.text);
        if (t.to !== 'INIT') void this.notifier.notify({ kind: 'GROUP', name: na.group, from: t.from, to: t.to, priority: 0, reason: t.reason.text });
        continue;
      }
      const rt = this.insts.get(na.instance);
      if (!rt) continue;
      const a = na.action;
      // Becoming MASTER, the FSM says advert, VIPs, GARP (keepalived's order: its netlink adds
      // are instant). Here VIPs go through `ip`, which takes milliseconds: an advert sent first
      // makes the old MASTER drop the address before ours is up and announced, and clients
      // get no answer meanwhile. So that advert leaves once the VIPs and GARPs are out
      // (bounded by one advert interval, should `ip` hang).
      if (a.type === 'sendAdvert' && a.priority > 0 && actions.some((x) => !('group' in x) && x.instance === na.instance && x.action.type === 'addVips')) {
        this.advertAfterVips(rt, a.priority);
        continue;
      }
      this.execOne(na.instance, rt, a);
    }
  }

  private advertAfterVips(rt: InstRt, priority: number): void {
    let sent = false;
    const send = (): void => { if (!sent) { sent = true; this.sendAdvert(rt, priority); } };
    // After the addVips and garp jobs that exec() queues next (same tick).
    queueMicrotask(() => {
      const limit = this.o.clock.at(this.o.clock.nowUs() + rt.cfg.advertIntervalCs * US_PER_CS, send);
      void this.netQueue.then(() => { this.o.clock.cancel(limit); send(); });
    });
  }

  private execOne(name: string, rt: InstRt, a: Action): void {
    const log = this.o.log;
    switch (a.type) {
      case 'sendAdvert': this.sendAdvert(rt, a.priority); break;
      case 'addVips':
        if (this.quorum && !this.quorum.mayAddVips(name)) {
          log.error({ event: 'quorum.refused', instance: name }, `(${name}) not adding VIPs: this node does not hold the lease`);
          break;
        }
        this.switching.delete(rt);
        this.changeVips(rt, true);
        break;
      case 'removeVips': {
        // Stopping or switching over: a MASTER keeps its VIPs until the new MASTER speaks (see stop(),
        // switchover()). In quorum mode the new MASTER needs the lease first: the VIPs go now and the
        // lease is revoked after them.
        const keep = rt.vipsUp && this.quorum?.holder(name) === undefined;
        if (this.handovers && keep) this.handovers.set(rt, undefined);
        else if (!(this.switching.has(rt) && keep)) this.changeVips(rt, false);
        break;
      }
      case 'garp': this.garp(rt, a.burst); break;
      case 'transition': {
        const inst = this.node.instance(name);
        const prio = inst?.effectivePriority ?? rt.cfg.priority;
        if (a.to === 'MASTER') rt.counters.becameMaster++;
        if (a.from === 'MASTER') rt.counters.releasedMaster++;
        rt.since = this.isoNow();
        rt.lastReason = a.reason.text;
        const kind = this.quorum?.takeLostText(name) !== undefined ? 'quorum_lost' : a.reason.kind;
        if (a.from === 'MASTER') this.quorum?.leftMaster(name, a.reason.text);
        this.recordTransition('INSTANCE', name, a.from, a.to, kind, a.reason.text, prio);
        this.cloud?.onState(name, a.to, a.reason.text);
        log.info({ event: 'vrrp.transition', instance: name, from: a.from, to: a.to, reason: a.reason.kind }, transitionMessage(a.to, a.reason.kind, a.reason.text));
        if (a.to !== 'INIT') {
          const epoch = this.quorum?.epoch(name);
          void this.notifier.notify({
            kind: 'INSTANCE', name, from: a.from, to: a.to, priority: prio, basePriority: rt.cfg.priority, reason: a.reason.text,
            ...(rt.syncGroup ? { group: rt.syncGroup } : {}), ...(epoch !== undefined && a.to === 'MASTER' ? { epoch } : {}),
          });
        }
        break;
      }
      case 'priorityChanged': log.info({ event: 'vrrp.priority', instance: name, from: a.from, to: a.to }, `Changing effective priority from ${a.from} to ${a.to}`); break;
      case 'masterRxLowerPri': void this.notifier.event(name, 'MASTER_RX_LOWER_PRI', this.node.instance(name)?.effectivePriority ?? 0); log.info({ event: 'vrrp.rx_lower_pri', instance: name, peer: a.peer }, `Received advert from ${a.peer} with lower priority ${a.peerPriority}, ours ${this.node.instance(name)?.effectivePriority ?? '?'}, forcing new election`); break;
      case 'setTimer': {
        const old = rt.timers.get(a.timer);
        if (old) this.o.clock.cancel(old);
        rt.timers.set(a.timer, this.o.clock.at(a.at, () => {
          rt.timers.delete(a.timer);
          // Node's timers fire up to ~1 ms late; the next advert counts from when this one was
          // due, so lateness does not add to every interval (adverts keep their period). A
          // timer later than 2 ms (a stalled loop) counts from now: no catch-up burst.
          const now = this.o.clock.nowUs();
          const at = a.timer === 'advert' && now - a.at < 2000 ? a.at : now;
          this.exec(this.node.step(at, { type: 'timer', timer: a.timer }, name));
        }));
        break;
      }
      case 'cancelTimer': {
        const h = rt.timers.get(a.timer);
        if (h) { this.o.clock.cancel(h); rt.timers.delete(a.timer); }
        break;
      }
      case 'log': log[a.level]({ event: 'vrrp.log', instance: name }, a.text); break;
    }
  }

  private sendAdvert(rt: InstRt, priority: number): void {
    const ic = rt.cfg;
    if (!rt.socket) return;
    const adv: Advert = {
      version: ic.version, vrid: ic.vrid, priority, addresses: ic.vips.map((v) => v.address),
      advertIntervalCs: ic.advertIntervalCs, authType: ic.version === 2 && ic.auth.type === 'PASS' ? 1 : 0,
      authData: passBytes(ic.version === 2 && ic.auth.type === 'PASS' ? ic.auth.pass : ''),
    };
    for (const dst of rt.dsts) {
      try {
        const payload = encodeAdvert(adv, ic.family, { src: rt.src, dst });
        let bytes = payload;
        if (ic.family === 4) {
          rt.ipId = (rt.ipId + 1) & 0xffff || 1; // keepalived skips id 0 (the kernel would overwrite it)
          bytes = buildIpv4Packet(payload, { src: rt.src, dst, ttl: ic.unicastPeers.length > 0 ? (ic.unicastTtl ?? 255) : 255, id: rt.ipId });
        }
        rt.socket.send(bytes, dst);
        rt.counters.advertsSent++;
        if (priority === 0) rt.counters.priorityZeroSent++;
      } catch (e) {
        this.o.log.warn({ event: 'vrrp.send_error', instance: ic.name, dst, err: (e as NodeJS.ErrnoException).code ?? String(e) }, `cannot send advert to ${dst}: ${(e as Error).message}`);
      }
    }
  }

  private vipSpecs(rt: InstRt): AddressSpec[] {
    return [...rt.cfg.vips, ...rt.cfg.excludedVips, ...(this.cloud?.localVips(rt.cfg.name) ?? [])].map((v) => ({
      ifname: v.dev ?? rt.cfg.interface, address: v.address, prefix: v.prefix,
      ...(v.label ? { label: v.label } : {}), ...(v.scope ? { scope: v.scope } : {}), ...(v.brd ? { broadcast: v.brd } : {}),
    }));
  }

  private changeVips(rt: InstRt, up: boolean): void {
    rt.vipsUp = up;
    const specs = this.vipSpecs(rt);
    const name = rt.cfg.name;
    const job = async (): Promise<void> => {
      for (const s of specs) {
        try {
          if (up) {
            const lt = this.quorum?.lifetime(name);
            if (lt) {
              if (await addWithLifetime(s, lt.seconds, lt.guard)) this.o.log.info({ event: 'vip.add', instance: name, address: s.address, dev: s.ifname, lifetime: lt.seconds }, `added ${s.address}/${s.prefix} on ${s.ifname} (valid_lft ${lt.seconds})`);
            } else if (await addAddress(s)) this.o.log.info({ event: 'vip.add', instance: name, address: s.address, dev: s.ifname }, `added ${s.address}/${s.prefix} on ${s.ifname}`);
            this.linkWatch?.watchAddress(s.ifname, s.address);
          } else {
            this.linkWatch?.unwatchAddress(s.ifname, s.address);
            if (await removeAddress(s)) this.o.log.info({ event: 'vip.del', instance: name, address: s.address, dev: s.ifname }, `removed ${s.address}/${s.prefix} from ${s.ifname}`);
          }
        } catch (e) {
          this.o.log.error({ event: 'vip.error', instance: name, address: s.address, err: (e as Error).message }, `cannot ${up ? 'add' : 'remove'} ${s.address}: ${(e as Error).message}`);
        }
      }
      for (const r of rt.cfg.routes) {
        try { await (up ? addRoute(r) : removeRoute(r)); } catch (e) {
          this.o.log.error({ event: 'route.error', instance: name, err: (e as Error).message }, `virtual_route ${r.join(' ')}: ${(e as Error).message}`);
        }
      }
    };
    this.netQueue = this.netQueue.then(job, job);
  }

  private garp(rt: InstRt, burst: string): void {
    const g = rt.cfg.garp;
    const repeat = burst === 'refresh' ? g.masterRefreshRepeat : burst === 'lowerPrio' ? g.lowerPrioRepeat : g.masterRepeat;
    const specs = this.vipSpecs(rt);
    // After the VIPs are on the interface: the same queue orders it behind addVips.
    this.netQueue = this.netQueue.then(() => {
      for (let i = 0; i < Math.max(1, repeat); i++) {
        for (const s of specs) {
          try { if (announceAddress(s.ifname, s.address)) rt.counters.garpsSent++; } catch (e) {
            this.o.log.warn({ event: 'garp.error', instance: rt.cfg.name, err: (e as Error).message }, `gratuitous ARP failed: ${(e as Error).message}`);
          }
        }
      }
      this.o.log.debug({ event: 'garp.sent', instance: rt.cfg.name, burst, repeat }, `Sending/queueing gratuitous ARPs on ${rt.cfg.interface}`);
    });
  }

  private recordTransition(kind: 'INSTANCE' | 'GROUP', name: string, from: VrrpState, to: VrrpState, reasonKind: string, reason: string, priority: number): void {
    this.transitions.push({ time: this.isoNow(), instance: name, kind, from, to, reasonKind, reason, priority });
    const key = `${kind} ${name} ${to} ${reasonKind}`;
    const c = this.transitionCounts.get(key) ?? { instance: name, kind, to, reasonKind, count: 0 };
    c.count++;
    this.transitionCounts.set(key, c);
    if (this.transitions.length > MAX_TRANSITIONS) this.transitions.shift();
  }

  // ---- lifecycle ----

  /**
   * Graceful stop: each MASTER sends its priority-0 advert (the BACKUP takes over after its
   * skew time) but keeps its VIPs until it hears the new MASTER's advert, or one advert
   * interval + 1 s passes. Clients are served by the old MASTER until the new one's GARP
   * moves them, instead of getting no answer for the skew time (keepalived removes the VIPs
   * at once). The VIPs are gone before stop() returns either way.
   */
  async stop(reason: string): Promise<void> {
    await this.teardown(new Set(), reason, true);
    await this.notifier.close();
  }

  /** While stopping: MASTER instances still holding their VIPs, and the wake-up for each. */
  private handovers: Map<InstRt, (() => void) | undefined> | undefined;

  /** Stops instances; those in `keep` (names) are left holding their VIPs for a reload. */
  private async teardown(keep: ReadonlySet<string>, reason: string, graceful = false): Promise<void> {
    // Trackers stop reporting now, but a check still running (a script up to its timeout) is
    // waited for only after the priority-0 adverts are out: the hand-over does not wait on it.
    const trackersStopped = this.trackers?.stop();
    this.linkWatch?.stop();
    if (graceful) this.handovers = new Map();
    for (const name of this.insts.keys()) {
      if (keep.has(name)) continue;
      this.exec(this.node.step(this.o.clock.nowUs(), { type: 'shutdown' }, name));
    }
    for (const rt of this.insts.values()) for (const h of rt.timers.values()) this.o.clock.cancel(h);
    // Leases go back once the VIPs are off (the revoke waits on the network queue).
    const leases = this.quorum?.stop(reason);
    if (this.handovers?.size) await this.awaitHandovers(this.handovers);
    await leases;
    this.handovers = undefined;
    await trackersStopped;
    await this.netQueue;
    this.pool.closeAll();
    this.cloud?.stop();
    this.o.log.info({ event: 'daemon.stopped', reason }, `stopped: ${reason}`);
  }

  private async awaitHandovers(waits: Map<InstRt, (() => void) | undefined>): Promise<void> {
    const log = this.o.log;
    await Promise.all([...waits.keys()].map((rt) => new Promise<void>((resolve) => {
      const limitMs = rt.cfg.advertIntervalCs * 10 + 1000;
      const done = (why: string): void => {
        if (!waits.has(rt)) return;
        waits.delete(rt);
        this.o.clock.cancel(timer);
        log.info({ event: 'vrrp.handover', instance: rt.cfg.name, why }, `(${rt.cfg.name}) ${why}: removing the VIPs`);
        this.changeVips(rt, false);
        resolve();
      };
      const timer = this.o.clock.at(this.o.clock.nowUs() + limitMs * 1000, () => done(`no new MASTER heard within ${limitMs} ms`));
      waits.set(rt, () => done('the new MASTER has announced itself'));
    })));
  }

  async reload(): Promise<{ ok: boolean; message: string }> {
    const r = await this.o.load(this.o.configFile);
    if (!r.config) return { ok: false, message: r.errors.join('; ') };
    const next = r.config;
    if (JSON.stringify(stripPositions(next)) === JSON.stringify(stripPositions(this.cfg))) return { ok: true, message: 'configuration unchanged; nothing to do' };
    // Instances that keep their identity keep MASTER (keepalived's reload_master).
    const keep = new Set<string>();
    for (const ic of next.instances) {
      const old = this.insts.get(ic.name);
      const st = this.node.instance(ic.name)?.state;
      // Quorum instances re-elect: the lease is the old process's and goes back with its VIPs.
      if (old && st === 'MASTER' && identity(old.cfg) === identity(ic) && this.quorum?.holder(ic.name) === undefined) keep.add(ic.name);
    }
    const oldVips = new Map([...this.insts.values()].flatMap((rt) => this.vipSpecs(rt).map((s) => [`${s.ifname} ${s.address}`, s] as const)));
    await this.teardown(keep, 'reload');
    const oldTrackers = this.trackers;
    await this.notifier.close();
    this.insts.clear();
    this.trackers = undefined;
    this.linkWatch = undefined;
    await this.build(next, keep, oldTrackers);
    // VIPs that a kept MASTER no longer has in its config go away.
    const newVips = new Set([...this.insts.values()].flatMap((rt) => this.vipSpecs(rt).map((s) => `${s.ifname} ${s.address}`)));
    for (const [k, s] of oldVips) if (!newVips.has(k)) this.netQueue = this.netQueue.then(() => removeAddress(s).then(() => undefined, () => undefined));
    await this.netQueue;
    return { ok: true, message: `configuration reloaded (${keep.size} MASTER instance(s) kept in place)` };
  }

  status(): DaemonStatus {
    const instances: InstanceStatus[] = [...this.insts.values()].map((rt) => {
      const ic = rt.cfg;
      const inst = this.node.instance(ic.name);
      return {
        name: ic.name, interface: ic.interface, vrid: ic.vrid, version: ic.version, family: ic.family,
        state: inst?.state ?? 'INIT', since: rt.since, lastReason: rt.lastReason,
        basePriority: inst?.basePriority ?? ic.priority, effectivePriority: inst?.effectivePriority ?? ic.priority,
        advertIntervalCs: ic.advertIntervalCs, unicast: ic.unicastPeers.length > 0,
        ...(inst?.masterAddress !== undefined ? { master: { address: inst.masterAddress, priority: inst.masterPriority ?? 0 } } : {}),
        vips: this.vipSpecs(rt).map((s) => ({ address: `${s.address}/${s.prefix}`, dev: s.ifname, present: rt.vipsUp })),
        peers: (ic.unicastPeers.length > 0 ? ic.unicastPeers.map((p) => p.address) : [...rt.peers.keys()]).map((a) => {
          const h = rt.peers.get(a);
          return { address: a, ...(h ? { lastHeard: h.lastHeard, priority: h.priority, advertIntervalCs: h.advertIntervalCs } : {}) };
        }),
        trackers: (this.trackers?.status(ic.name) ?? []).map((t) => ({
          name: t.name, type: t.type, status: t.status, weight: t.weight, reverse: t.reverse,
          ...(t.lastResult !== undefined ? { lastResult: t.lastResult } : {}),
          ...(t.lastDurationMs !== undefined ? { lastDurationMs: t.lastDurationMs } : {}),
          ...(t.lastRun !== undefined ? { lastRun: t.lastRun } : {}),
        })),
        ...(rt.syncGroup ? { syncGroup: rt.syncGroup } : {}),
        floatingIps: ic.floatingIps, counters: structuredClone(rt.counters),
        ...this.quorumFields(ic.name),
      };
    });
    return {
      version: VERSION, hostname: hostname(), routerId: this.cfg.global.routerId ?? hostname(), pid: process.pid,
      startedAt: this.startedAt, configFile: this.o.configFile, configLoadedAt: this.configLoadedAt, instances,
      syncGroups: this.cfg.syncGroups.map((g) => ({ name: g.name, state: this.node.groupStates().get(g.name) ?? 'INIT', members: g.members })),
      floatingIps: this.cloud?.status() ?? [], transitions: [...this.transitions], notify: { runs: this.notifier.runs, failures: this.notifier.failures },
      transitionCounts: [...this.transitionCounts.values()].map((c) => ({ ...c })),
      ...(this.quorum ? { quorum: this.quorum.status() } : {}),
    };
  }

  private quorumFields(name: string): { epoch?: number; quorumReason?: string } {
    const epoch = this.quorum?.epoch(name);
    const q = this.quorum?.status().find((x) => x.holder === (this.quorum?.holder(name) ?? ''));
    const asking = q !== undefined && (q.phase === 'denied' || q.phase === 'unreachable' || q.phase === 'acquiring');
    const text = asking ? this.quorum?.deniedText(name) : undefined;
    return { ...(epoch !== undefined ? { epoch } : {}), ...(text ? { quorumReason: `quorum_denied: ${text}` } : {}) };
  }

  dataDump(): string { return JSON.stringify(this.status(), null, 2) + '\n'; }

  /**
   * API hand-over: resign MASTER now (priority-0 advert: the peer takes over after Skew_Time)
   * and stay BACKUP at the lowest priority for `holdS` seconds, so preemption does not take
   * the address straight back. holdS 0: resign only.
   */
  handover(name: string, holdS: number): { ok: boolean; message: string } {
    const inst = this.node.instance(name);
    if (!inst || !this.trackers) return { ok: false, message: `no instance ${name}` };
    if (inst.state !== 'MASTER') return { ok: false, message: `${name} is ${inst.state}, not MASTER: nothing to hand over` };
    const step = (reason: string): void => {
      const agg = this.trackers?.aggregate(name);
      if (agg) this.exec(this.node.step(this.o.clock.nowUs(), { type: 'tracking', priorityDelta: agg.priorityDelta + this.holdDelta(name), faults: agg.faults, reason }, name));
    };
    const prev = this.held.get(name);
    if (prev) this.o.clock.cancel(prev);
    this.held.delete(name);
    if (holdS > 0) {
      const t = afterMs(this.o.clock, holdS * 1000, () => { this.held.delete(name); step('hand-over hold ended'); }, { weak: true });
      this.held.set(name, t);
      step(`hand-over: lowest priority for ${holdS} s`);
    }
    this.exec(this.node.step(this.o.clock.nowUs(), { type: 'handover', text: `requested through the API${holdS > 0 ? `, holding off for ${holdS} s` : ''}` }, name));
    return { ok: true, message: `${name} left MASTER${holdS > 0 ? `; it stays at priority ${this.node.instance(name)?.effectivePriority ?? 1} for ${holdS} s` : ''}` };
  }
  /** A hand-over hold (timed) or a maintenance hold (o.holds) puts the instance at the lowest priority. */
  private holdDelta(name: string): number {
    return this.held.has(name) || this.o.holds?.().has(name) ? HOLD_PENALTY : 0;
  }

  /** Switchover: resigned MASTERs that keep their VIPs until the new MASTER speaks, with the wake-up. */
  private readonly switching = new Map<InstRt, () => void>();

  /**
   * Planned move (`floatd switchover`): the hand-over above, but the VIPs stay until another
   * router's advert is heard (or advert interval + 1 s), as the SIGTERM path does, so clients
   * are answered by the old MASTER until the new one's GARP moves them.
   */
  switchover(name: string, holdS: number): { ok: boolean; message: string } {
    const rt = this.insts.get(name);
    if (!rt || this.node.instance(name)?.state !== 'MASTER') return this.handover(name, holdS);
    const limitMs = rt.cfg.advertIntervalCs * 10 + 1000;
    const done = (why: string): void => {
      if (this.switching.get(rt) !== wake) return;
      this.switching.delete(rt);
      this.o.clock.cancel(timer);
      this.o.log.info({ event: 'vrrp.handover', instance: name, why }, `(${name}) ${why}: removing the VIPs`);
      if (rt.vipsUp && this.node.instance(name)?.state !== 'MASTER') this.changeVips(rt, false);
    };
    const wake = (): void => done('the new MASTER has announced itself');
    const timer = this.o.clock.at(this.o.clock.nowUs() + limitMs * 1000, () => done(`no new MASTER heard within ${limitMs} ms`));
    this.switching.set(rt, wake);
    return this.handover(name, holdS);
  }

  /** The maintenance set (o.holds) changed for `name`: re-weigh it; a held MASTER switches over. */
  holdChanged(name: string, reason: string): { ok: boolean; message: string } {
    const inst = this.node.instance(name);
    if (!inst || !this.trackers) return { ok: false, message: `no instance ${name}` };
    const agg = this.trackers.aggregate(name);
    this.exec(this.node.step(this.o.clock.nowUs(), { type: 'tracking', priorityDelta: agg.priorityDelta + this.holdDelta(name), faults: agg.faults, reason }, name));
    const held = this.holdDelta(name) !== 0;
    if (held && this.node.instance(name)?.state === 'MASTER') return this.switchover(name, 0);
    return { ok: true, message: `${name} is ${this.node.instance(name)?.state ?? 'INIT'} at priority ${this.node.instance(name)?.effectivePriority ?? '?'}` };
  }
  statsDump(): string { return formatStats(this.status()); }
}

function passBytes(pass: string): Buffer {
  const b = Buffer.alloc(8);
  b.write(pass.slice(0, 8), 'latin1');
  return b;
}

/** keepalived matches instances across a reload by these (vrrp_exist()). */
function identity(ic: InstanceConfig): string {
  return JSON.stringify([ic.vrid, ic.family, ic.interface, ic.unicastPeers.length > 0, ic.unicastSrcIp ?? '', ic.mcastGroup ?? '']);
}

function stripPositions(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v, (k, val: unknown) => (k === 'pos' || k === 'files' ? undefined : val)));
}

function notifierConfig(cfg: FloatdConfig, scriptUser: ScriptIdentity | undefined, log: Logger): NotifierConfig {
  const targets = (n: InstanceConfig['notify']): NotifyTargets => ({
    ...(n.master ? { master: n.master } : {}), ...(n.backup ? { backup: n.backup } : {}), ...(n.fault ? { fault: n.fault } : {}),
    ...(n.stop ? { stop: n.stop } : {}), ...(n.generic ? { generic: n.generic } : {}), ...(n.masterRxLowerPri ? { masterRxLowerPri: n.masterRxLowerPri } : {}),
  });
  return {
    instances: Object.fromEntries(cfg.instances.map((ic) => [ic.name, targets(ic.notify)])),
    groups: Object.fromEntries(cfg.syncGroups.map((g) => [g.name, g.notify ? targets(g.notify) : {}])),
    fifos: cfg.global.notifyFifo ? [{ path: cfg.global.notifyFifo }] : [],
    webhooks: cfg.webhooks.flatMap((w) => {
      try { return [webhookConfig(w)]; } catch (e) {
        log.error({ event: 'notify.webhook_config', webhook: w.name }, `notify_webhook ${w.name} disabled: ${(e as Error).message}`);
        return [];
      }
    }),
    scriptSecurity: cfg.global.enableScriptSecurity,
    ...(scriptUser ? { scriptUser } : {}),
  };
}

/** A notify_webhook block as the notifier takes it; secret files are read here, at (re)load. */
function webhookConfig(w: WebhookDef): WebhookConfig {
  const read = (f: string): string => readFileSync(f, 'utf8').trim();
  const headers = { ...w.headers };
  if (w.authorizationFile) headers.Authorization = read(w.authorizationFile);
  return {
    url: w.url, headers,
    ...(w.secretFile ? { secret: read(w.secretFile) } : {}),
    ...(w.timeoutMs !== undefined ? { timeoutMs: w.timeoutMs } : {}),
    ...(w.retries !== undefined ? { retries: w.retries } : {}),
    ...(w.backoffMs !== undefined ? { backoffMs: w.backoffMs } : {}),
    ...(w.maxBackoffMs !== undefined ? { maxBackoffMs: w.maxBackoffMs } : {}),
    ...(w.tlsVerify !== undefined ? { tlsVerify: w.tlsVerify } : {}),
    ...(w.instances ? { only: w.instances } : {}),
  };
}

/** keepalived's "Entering X STATE" line, plus the cause when the FSM's text adds one. */
function transitionMessage(to: VrrpState, kind: string, text: string): string {
  const head = `Entering ${to} STATE${kind === 'init' ? ' (init)' : ''}`;
  const cause = text.replace(/^\([^)]*\) /, '');
  return cause.startsWith('Entering') ? cause : `${head} — ${cause}`;
}
