import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildGratuitousArp, buildUnsolicitedNa, ipv6Bytes, parseMac } from '../../../src/net/frames.js';

const MAC = '02:00:5e:10:00:01';

test('gratuitous ARP is a broadcast REQUEST with sender = target = VIP and broadcast target HW', () => {
  const f = buildGratuitousArp(MAC, '192.0.2.100');
  assert.equal(
    f.toString('hex'),
    'ffffffffffff' +
      '02005e100001' +
      '0806' + // Ethernet
      '0001' +
      '0800' +
      '06' +
      '04' +
      '0001' + // ARP: Ethernet/IPv4, REQUEST
      '02005e100001' +
      'c0000264' + // sender HW, sender IP
      'ffffffffffff' +
      'c0000264', // target HW broadcast, target IP
  );
});

test('unsolicited NA matches the Wireshark-validated bytes (checksum 0x991c)', () => {
  const f = buildUnsolicitedNa(MAC, '2001:db8::100');
  assert.equal(f.length, 86);
  assert.equal(
    f.toString('hex'),
    '333300000001' +
      '02005e100001' +
      '86dd' +
      '60000000' +
      '0020' +
      '3a' +
      'ff' +
      '20010db8000000000000000000000100' +
      'ff020000000000000000000000000001' +
      '88' +
      '00' +
      '991c' +
      '20000000' +
      '20010db8000000000000000000000100' +
      '0201' +
      '02005e100001',
  );
});

test('unsolicited NA sets the Router flag on request (checksum 0x798a, Wireshark-validated)', () => {
  const f = buildUnsolicitedNa(MAC, 'fe80::1', { router: true });
  assert.equal(f[54 + 4], 0xa0);
  assert.equal(f.readUInt16BE(54 + 2), 0x798a);
});

test('ipv6Bytes handles compression, embedded IPv4, zones and case', () => {
  assert.equal(ipv6Bytes('::').toString('hex'), '0'.repeat(32));
  assert.equal(ipv6Bytes('2001:DB8::1').toString('hex'), '20010db8000000000000000000000001');
  assert.equal(ipv6Bytes('fe80::1%eth0').toString('hex'), 'fe800000000000000000000000000001');
  assert.equal(ipv6Bytes('::ffff:192.0.2.1').toString('hex'), '00000000000000000000ffffc0000201');
  assert.equal(ipv6Bytes('1:2:3:4:5:6:7:8').toString('hex'), '00010002000300040005000600070008');
  assert.throws(() => ipv6Bytes('192.0.2.1'), { code: 'FLOATD_NET_ARG' });
});

test('bad MACs and addresses are argument errors with a clear message', () => {
  assert.deepEqual([...parseMac('AA-bb-cc-00-11-22')], [0xaa, 0xbb, 0xcc, 0, 0x11, 0x22]);
  assert.throws(() => parseMac('aa:bb:cc'), /not a MAC address/);
  assert.throws(() => buildGratuitousArp(MAC, '2001:db8::1'), /not an IPv4 address/);
  assert.throws(() => buildUnsolicitedNa(MAC, '192.0.2.1'), /not an IPv6 address/);
});
