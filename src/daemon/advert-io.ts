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
export function advertFrames(ic: InstanceConfig, src: string, dsts: readonly string[], priority: number,
  nextIpId: () => number): Array<{ bytes: Uint8Array; dst: string }> {
  const adv: Advert = { ...template(ic), priority };
  return dsts.map((dst) => {
    const payload = encodeAdvert(adv, ic.family, { src, dst });
    if (ic.family === 6) return { bytes: payload, dst };
    const ttl = ic.unicastPeers.length > 0 ? (ic.unicastTtl ?? 255) : 255;
    return { bytes: buildIpv4Packet(payload, { src, dst, ttl, id: nextIpId() }), dst };
  });
}

export type Received =
  | { ok: true; advert: Advert }
  | { ok: false; reason: DropReason; message: string };

/** The first stage: IP header and VRRP header; no instance yet. VRID from the header if readable. */
export function decodeReceived(p: VrrpPacket, family: 4 | 6):
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
  if (!dec.ok) return { ok: false, reason: dec.reason, message: dec.detail, ...(payload.length >= 2 ? { vrid: payload[1]! } : {}) };
  return { ok: true, advert: dec.advert, payload, ttl };
}

/** The second stage: does the advert match what this instance expects? */
export function checkForInstance(ic: InstanceConfig, p: VrrpPacket, family: 4 | 6, d: { advert: Advert; payload: Buffer; ttl: number }):
  Received {
  const v = validateAdvert(d.payload, d.advert, { family, src: p.src, dst: p.dst, ttl: d.ttl }, expectation(ic));
  return v.ok ? { ok: true, advert: d.advert } : { ok: false, reason: v.reason, message: v.message };
}

/**
 * Drop log lines, aggregated: the first drop of a (instance, reason) logs at once, later ones
 * are counted and reported in one line per `windowUs` ("… 312 more in the last 10 s").
 */
export class DropLog {
  private readonly open = new Map<string, { count: number; from: string; since: number; message: string }>();

  constructor(private readonly windowUs: number, private readonly emit: (key: string, line: string, count: number) => void) {}

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
