import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveVrrpSocketOptions, type VrrpSocketOptions } from '../../../src/net/vrrp-socket.js';
import { ipv6Bytes } from '../../../src/net/frames.js';
import {
  addAddress,
  addArgs,
  removeAddress,
  routeArgs,
  addRoute,
  removeRoute,
  interfaceInfo,
} from '../../../src/net/addresses.js';
import type { IpResult, IpRunner } from '../../../src/net/iproute.js';
import { Announcer, announceAddress, type GarpDeps } from '../../../src/net/garp.js';
import { native, nativeAvailable, findAddon } from '../../../src/native/addon.js';

const base: VrrpSocketOptions = { family: 4, ifname: 'eth0' };

test('VRRP socket: multicast by default, bound to the standard group', () => {
  assert.deepEqual(resolveVrrpSocketOptions(base), {
    family: 4,
    ifname: 'eth0',
    proto: 112,
    ttl: 255,
    mode: 'multicast',
    local: '224.0.0.18',
    defaultSrc: undefined,
  });
  const v6 = resolveVrrpSocketOptions({ family: 6, ifname: 'eth0', mcastSrc: 'fe80::1%eth0' });
  assert.equal(v6.local, 'ff02::12');
  assert.equal(v6.defaultSrc, 'fe80::1');
});

test('VRRP socket: peers select unicast bound to unicast_src_ip', () => {
  const r = resolveVrrpSocketOptions({ ...base, unicastSrc: '192.0.2.1', peers: ['192.0.2.2', '192.0.2.3'] });
  assert.equal(r.mode, 'unicast');
  assert.equal(r.local, '192.0.2.1');
});

test('VRRP socket: bad options are clear argument errors', () => {
  const bad: [Partial<VrrpSocketOptions> & Record<string, unknown>, RegExp][] = [
    [{ family: 5 as 4 }, /family must be 4 or 6/],
    [{ ifname: 'a-very-long-interface-name' }, /interface name/],
    [{ ifname: '' }, /interface name/],
    [{ peers: ['192.0.2.2'] }, /needs unicastSrc/],
    [{ unicastSrc: '2001:db8::1', peers: ['192.0.2.2'] }, /unicast_src_ip .* not an IPv4 address/],
    [{ unicastSrc: '192.0.2.1', peers: ['224.0.0.18'] }, /is a multicast address/],
    [{ mcastGroup: '192.0.2.9' }, /not a multicast address/],
    [{ ttl: 0 }, /ttl must be 1..255/],
    [{ proto: 51, family: 6 }, /proto must be 112/],
    [{ peers: 'x' as unknown as string[] }, /peers must be an array/],
  ];
  for (const [o, re] of bad) {
    assert.throws(
      () => resolveVrrpSocketOptions({ ...base, ...o } as VrrpSocketOptions),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, 'FLOATD_NET_ARG');
        assert.match(e.message, re);
        return true;
      },
    );
  }
});

test('address add arguments follow keepalived: IPv6 nodad and preferred_lft 0 for /128', () => {
  assert.deepEqual(
    addArgs({ ifname: 'eth0', address: '192.0.2.10', prefix: 24, broadcast: '+', scope: 'global', label: 'eth0:vip' }),
    ['addr', 'add', '192.0.2.10/24', 'broadcast', '+', 'scope', 'global', 'dev', 'eth0', 'label', 'eth0:vip'],
  );
  assert.deepEqual(addArgs({ ifname: 'eth0', address: '2001:db8::10' }), [
    'addr',
    'add',
    '2001:db8::10/128',
    'dev',
    'eth0',
    'nodad',
    'preferred_lft',
    '0',
  ]);
  assert.deepEqual(addArgs({ ifname: 'eth0', address: '2001:db8::10', prefix: 64, nodad: false }), [
    'addr',
    'add',
    '2001:db8::10/64',
    'dev',
    'eth0',
  ]);
  assert.throws(() => addArgs({ ifname: 'eth0', address: '192.0.2.1', prefix: 33 }), /out of range/);
  assert.throws(() => addArgs({ ifname: 'eth0', address: '2001:db8::1', label: 'x' }), /IPv4 only/);
  assert.throws(() => addArgs({ ifname: 'eth0', address: 'nope' }), /not an IP address/);
});

