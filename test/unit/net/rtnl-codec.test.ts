import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { addrMessage, broadcastOf, FOREVER, getLink, IFA_F, NLM_F, RTM } from '../../../src/net/rtnl-codec.js';
import { expiredByLifetime, parseMessages, type AddrMsg } from '../../../src/net/rtnl-parse.js';
import { parseRoute, routeMessage } from '../../../src/net/rtnl-route.js';
import { addrRequest } from '../../../src/net/address-netlink.js';
import { Netlink } from '../../../src/net/netlink.js';

test('an address request round-trips: header, ifaddrmsg, local/address, label, cacheinfo', () => {
  const m = addrMessage(
    'add',
    {
      family: 4,
      address: '192.0.2.10',
      prefix: 24,
      index: 3,
      label: 'eth0:vip',
      broadcast: '192.0.2.255',
      validLft: 10,
      preferredLft: 5,
    },
    77,
  );
  assert.equal(m.readUInt32LE(0), m.length);
  assert.equal(m.readUInt16LE(4), RTM.NEWADDR);
  assert.equal(m.readUInt16LE(6), NLM_F.REQUEST | NLM_F.ACK | NLM_F.CREATE | NLM_F.EXCL);
  assert.equal(m.readUInt32LE(8), 77);
  const [p] = parseMessages(m) as AddrMsg[];
  assert.deepEqual(p, {
    kind: 'addr',
    deleted: false,
    family: 4,
    prefix: 24,
    flags: 0,
    scope: 0,
    index: 3,
    address: '192.0.2.10',
    label: 'eth0:vip',
    preferredLft: 5,
    validLft: 10,
  });
  const v6 = parseMessages(
    addrMessage(
      'replace',
      { family: 6, address: '2001:db8::10', prefix: 128, index: 2, flags: IFA_F.NODAD | IFA_F.NOPREFIXROUTE },
      1,
    ),
  )[0] as AddrMsg;
  assert.equal(v6.address, '2001:db8::10');
  assert.equal(v6.flags, IFA_F.NODAD | IFA_F.NOPREFIXROUTE, 'flags above 8 bits travel in IFA_FLAGS');
  const del = addrMessage('del', { family: 4, address: '192.0.2.10', prefix: 32, index: 3, validLft: 9 }, 2);
  assert.equal(del.readUInt16LE(4), RTM.DELADDR);
  assert.equal((parseMessages(del)[0] as AddrMsg).validLft, undefined, 'a delete carries no lifetime');
});

test('AddressSpec → request: keepalived defaults (nodad, preferred 0 for /128), brd +, lifetimes clamped', () => {
  assert.deepEqual(addrRequest({ ifname: 'eth0', address: '2001:db8::10' }, 6, '2001:db8::10', 128), {
    family: 6,
    address: '2001:db8::10',
    prefix: 128,
    flags: IFA_F.NODAD,
    preferredLft: 0,
  });
  assert.deepEqual(
    addrRequest(
      { ifname: 'eth0', address: '192.0.2.10', broadcast: '+', scope: 'link', validLft: 6 },
      4,
      '192.0.2.10',
      24,
    ),
    {
      family: 4,
      address: '192.0.2.10',
      prefix: 24,
      broadcast: '192.0.2.255',
      scope: 253,
      validLft: 6,
      preferredLft: 6,
    },
  );
  assert.equal(broadcastOf('198.51.100.7', 30), '198.51.100.7');
  assert.equal(broadcastOf('198.51.100.4', 30), '198.51.100.7');
  assert.equal(
    addrRequest({ ifname: 'eth0', address: '2001:db8::1', preferredLft: 'forever' }, 6, '2001:db8::1', 64).preferredLft,
    FOREVER,
  );
  assert.throws(
    () => addrRequest({ ifname: 'eth0', address: '192.0.2.1', scope: 'galaxy' }, 4, '192.0.2.1', 32),
    /not a scope/,
  );
});

