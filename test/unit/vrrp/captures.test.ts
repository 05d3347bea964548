/**
 * Our own captures of Debian's keepalived 2.2.7 (test/fixtures/captures/*.json, recorded by
 * capture.ts with tshark in a lab): every packet decodes, its checksum verifies, and it
 * re-encodes byte for byte, IP header included.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildIpv4Packet,
  decodeAdvert,
  encodeAdvert,
  parseIpv4Packet,
  verifyChecksum,
} from '../../../src/vrrp/packet.js';

const dir = join(new URL('../../../', import.meta.url).pathname.replace(/\/dist\/$/, '/'), 'test/fixtures/captures');
const files = readdirSync(dir).filter((f) => f.startsWith('keepalived-') && f.endsWith('.json'));

test('there are checked-in captures to test against', () => {
  assert.ok(files.length >= 2, files.join(','));
});

for (const f of files) {
  const fx = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { name: string; packets: { hex: string }[] };
  test(`capture ${fx.name}: ${fx.packets.length} keepalived packets round-trip byte for byte`, () => {
    assert.ok(fx.packets.length > 0);
    for (const p of fx.packets) {
      const pkt = Buffer.from(p.hex, 'hex');
      const ip = parseIpv4Packet(pkt);
      assert.ok(ip.ok);
      assert.equal(ip.ttl, 255, 'keepalived sends TTL 255');
      const d = decodeAdvert(ip.payload, 4);
      assert.ok(d.ok, JSON.stringify(d));
      assert.equal(verifyChecksum(ip.payload, 4, ip.src, ip.dst), 'ok');
      const again = buildIpv4Packet(encodeAdvert(d.advert, 4, { src: ip.src, dst: ip.dst }), {
        src: ip.src,
        dst: ip.dst,
        ttl: ip.ttl,
        id: pkt.readUInt16BE(4),
      });
      assert.equal(again.toString('hex'), p.hex);
    }
  });
}