/** A fake `ip` holding one interface's address list. */
function fakeIp(addrs: string[]): { run: IpRunner; calls: string[][] } {
  const calls: string[][] = [];
  const ok = (stdout = ''): IpResult => ({ code: 0, stdout, stderr: '' });
  const run: IpRunner = async (args) => {
    calls.push(args);
    const a = args.filter((x) => x !== '-json');
    if (a[0] === 'addr' && a[1] === 'show') {
      return ok(
        JSON.stringify([
          {
            ifindex: 2,
            ifname: 'eth0',
            flags: ['BROADCAST', 'UP', 'LOWER_UP'],
            mtu: 1500,
            operstate: 'UP',
            address: '02:00:00:00:00:01',
            addr_info: addrs.map((x) => ({
              family: x.includes(':') ? 'inet6' : 'inet',
              local: x.split('/')[0],
              prefixlen: Number(x.split('/')[1]),
              scope: x.startsWith('fe80') ? 'link' : 'global',
            })),
          },
        ]),
      );
    }
    // Like the kernel: an address is present by value (IPv6 written differently is the same one).
    const same = (x: string, y: string): boolean =>
      x.includes(':') && y.includes(':')
        ? ipv6Bytes(x.split('/')[0]!).equals(ipv6Bytes(y.split('/')[0]!)) && x.split('/')[1] === y.split('/')[1]
        : x === y;
    if (a[0] === 'addr' && a[1] === 'add')
      return addrs.some((x) => same(x, a[2]!))
        ? { code: 2, stdout: '', stderr: 'RTNETLINK answers: File exists' }
        : (addrs.push(a[2]!), ok());
    if (a[0] === 'addr' && a[1] === 'del') {
      const i = addrs.indexOf(a[2]!);
      return i < 0 ? { code: 2, stdout: '', stderr: 'Error: ipv4: Address not found.' } : (addrs.splice(i, 1), ok());
    }
    return { code: 1, stdout: '', stderr: 'unexpected' };
  };
  return { run, calls };
}

test('addAddress / removeAddress are idempotent and say whether they changed anything', async () => {
  const { run } = fakeIp(['192.0.2.1/24']);
  const vip = { ifname: 'eth0', address: '192.0.2.10', prefix: 24 };
  assert.equal(await addAddress(vip, run), true);
  assert.equal(await addAddress(vip, run), false);
  assert.equal(await removeAddress(vip, run), true);
  assert.equal(await removeAddress(vip, run), false);
});

test('an IPv6 VIP written differently is still recognised as present', async () => {
  const { run, calls } = fakeIp(['2001:db8::10/128']);
  assert.equal(await addAddress({ ifname: 'eth0', address: '2001:DB8:0:0::10' }, run), false);
  assert.equal(calls.length, 1, 'one ip call: the add, answered "File exists"');
});

test('a failing ip command surfaces as an error with the kernel message', async () => {
  const run: IpRunner = async () => ({ code: 2, stdout: '', stderr: 'RTNETLINK answers: Operation not permitted' });
  await assert.rejects(removeAddress({ ifname: 'eth0', address: '192.0.2.10' }, run), {
    code: 'FLOATD_IP',
    message: /Operation not permitted/,
  });
});

test('interfaceInfo picks the primary IPv4 and the link-local IPv6 address', async () => {
  const { run } = fakeIp(['192.0.2.1/24', '192.0.2.10/32', 'fe80::1/64', '2001:db8::1/64']);
  const i = await interfaceInfo('eth0', run);
  assert.equal(i.ifindex, 2);
  assert.equal(i.mac, '02:00:00:00:00:01');
  assert.equal(i.up, true);
  assert.equal(i.ipv4, '192.0.2.1');
  assert.equal(i.linkLocal6, 'fe80::1');
});