test('virtual_routes lines: covered ones become netlink routes with iproute2 defaults, the rest go to ip', () => {
  const r = parseRoute([
    '198.51.100.0/24',
    'via',
    '192.0.2.254',
    'dev',
    'eth0',
    'metric',
    '5',
    'table',
    '1000',
    'no_track',
  ])!;
  assert.deepEqual(r, {
    family: 4,
    dst: '198.51.100.0',
    dstLen: 24,
    gateway: '192.0.2.254',
    dev: 'eth0',
    metric: 5,
    table: 1000,
    type: 1,
    onlink: false,
  });
  const add = routeMessage('add', r, 4, 9);
  assert.equal(add.readUInt8(16 + 4), 0, 'table ≥ 256 goes in RTA_TABLE');
  assert.equal(add.readUInt8(16 + 5), 3, 'proto boot');
  assert.equal(add.readUInt8(16 + 6), 0, 'scope universe with a gateway');
  const del = routeMessage('del', parseRoute(['198.51.100.0/24', 'dev', 'eth0'])!, 4, 10);
  assert.equal(del.readUInt8(16 + 6), 255, 'a delete matches any scope');
  assert.equal(parseRoute(['blackhole', '203.0.113.0/24'])?.type, 6);
  assert.equal(parseRoute(['inet6', 'default', 'via', 'fe80::1', 'dev', 'eth0'])?.family, 6);
  assert.equal(parseRoute(['default', 'via', '2001:db8::1'])?.family, 6);
  for (const w of [
    ['198.51.100.0/24', 'nexthop', 'via', '192.0.2.1'],
    ['198.51.100.0/24', 'mtu', '1400'],
    ['198.51.100.0/24', 'via', '2001:db8::1'],
    ['198.51.100.0/33'],
    [],
  ]) {
    assert.equal(parseRoute(w), undefined, w.join(' '));
  }
});

test('kernel messages: links parsed with flags, a lifetime expiry told from a deletion', () => {
  const link = getLink(1, 'eth1');
  assert.equal(link.readUInt16LE(4), RTM.GETLINK);
  const exp: AddrMsg = {
    kind: 'addr',
    deleted: true,
    family: 4,
    index: 2,
    prefix: 32,
    scope: 0,
    flags: 0,
    address: '192.0.2.10',
    validLft: 0,
    preferredLft: 0,
  };
  assert.equal(expiredByLifetime(exp), true);
  assert.equal(expiredByLifetime({ ...exp, validLft: 7 }), false, 'deleted with time left: someone removed it');
  assert.equal(expiredByLifetime({ ...exp, flags: IFA_F.PERMANENT }), false);
});

test('malformed kernel data is skipped, never half-read or thrown (100,000 random and mutated buffers)', () => {
  const good = addrMessage(
    'add',
    { family: 6, address: '2001:db8::10', prefix: 128, index: 2, label: 'x', validLft: 3 },
    5,
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(good.length), fc.nat(255), (rnd, at, v) => {
      parseMessages(Buffer.from(rnd));
      const m = Buffer.from(good);
      m[at % m.length] = v;
      for (const x of parseMessages(m)) if (x.kind === 'addr') assert.ok(x.address.length > 0);
    }),
    { numRuns: 100_000 },
  );
});

test('Netlink client: EEXIST is "already there", a stale ifindex is looked up again once', () => {
  const calls: number[] = [];
  let index = 3;
  const linkReply = (i: number): Buffer => {
    const m = getLink(0, 'eth0');
    m.writeUInt16LE(RTM.NEWLINK, 4);
    m.writeInt32LE(i, 16 + 4);
    return m;
  };
  const nl = new Netlink({
    request: (msg) => {
      const type = msg.readUInt16LE(4);
      calls.push(type);
      if (type === RTM.GETLINK) return [linkReply(index)];
      const idx = msg.readUInt32LE(16 + 4);
      if (idx !== index) throw Object.assign(new Error('no device'), { code: 'ENODEV' });
      if (type === RTM.NEWADDR) throw Object.assign(new Error('exists'), { code: 'EEXIST' });
      throw Object.assign(new Error('not there'), { code: 'EADDRNOTAVAIL' });
    },
  });
  assert.equal(nl.addAddress('eth0', { family: 4, address: '192.0.2.10', prefix: 32 }), false);
  index = 8; // eth0 was deleted and created again
  assert.equal(nl.removeAddress('eth0', { family: 4, address: '192.0.2.10', prefix: 32 }), false);
  assert.deepEqual(calls, [RTM.GETLINK, RTM.NEWADDR, RTM.DELADDR, RTM.GETLINK, RTM.DELADDR]);
  assert.equal(nl.route('add', ['198.51.100.0/24', 'nexthop', 'x']), undefined);
  assert.equal(nl.linkState('eth0'), 'down');
  const broken = new Netlink({
    request: () => {
      throw Object.assign(new Error('too many'), { code: 'EMFILE' });
    },
  });
  assert.equal(broken.linkState('eth0'), 'unknown', 'a failed question is not an answer');
});
