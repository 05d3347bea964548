/**
 * The codec against real keepalived 2.2.7 packets (from /work/shared/reference/
 * keepalived-captures.txt: Ethernet header stripped), byte for byte, plus properties.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  buildIpv4Packet,
  decodeAdvert,
  encodeAdvert,
  parseIpv4Packet,
  verifyChecksum,
  computeChecksum,
  ipBytes,
} from '../../../src/vrrp/packet.js';
import { ipString } from '../../../src/util/ip.js';
import { validateAdvert, type Expect } from '../../../src/vrrp/validate.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const CAPTURES = {
  v2pass: '45c0 0028 0003 0000 ff70 368b c000 020b c000 020c 2121 c801 0101 b7f0 c000 0232 6b65 6570 616c 6976',
  v3: '45c0 0020 0003 0000 ff70 3693 c000 020b c000 020c 3121 c801 0064 bfb1 c000 0232',
  v2prio0: '45c0 0028 000a 0000 ff70 3684 c000 020b c000 020c 2121 0001 0101 7ff1 c000 0232 6b65 6570 616c 6976',
};
// IPv6 v3 payload from keepalived (VRID 34, prio 250 crafted by Node through the kernel's checksum).
const V6 = {
  src: 'fe80::3c55:ecff:fea2:c08a',
  dst: 'ff02::12',
  payload: '3122 fa01 0064 bfcd 2001 0db8 0000 0000 0000 0000 0000 0050',
};

for (const [name, h] of Object.entries(CAPTURES)) {
  test(`keepalived capture ${name}: decoded and re-encoded byte for byte`, () => {
    const pkt = hex(h);
    const ip = parseIpv4Packet(pkt);
    assert.ok(ip.ok);
    const d = decodeAdvert(ip.payload, 4);
    assert.ok(d.ok);
    assert.equal(d.advert.vrid, 33);
    assert.deepEqual(d.advert.addresses, ['192.0.2.50']);
    assert.equal(verifyChecksum(ip.payload, 4, ip.src, ip.dst), 'ok');
    const again = buildIpv4Packet(encodeAdvert(d.advert, 4, { src: ip.src, dst: ip.dst }), {
      src: ip.src,
      dst: ip.dst,
      ttl: ip.ttl,
      id: pkt.readUInt16BE(4),
    });
    assert.equal(again.toString('hex'), pkt.toString('hex'));
  });
}

test('the seed advert carries PASS auth cut to 8 characters and a 1 s interval', () => {
  const ip = parseIpv4Packet(hex(CAPTURES.v2pass));
  assert.ok(ip.ok);
  const d = decodeAdvert(ip.payload, 4);
  assert.ok(d.ok);
  assert.equal(d.advert.priority, 200);
  assert.equal(d.advert.authType, 1);
  assert.equal(d.advert.authData.toString('latin1'), 'keepaliv');
  assert.equal(d.advert.advertIntervalCs, 100);
});

test('IPv6 VRRPv3 advert: decoded, checksum with the RFC 8200 pseudo-header, re-encoded', () => {
  const p = hex(V6.payload);
  const d = decodeAdvert(p, 6);
  assert.ok(d.ok);
  assert.deepEqual(d.advert.addresses, ['2001:db8::50']);
  assert.equal(verifyChecksum(p, 6, V6.src, V6.dst), 'ok');
  assert.equal(encodeAdvert(d.advert, 6, { src: V6.src, dst: V6.dst }).toString('hex'), p.toString('hex'));
});

test('digest checksum vector: VRRPv3 IPv4 0x082d with the pseudo-header, 0xf2c6 without', () => {
  const p = hex('3102 9603 0064 0000 b9cb 7001 0a00 0001 0a00 0801');
  assert.equal(computeChecksum(p, 4, 3, '10.0.0.3', '224.0.0.18'), 0x082d);
  assert.equal(computeChecksum(p, 4, 3, '10.0.0.3', '224.0.0.18', true), 0xf2c6);
});

test('property: encode then decode is the identity (v2/v3, IPv4/IPv6)', () => {
  const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((b) => b.join('.'));
  const v6 = fc
    .array(fc.nat(0xffff), { minLength: 8, maxLength: 8 })
    .map((g) => ipString(Buffer.from(g.flatMap((x) => [x >> 8, x & 0xff])))!);
  fc.assert(
    fc.property(
      fc.constantFrom(4 as const, 6 as const),
      fc.constantFrom(2 as const, 3 as const),
      fc.integer({ min: 1, max: 255 }),
      fc.nat(255),
      fc.integer({ min: 1, max: 20 }),
      fc.integer({ min: 1, max: 40 }),
      (family, version, vrid, priority, n, secs) => {
        const addresses = fc.sample(family === 4 ? v4 : v6, n);
        const a = {
          version,
          vrid,
          priority,
          addresses,
          advertIntervalCs: version === 2 ? secs * 100 : secs * 10,
          authType: version === 2 ? (1 as const) : (0 as const),
          authData: version === 2 ? Buffer.from('secret\0\0') : Buffer.alloc(0),
        };
        const src = family === 4 ? '192.0.2.1' : 'fe80::1';
        const dst = family === 4 ? '224.0.0.18' : 'ff02::12';
        const enc = encodeAdvert(a, family, { src, dst });
        const d = decodeAdvert(enc, family);
        assert.ok(d.ok);
        assert.deepEqual({ ...d.advert, checksum: undefined }, { ...a, checksum: undefined });
        assert.equal(verifyChecksum(enc, family, src, dst), 'ok');
      },
    ),
  );
});

test('property: decoding never throws on arbitrary bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 120 }), fc.constantFrom(4 as const, 6 as const), (b, fam) => {
      decodeAdvert(Buffer.from(b), fam);
      parseIpv4Packet(Buffer.from(b));
    }),
  );
});

test('address helpers round-trip canonical IPv6 text', () => {
  for (const a of ['2001:db8::50', '::1', 'fe80::3c55:ecff:fea2:c08a', '2001:db8:0:1:0:0:0:1']) {
    const s = ipString(ipBytes(a))!;
    assert.deepEqual(ipBytes(s), ipBytes(a));
  }
});

const seedExpect: Expect = {
  version: 2,
  authType: 1,
  authPass: Buffer.from('keepaliv'),
  advertIntervalCs: 100,
  vips: ['192.0.2.50'],
  unicast: true,
  peers: [{ address: '192.0.2.11' }],
  checkUnicastSrc: true,
  requireTtl255: true,
};

function seedAdvert(): { payload: Buffer; advert: ReturnType<typeof decodeAdvert> & { ok: true } } {
  const ip = parseIpv4Packet(hex(CAPTURES.v2pass));
  assert.ok(ip.ok);
  const d = decodeAdvert(ip.payload, 4);
  assert.ok(d.ok);
  return { payload: ip.payload, advert: d };
}

test('validation accepts the seed advert from the configured peer', () => {
  const { payload, advert } = seedAdvert();
  assert.deepEqual(
    validateAdvert(payload, advert.advert, { family: 4, src: '192.0.2.11', dst: '192.0.2.12', ttl: 255 }, seedExpect),
    { ok: true },
  );
});

test('validation drops with a typed reason: wrong password, TTL, not a peer, interval, address list, checksum', () => {
  const { payload, advert } = seedAdvert();
  const meta = { family: 4 as const, src: '192.0.2.11', dst: '192.0.2.12', ttl: 255 };
  const reason = (m = meta, e: Partial<Expect> = {}, p = payload) => {
    const r = validateAdvert(
      p,
      decodeAdvert(p, 4).ok ? (decodeAdvert(p, 4) as { advert: typeof advert.advert }).advert : advert.advert,
      m,
      { ...seedExpect, ...e },
    );
    return r.ok ? 'ok' : r.reason;
  };
  assert.equal(reason(meta, { authPass: Buffer.from('otherpw\0') }), 'auth_failure');
  assert.equal(reason({ ...meta, ttl: 64 }), 'ip_ttl_err');
  assert.equal(reason({ ...meta, ttl: 64 }, { requireTtl255: false }), 'ok');
  assert.equal(reason({ ...meta, src: '192.0.2.99' }), 'not_a_peer');
  // keepalived's default (check_unicast_src off) accepts any source: the v2 checksum does not cover it.
  assert.equal(reason({ ...meta, src: '192.0.2.99' }, { checkUnicastSrc: false }), 'ok');
  assert.equal(reason(meta, { advertIntervalCs: 200 }), 'interval_mismatch');
  assert.equal(reason(meta, { vips: ['192.0.2.51'] }), 'addr_list_err');
  assert.equal(reason(meta, { version: 3 }), 'version_mismatch');
  assert.equal(reason(meta, { authType: 0 }), 'authtype_mismatch');
  const bad = Buffer.from(payload);
  bad[2] = 201; // priority changed, checksum not
  assert.equal(reason(meta, {}, bad), 'checksum_err');
});