test('virtual_routes: keepalived-only words are dropped and inet6 selects -6', async () => {
  assert.deepEqual(routeArgs('198.51.100.0/24 via 192.0.2.254 dev eth0 no_track'), {
    family: [],
    args: ['198.51.100.0/24', 'via', '192.0.2.254', 'dev', 'eth0'],
  });
  assert.deepEqual(routeArgs('inet6 default via 2001:db8::fe').family, ['-6']);
  assert.deepEqual(routeArgs('2001:db8:1::/64 dev eth0').family, ['-6']);
  assert.throws(() => routeArgs('  '), /empty route/);
  const exists: IpRunner = async () => ({ code: 2, stdout: '', stderr: 'RTNETLINK answers: File exists' });
  assert.equal(await addRoute('198.51.100.0/24 dev eth0', exists), false);
  const gone: IpRunner = async () => ({ code: 2, stdout: '', stderr: 'RTNETLINK answers: No such process' });
  assert.equal(await removeRoute('198.51.100.0/24 dev eth0', gone), false);
});

test('announceAddress sends GARP for IPv4, NA (with Router flag when forwarding) for IPv6, nothing on NOARP', () => {
  const sent: Buffer[] = [];
  const deps = (noarp: boolean, fwd: boolean): GarpDeps => ({
    openLink: () => ({
      info: () => ({ mac: '02:00:00:00:00:01', noarp }),
      send: (f) => (sent.push(f), f.length),
      close: () => undefined,
    }),
    forwarding: () => fwd,
  });
  assert.equal(announceAddress('eth0', '192.0.2.10', deps(false, false)), true);
  assert.equal(sent[0]!.readUInt16BE(12), 0x0806);
  assert.equal(announceAddress('eth0', '2001:db8::10', deps(false, true)), true);
  assert.equal(sent[1]!.readUInt16BE(12), 0x86dd);
  assert.equal(sent[1]![58], 0xa0);
  assert.equal(announceAddress('eth0', '192.0.2.10', deps(true, false)), false);
  assert.equal(sent.length, 2);
  assert.throws(() => announceAddress('eth0', 'nope', deps(false, false)), /not an IP address/);
});

test('Announcer keeps one socket per interface for every frame, and reopens it once after ENODEV', () => {
  let opened = 0;
  let closed = 0;
  let failNext = false;
  const a = new Announcer({
    openLink: () => {
      opened++;
      return {
        info: () => ({ mac: '02:00:00:00:00:01', noarp: false }),
        send: (f) => {
          if (failNext) {
            failNext = false;
            throw Object.assign(new Error('gone'), { code: 'ENXIO' });
          }
          return f.length;
        },
        close: () => void closed++,
      };
    },
    forwarding: () => false,
  });
  a.prepare('eth0');
  for (let i = 0; i < 40; i++) a.announce('eth0', `192.0.2.${10 + i}`);
  assert.equal(opened, 1, 'one socket for 40 VIPs');
  failNext = true;
  assert.equal(a.announce('eth0', '192.0.2.10'), true);
  assert.deepEqual([opened, closed], [2, 1]);
  a.announce('eth1', '192.0.2.10');
  assert.deepEqual(a.openInterfaces(), ['eth0', 'eth1']);
  a.close();
  assert.deepEqual([opened, closed, a.openInterfaces().length], [3, 3, 0]);
});

test('a missing addon is reported with how to build it', () => {
  const saved = process.env.FLOATD_NATIVE;
  process.env.FLOATD_NATIVE = '/nonexistent/floatd_native.node';
  try {
    assert.equal(findAddon(), undefined);
  } finally {
    if (saved === undefined) delete process.env.FLOATD_NATIVE;
    else process.env.FLOATD_NATIVE = saved;
  }
});

