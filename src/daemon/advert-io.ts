/**
 * Advert I/O: frames an instance's advert for each destination, and turns a received packet
 * into an FSM event or a counted drop. Every packet that is not an accepted advert lands in a
 * counter (issue 15 item 19); drop log lines are aggregated per instance and reason.
 */
import type { InstanceConfig } from '../config/index.js';
import type { VrrpPacket } from '../net/vrrp-socket.js';
import { buildIpv4Packet, decodeAdvert, encodeAdvert, parseIpv4Packet, type Advert } from '../vrrp/packet.js';
import { validateAdvert, type Expect } from '../vrrp/validate.js';
import type { DropReason } from '../vrrp/drop-reasons.js';
import { advertFor, expectFor } from './mapping.js';
import type { VrrpSocket } from '../net/vrrp-socket.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { Event } from '../vrrp/fsm.js';
import type { InstanceRuntime } from './executor.js';

/** Per configuration: the advert template and the receive expectations (built once, not per packet). */
const templates = new WeakMap<InstanceConfig, Advert>();
const expectations = new WeakMap<InstanceConfig, Expect>();

function template(ic: InstanceConfig): Advert {
  let t = templates.get(ic);
  if (!t) templates.set(ic, (t = advertFor(ic, 0)));
  return t;
}

function expectation(ic: InstanceConfig): Expect {
  let e = expectations.get(ic);
  if (!e) expectations.set(ic, (e = expectFor(ic)));
  return e;
}

/** One advert frame per destination; `nextIpId` gives the IPv4 id for each frame. */
export function advertFrames(
  ic: InstanceConfig,
  src: string,
  dsts: readonly string[],
  priority: number,
  nextIpId: () => number,
): Array<{ bytes: Uint8Array; dst: string }> {
  const adv: Advert = { ...template(ic), priority };
  return dsts.map((dst) => {
    const payload = encodeAdvert(adv, ic.family, { src, dst });
    if (ic.family === 6) return { bytes: payload, dst };
    const ttl = ic.unicastPeers.length > 0 ? (ic.unicastTtl ?? 255) : 255;
    return { bytes: buildIpv4Packet(payload, { src, dst, ttl, id: nextIpId() }), dst };
  });
}

export type Received = { ok: true; advert: Advert } | { ok: false; reason: DropReason; message: string };

/** The first stage: IP header and VRRP header; no instance yet. VRID from the header if readable. */
export function decodeReceived(
  p: VrrpPacket,
  family: 4 | 6,
):
  | { ok: true; advert: Advert; payload: Buffer; ttl: number }
  | { ok: false; reason: DropReason; message: string; vrid?: number } {
  let payload = p.data;
  let ttl = p.ttl;
  if (family === 4) {
    const ip = parseIpv4Packet(p.data);
    if (!ip.ok) return { ok: false, reason: ip.reason, message: ip.detail };
    payload = ip.payload;
    ttl = ip.ttl;
  }
  const dec = decodeAdvert(payload, family);
  if (!dec.ok)
    return {
      ok: false,
      reason: dec.reason,
      message: dec.detail,
      ...(payload.length >= 2 ? { vrid: payload[1]! } : {}),
    };
  return { ok: true, advert: dec.advert, payload, ttl };
}

/** The second stage: does the advert match what this instance expects? */
export function checkForInstance(
  ic: InstanceConfig,
  p: VrrpPacket,
  family: 4 | 6,
  d: { advert: Advert; payload: Buffer; ttl: number },
): Received {
  const v = validateAdvert(d.payload, d.advert, { family, src: p.src, dst: p.dst, ttl: d.ttl }, expectation(ic));
  return v.ok ? { ok: true, advert: d.advert } : { ok: false, reason: v.reason, message: v.message };
}

/**
 * Drop log lines, aggregated: the first drop of a (instance, reason) logs at once, later ones
 * are counted and reported in one line per `windowUs` ("… 312 more in the last 10 s").
 */
