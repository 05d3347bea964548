import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ipBytes, ipString, isMulticast, stripZone } from '../../../src/util/ip.js';

const hex = (a: string, family?: 4 | 6): string | undefined => ipBytes(a, family)?.toString('hex');

test('IPv4 text becomes its 4 bytes', () => {
  assert.equal(hex('192.0.2.1'), 'c0000201');
  assert.equal(hex('0.0.0.0'), '00000000');
  assert.equal(hex('255.255.255.255'), 'ffffffff');
  assert.equal(hex('198.51.100.7', 4), 'c6336407');
  assert.equal(hex('198.51.100.7', 6), undefined);
});

test('IPv6 text becomes its 16 bytes: :: anywhere, embedded IPv4, zones, case', () => {
  assert.equal(hex('::'), '0'.repeat(32));
  assert.equal(hex('::1'), '0'.repeat(31) + '1');
  assert.equal(hex('2001:db8::'), '20010db8' + '0'.repeat(24));
  assert.equal(hex('2001:DB8::1'), '20010db8000000000000000000000001');
  assert.equal(hex('2001:db8:0:1::5:6'), '20010db8000000010000000000050006');
  assert.equal(hex('1:2:3:4:5:6:7:8'), '00010002000300040005000600070008');
  assert.equal(hex('::ffff:192.0.2.1'), '00000000000000000000ffffc0000201');
  assert.equal(hex('::192.0.2.1'), '000000000000000000000000c0000201');
  assert.equal(hex('64:ff9b::203.0.113.9'), '0064ff9b0000000000000000cb007109');
  assert.equal(hex('1:2:3:4:5:6:203.0.113.9'), '000100020003000400050006cb007109');
  assert.equal(hex('fe80::1%eth0'), 'fe800000000000000000000000000001');
  assert.equal(hex('2001:db8::1', 6), '20010db8000000000000000000000001');
  assert.equal(hex('2001:db8::1', 4), undefined);
});

test('garbage is not an address', () => {
  for (const g of [
    '',
    'x',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '1.2.3.4%eth0',
    ' 1.2.3.4',
    '1::2::3',
    ':::',
    '1:2:3:4:5:6:7:8:9',
    '12345::1',
    'g::1',
    '::1.2.3',
    '::ffff:1.2.3.256',
    '2001:db8::/64',
    'example.com',
  ]) {
    assert.equal(ipBytes(g), undefined, g);
  }
});

test('bytes to text is RFC 5952 and round-trips through the parser', () => {
  assert.equal(ipString(Buffer.from('c0000201', 'hex')), '192.0.2.1');
  assert.equal(ipString(Buffer.from('20010db8000000000000000000000001', 'hex')), '2001:db8::1');
  assert.equal(ipString(Buffer.from('20010db8000000010000000000050006', 'hex')), '2001:db8:0:1::5:6');
  assert.equal(ipString(Buffer.from('20010db8000100000001000000000000', 'hex')), '2001:db8:1:0:1::');
  assert.equal(ipString(Buffer.alloc(5)), undefined);
  fc.assert(
    fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (a) => {
      const b = ipBytes(a);
      assert.ok(b, a);
      assert.deepEqual(ipBytes(ipString(b)!), b);
    }),
  );
});

test('multicast: 224.0.0.0/4 and ff00::/8 only', () => {
  for (const m of ['224.0.0.18', '239.255.255.255', 'ff02::12', 'FF05::1', 'ff02::1%eth0'])
    assert.ok(isMulticast(m), m);
  for (const u of ['223.255.255.255', '240.0.0.1', '192.0.2.1', 'fe80::1', '2001:db8::ff', 'ff', 'garbage'])
    assert.ok(!isMulticast(u), u);
  assert.equal(stripZone('fe80::1%eth0'), 'fe80::1');
  assert.equal(stripZone('2001:db8::1'), '2001:db8::1');
});