test(
  'addon validates its arguments and reports errno names',
  { skip: !nativeAvailable() && 'native addon not built' },
  () => {
    const n = native();
    assert.throws(() => n.rawOpen(5 as 4, 112, {}, () => undefined), { name: 'TypeError', code: 'EINVAL' });
    assert.throws(() => n.rawOpen(4, 112, { ifname: 'eth0' }, 'x' as never), /callback must be a function/);
    assert.throws(() => n.rawOpen(4, 112, { ifname: 'nosuchif0' }, () => undefined), { code: 'ENODEV' });
    assert.throws(() => n.rawOpen(4, 112, { ifname: 'lo', bind: 'bogus' }, () => undefined), /invalid IPv4 address/);
    assert.throws(() => n.rawSend({} as never, Buffer.alloc(1), '192.0.2.1'), /not a raw socket handle/);
    assert.throws(() => n.ifInfo('nosuchif0'), { code: 'ENODEV' });
    const lo = n.ifInfo('lo');
    assert.equal(lo.ifindex, 1);
    assert.equal(lo.ifname, 'lo');
    assert.equal(lo.up, true);
    assert.equal(lo.hwtype, 772);
    if (process.getuid?.() !== 0)
      assert.throws(() => n.rawOpen(4, 112, { ifname: 'lo' }, () => undefined), { code: 'EPERM' });
  },
);

test(
  'addon: an interface name of exactly 15 characters reaches the kernel; 16 are refused',
  { skip: !nativeAvailable() && 'native addon not built' },
  () => {
    const n = native();
    // 15 characters fill IFNAMSIZ (16) with the NUL: the kernel answers (no such device), not the argument check.
    assert.throws(() => n.ifInfo('abcdefghijklmno'), { code: 'ENODEV' });
    assert.throws(() => n.ifInfo('abcdefghijklmnop'), { name: 'TypeError', message: /ifname is too long/ });
    assert.throws(() => n.ifInfo('lo\0x'), { name: 'TypeError', message: /NUL/ });
    assert.throws(() => n.rawOpen(4, 112, { ifname: 'abcdefghijklmno' }, () => undefined), { code: 'ENODEV' });
    assert.throws(() => n.packetOpen('abcdefghijklmno'), { code: 'ENODEV' });
    assert.throws(() => n.packetOpen('abcdefghijklmnop'), { name: 'TypeError' });
  },
);

/** One control message: cmsghdr (len u64, level i32, type i32) + payload, padded to 8. */
function cmsg(level: number, type: number, payload: Buffer, lenOverride?: number): Buffer {
  const b = Buffer.alloc(16 + Math.ceil(payload.length / 8) * 8);
  b.writeBigUInt64LE(BigInt(lenOverride ?? 16 + payload.length), 0);
  b.writeInt32LE(level, 8);
  b.writeInt32LE(type, 12);
  payload.copy(b, 16);
  return b;
}

test(
  'addon: control messages shorter than their payload type are ignored, not copied',
  { skip: !nativeAvailable() && 'native addon not built' },
  () => {
    const n = native();
    const IPPROTO_IP = 0,
      IP_PKTINFO = 8,
      IP_TTL = 2;
    // struct in_pktinfo: ifindex i32, spec_dst, addr
    const pi = Buffer.from([3, 0, 0, 0, 192, 0, 2, 1, 224, 0, 0, 18]);
    const ttl = Buffer.from([255, 0, 0, 0]);
    assert.deepEqual(
      n._parseControl(Buffer.concat([cmsg(IPPROTO_IP, IP_PKTINFO, pi), cmsg(IPPROTO_IP, IP_TTL, ttl)])),
      { dst: '224.0.0.18', ttl: 255, ifindex: 3 },
    );
    // cmsg_len claims 4 payload bytes: the 12-byte in_pktinfo and the 4-byte TTL must not be read from it.
    assert.deepEqual(
      n._parseControl(Buffer.concat([cmsg(IPPROTO_IP, IP_PKTINFO, pi, 20), cmsg(IPPROTO_IP, IP_TTL, ttl, 18)])),
      { dst: '', ttl: -1, ifindex: 0 },
    );
  },
);

