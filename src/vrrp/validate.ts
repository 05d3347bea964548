/**
 * keepalived's receive checks on a decoded advert, in keepalived's order (vrrp.c vrrp_check_packet), with
 * floatd's stricter defaults as parameters: TTL 255 also in unicast, and unicast adverts only
 * from configured peers. Messages keep keepalived's wording (without the "(instance) " prefix).
 */
import { timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { DropReason } from './drop-reasons.js';
import { isMulticast } from '../util/ip.js';
import { ipBytes, verifyChecksum, type Advert } from './packet.js';

export interface Expect {
  version: 2 | 3;
  authType: 0 | 1;
  /** 8 bytes, zero padded. */
  authPass: Buffer;
  advertIntervalCs: number;
  vips: string[];
  unicast: boolean;
  peers: { address: string; minTtl?: number; maxTtl?: number }[];
  checkUnicastSrc: boolean;
  requireTtl255: boolean;
  v3ChecksumAsV2?: boolean;
}

export interface Meta {
  family: 4 | 6;
  src: string;
  dst: string;
  ttl: number;
}

type Result = { ok: true } | { ok: false; reason: DropReason; message: string };
const fail = (reason: DropReason, message: string): Result => ({ ok: false, reason, message });
const same = (a: string, b: string): boolean => isIP(a) === isIP(b) && ipBytes(a).equals(ipBytes(b));

export function validateAdvert(payload: Buffer, a: Advert, m: Meta, e: Expect): Result {
  const multicastDst = isMulticast(m.dst);
  if ((multicastDst || e.requireTtl255) && m.ttl !== 255 && m.ttl >= 0)
    return fail('ip_ttl_err', `invalid TTL/HL. Received ${m.ttl} and expect 255`);
  if (a.version !== e.version)
    return fail('version_mismatch', `wrong version. Received ${a.version} and expect ${e.version}`);
  if (a.version === 2) {
    if (a.authType > 2) return fail('invalid_authtype', `Invalid auth type: ${a.authType}`);
    if (a.authType !== e.authType)
      return fail('authtype_mismatch', `received a ${a.authType} auth, expecting ${e.authType}!`);
    if (e.authType === 1 && !timingSafeEqual(a.authData.subarray(0, 8), e.authPass.subarray(0, 8)))
      return fail('auth_failure', 'received an invalid passwd!');
    if (a.advertIntervalCs !== e.advertIntervalCs)
      return fail(
        'interval_mismatch',
        `advertisement interval mismatch mine=${e.advertIntervalCs / 100} sec rcv'd=${a.advertIntervalCs / 100} sec`,
      );
  }
  if (a.addresses.length !== e.vips.length)
    return fail(
      'addr_list_err',
      `received an unexpected ip number count ${a.addresses.length}, expected ${e.vips.length}!`,
    );
  const ck = verifyChecksum(payload, m.family, m.src, m.dst, e.v3ChecksumAsV2);
  if (ck === 'bad') return fail('checksum_err', `Invalid VRRPv${a.version} checksum`);
  if (multicastDst === e.unicast)
    return fail(
      'unicast_multicast_mismatch',
      `Expected ${e.unicast ? 'un' : 'mult'}icast packet but received ${multicastDst ? 'mult' : 'un'}icast packet`,
    );
  for (const v of e.vips) {
    if (!a.addresses.some((x) => same(x, v)))
      return fail('addr_list_err', `ip address associated with VRID ${a.vrid} not present in MASTER advert: ${v}`);
  }
  if (e.unicast && e.checkUnicastSrc) {
    const peer = e.peers.find((p) => same(p.address, m.src));
    if (!peer) return fail('not_a_peer', `unicast source address ${m.src} not a unicast peer`);
    const lo = peer.minTtl ?? 0;
    const hi = peer.maxTtl ?? 255;
    if (m.ttl >= 0 && (m.ttl < lo || m.ttl > hi))
      return fail('ip_ttl_err', `TTL/HL ${m.ttl} not in range ${lo} - ${hi}`);
  }
  return { ok: true };
}