export class DropLog {
  private readonly open = new Map<string, { count: number; from: string; since: number; message: string }>();

  constructor(
    private readonly windowUs: number,
    private readonly emit: (key: string, line: string, count: number) => void,
  ) {}

  drop(nowUs: number, instance: string, reason: string, from: string, message: string): void {
    const key = `${instance}\0${reason}`;
    const w = this.open.get(key);
    if (!w) {
      this.open.set(key, { count: 0, from, since: nowUs, message });
      this.emit(key, message, 1);
      return;
    }
    w.count++;
    w.from = from;
    w.message = message;
    this.flush(nowUs);
  }

  /** Reports windows older than windowUs (call on each drop and periodically). */
  flush(nowUs: number, all = false): void {
    for (const [key, w] of this.open) {
      if (!all && nowUs - w.since < this.windowUs) continue;
      this.open.delete(key);
      if (w.count > 0) {
        const s = Math.round((nowUs - w.since) / 1e6);
        this.emit(key, `${w.message} (and ${w.count} more like it in the last ${s} s, last from ${w.from})`, w.count);
      }
    }
  }
}

export interface ReceiverDeps {
  clock: Clock;
  log: Logger;
  instances(): Iterable<InstanceRuntime>;
  isoNow(): string;
  /** A valid advert from another router (cloud's partition rule). */
  fromPeer(instance: string): void;
  step(instance: string, ev: Event): void;
}

const DROP_LOG_WINDOW_US = 10_000_000;

/** The receive path: packet → counted drop, or an `advert` event for its instance. */
export class AdvertReceiver {
  private readonly drops: DropLog;

  constructor(private readonly d: ReceiverDeps) {
    this.drops = new DropLog(DROP_LOG_WINDOW_US, (key, line, count) => {
      const [instance, reason] = key.split('\0');
      d.log.info({ event: 'vrrp.drop', instance, reason, count }, line);
    });
  }

  packet(p: VrrpPacket, socket: VrrpSocket): void {
    const now = this.d.clock.nowUs();
    const mine = [...this.d.instances()].filter((r) => r.socket === socket);
    const dec = decodeReceived(p, socket.family);
    if (!dec.ok) {
      // Before the VRID is known: counted on the instance with that VRID, else on every instance of the socket.
      const hit = mine.filter((r) => r.cfg.vrid === dec.vrid);
      for (const rt of hit.length > 0 ? hit : mine) this.drop(now, rt, dec.reason, p.src, dec.message);
      return;
    }
    const rt = mine.find((r) => r.cfg.vrid === dec.advert.vrid);
    if (!rt) {
      const why = `advert for VRID ${dec.advert.vrid} from ${p.src}: no such instance here`;
      for (const r of mine) this.drop(now, r, 'unknown_vrid', p.src, why);
      return;
    }
    const v = checkForInstance(rt.cfg, p, socket.family, dec);
    if (!v.ok) {
      this.drop(now, rt, v.reason, p.src, v.message);
      return;
    }
    const adv = v.advert;
    rt.counters.advertsReceived++;
    if (adv.priority === 0) rt.counters.priorityZeroReceived++;
    rt.peers.set(p.src, { lastHeard: this.d.isoNow(), priority: adv.priority, advertIntervalCs: adv.advertIntervalCs });
    if (p.src !== rt.src) this.d.fromPeer(rt.cfg.name);
    this.d.step(rt.cfg.name, {
      type: 'advert',
      from: p.src,
      priority: adv.priority,
      advertIntervalCs: adv.advertIntervalCs,
    });
  }

  /** Reports every open drop window (at stop). */
  flush(): void {
    this.drops.flush(this.d.clock.nowUs(), true);
  }

  private drop(now: number, rt: InstanceRuntime, reason: string, from: string, message: string): void {
    rt.counters.dropped[reason] = (rt.counters.dropped[reason] ?? 0) + 1;
    this.drops.drop(now, rt.cfg.name, reason, from, message);
  }
}