test(
  'addon: handles carry a type tag, so one kind passed for another is refused',
  { skip: !nativeAvailable() && 'native addon not built' },
  () => {
    const n = native();
    const nl = n.nlOpen(0, null);
    try {
      assert.throws(() => n.rawSend(nl as never, Buffer.alloc(20), '192.0.2.1'), {
        name: 'TypeError',
        message: /not a raw socket handle/,
      });
      assert.throws(() => n.packetSend(nl as never, Buffer.alloc(60)), {
        name: 'TypeError',
        message: /not a packet socket handle/,
      });
      assert.throws(() => n.pidUnwatch(nl as never), { name: 'TypeError', message: /not a pidfd handle/ });
      assert.throws(() => n.rawClose(nl as never), { name: 'TypeError' });
    } finally {
      n.nlClose(nl);
    }
  },
);

test("prepareDataplane opens each interface's packet socket once, up front, and reports failures", async () => {
  const { prepareDataplane } = await import('../../../src/net/prepare.js');
  const opened: string[] = [];
  const a = new Announcer({
    openLink: (i) => {
      if (i === 'gone0') throw Object.assign(new Error('interface gone0: No such device'), { code: 'ENODEV' });
      opened.push(i);
      return {
        info: () => ({ mac: '02:00:00:00:00:01', noarp: false }),
        send: (f) => f.length,
        close: () => undefined,
      };
    },
    forwarding: () => false,
  });
  const r = prepareDataplane(['eth0', 'eth1', 'eth0', 'gone0'], a);
  assert.deepEqual(opened, ['eth0', 'eth1']);
  assert.deepEqual(r.failed, [{ ifname: 'gone0', error: 'interface gone0: No such device' }]);
  a.announce('eth0', '192.0.2.10');
  assert.deepEqual(opened, ['eth0', 'eth1'], 'the takeover opens nothing');
});

test('a VRRP socket whose handle died (fatal poll error) is reopened at once; failing that, fatal', async () => {
  const { openVrrpSocket } = await import('../../../src/net/vrrp-socket.js');
  const cbs: ((err: (NodeJS.ErrnoException & { fatal?: boolean }) | null) => void)[] = [];
  let failOpen = false;
  const refs: boolean[] = [];
  const ops = {
    rawOpen: (_f: 4 | 6, _p: number, _o: unknown, cb: (err: null) => void) => {
      if (failOpen) throw Object.assign(new Error('socket: Too many open files'), { code: 'EMFILE' });
      cbs.push(cb as never);
      return { id: cbs.length } as never;
    },
    rawSend: (h: { id: number }) => h.id,
    rawClose: () => undefined,
    rawSetRef: (_h: unknown, r: boolean) => void refs.push(r),
  };
  const s = openVrrpSocket({ family: 4, ifname: 'eth0' }, ops as never);
  const errs: (NodeJS.ErrnoException & { fatal?: boolean; reopened?: boolean })[] = [];
  s.on('error', (e) => errs.push(e));
  s.ref(false);
  cbs[0]!(Object.assign(new Error('EBADF'), { code: 'EBADF', fatal: true }));
  assert.equal(cbs.length, 2, 'reopened');
  assert.deepEqual([errs[0]?.fatal, errs[0]?.reopened], [false, true]);
  assert.deepEqual(refs, [false, false], 'the reopened socket keeps ref(false)');
  assert.equal(s.send(Buffer.alloc(20), '224.0.0.18'), 2, 'sends go through the new handle');
  cbs[0]!(Object.assign(new Error('EBADF'), { code: 'EBADF', fatal: true }));
  assert.equal(cbs.length, 2, "a stale handle's error reopens nothing");
  failOpen = true;
  cbs[1]!(Object.assign(new Error('EBADF'), { code: 'EBADF', fatal: true }));
  assert.deepEqual([errs.at(-1)?.code, errs.at(-1)?.fatal], ['EMFILE', true]);
  assert.throws(() => s.send(Buffer.alloc(20), '224.0.0.18'), { code: 'EBADF' });
});
