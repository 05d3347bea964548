import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  LinkWatch,
  parseMonitorLine,
  sysfsLinkState,
  type AddressEvent,
  type LinkEvent,
  type LinkState,
} from '../../../src/net/link-watch.js';
import type { Subscribe } from '../../../src/net/link-sources.js';
import type { HandleError } from '../../../src/native/addon.js';
import type { AddrMsg, RtnlMsg } from '../../../src/net/rtnl-parse.js';
import type { IpRunner } from '../../../src/net/iproute.js';

test('monitor lines are parsed for deletions of IPv4 and IPv6 addresses', () => {
  assert.deepEqual(
    parseMonitorLine(
      'Deleted 2: eth0    inet 192.0.2.10/24 scope global secondary ' +
        'eth0\\       valid_lft forever preferred_lft forever',
    ),
    { deleted: true, ifname: 'eth0', address: '192.0.2.10' },
  );
  assert.deepEqual(parseMonitorLine('3: veth0    inet6 2001:db8::10/128 scope global nodad'), {
    deleted: false,
    ifname: 'veth0',
    address: '2001:db8::10',
  });
  assert.equal(parseMonitorLine('Deleted 2: eth0    link/ether'), undefined);
});

test('link changes are reported once per transition, including a vanished interface', () => {
  let state: boolean | undefined = true;
  const w = new LinkWatch({ deps: { readLink: () => state, spawnMonitor: () => undefined } });
  const seen: LinkEvent[] = [];
  w.on('link', (e) => seen.push(e));
  w.watchLink('eth0');
  w.pollLinks();
  state = false;
  w.pollLinks();
  w.pollLinks();
  state = undefined;
  w.pollLinks();
  state = true;
  w.pollLinks();
  assert.deepEqual(seen, [
    { ifname: 'eth0', up: true, exists: true },
    { ifname: 'eth0', up: false, exists: true },
    { ifname: 'eth0', up: true, exists: true },
  ]);
  assert.equal(w.linkUp('eth0'), true);
});

test('a watched VIP deleted by someone else is reported once, from the monitor or the reconcile', async () => {
  let present = ['2001:db8::10'];
  const run: IpRunner = async () => ({
    code: 0,
    stderr: '',
    stdout: JSON.stringify([
      { ifindex: 2, ifname: 'eth0', addr_info: present.map((a) => ({ family: 'inet6', local: a, prefixlen: 128 })) },
    ]),
  });
  const w = new LinkWatch({ deps: { readLink: () => true, spawnMonitor: () => undefined, run } });
  const gone: AddressEvent[] = [];
  w.on('address-removed', (e) => gone.push(e));
  w.watchAddress('eth0', '2001:DB8::10');
  w.watchAddress('eth0', '192.0.2.10');
  w.handleMonitorLine('Deleted 2: eth0    inet 192.0.2.99/32 scope global eth0'); // not watched
  w.handleMonitorLine('Deleted 2: eth0    inet 192.0.2.10/32 scope global eth0');
  w.handleMonitorLine('Deleted 2: eth0    inet 192.0.2.10/32 scope global eth0');
  assert.deepEqual(gone, [{ ifname: 'eth0', address: '192.0.2.10' }]);
  await w.reconcileAddresses();
  assert.equal(gone.length, 1, 'the IPv6 VIP is still there');
  present = [];
  await w.reconcileAddresses();
  assert.deepEqual(gone[1], { ifname: 'eth0', address: '2001:DB8::10' });
  w.unwatchAddress('eth0', '2001:db8::10');
});

test('bad interface names are refused', () => {
  const w = new LinkWatch({ deps: { readLink: () => true, spawnMonitor: () => undefined } });
  assert.throws(() => w.watchLink('bad/name'), { code: 'FLOATD_NET_ARG' });
});

test('reconciles re-list addresses rarely while the monitor runs, often while down, once after a restart', async () => {
  const { EventEmitter } = await import('node:events');
  const { PassThrough } = await import('node:stream');
  let lists = 0;
  const run: IpRunner = async () => {
    lists++;
    return {
      code: 0,
      stderr: '',
      stdout: JSON.stringify([
        { ifindex: 2, ifname: 'eth0', addr_info: [{ family: 'inet', local: '192.0.2.10', prefixlen: 32 }] },
      ]),
    };
  };
  const monitors: InstanceType<typeof EventEmitter>[] = [];
  const spawnMonitor = () => {
    const m = Object.assign(new EventEmitter(), { stdout: new PassThrough(), kill: () => true });
    monitors.push(m);
    return m as unknown as import('node:child_process').ChildProcess;
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const w = new LinkWatch({
    addressPollUs: 400_000,
    fallbackPollUs: 20_000,
    deps: { readLink: () => true, spawnMonitor, run },
  }).start();
  try {
    w.watchAddress('eth0', '192.0.2.10');
    await sleep(150);
    assert.equal(lists, 0, 'no re-list within the monitor period');
    monitors[0]!.emit('exit');
    await sleep(150);
    assert.ok(lists >= 3, `${lists} re-lists while the monitor is down (every 20 ms)`);
    await sleep(1000); // restarted after 1 s, with a catch-up re-list
    assert.equal(monitors.length, 2);
    const after = lists;
    await sleep(150);
    assert.equal(lists, after, 'back to the slow period once the monitor runs again');
  } finally {
    w.stop();
  }
});

test('a monitor link line re-reads links at once; without a monitor they are polled every 100 ms', async () => {
  const { EventEmitter } = await import('node:events');
  const { PassThrough } = await import('node:stream');
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  let up = true;
  let reads = 0;
  const readLink = () => {
    reads++;
    return up;
  };
  const stdout = new PassThrough();
  const monitor = Object.assign(new EventEmitter(), {
    stdout,
    kill: () => true,
  }) as unknown as import('node:child_process').ChildProcess;
  const w = new LinkWatch({
    deps: { readLink, spawnMonitor: () => monitor, run: async () => ({ code: 0, stdout: '[]', stderr: '' }) },
  }).start();
  const seen: LinkEvent[] = [];
  w.on('link', (e) => seen.push(e));
  try {
    w.watchLink('eth1');
    assert.deepEqual(seen, [{ ifname: 'eth1', up: true, exists: true }]);
    await sleep(250);
    const quiet = reads;
    assert.ok(quiet <= 2, `${quiet} reads while nothing happened and the monitor runs`);
    up = false;
    stdout.write(
      '3: eth1@if4: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1500 qdisc noqueue state LOWERLAYERDOWN group default\n',
    );
    await sleep(20);
    assert.deepEqual(seen[1], { ifname: 'eth1', up: false, exists: true }, 'reported from the event, not a poll');
  } finally {
    w.stop();
  }
  let polls = 0;
  const bare = new LinkWatch({
    deps: {
      readLink: () => {
        polls++;
        return true;
      },
      spawnMonitor: () => undefined,
      run: async () => ({ code: 0, stdout: '[]', stderr: '' }),
    },
  }).start();
  try {
    bare.watchLink('eth1');
    await sleep(350);
    assert.ok(polls >= 3, `${polls} polls in 350 ms without a monitor`);
  } finally {
    bare.stop();
  }
});

test('a failed read of the link (EMFILE) is unknown, never "down": no event, the last state stands', () => {
  const emfile = (): string => {
    throw Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' });
  };
  const enoent = (): string => {
    throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
  };
  assert.equal(sysfsLinkState('eth0', emfile), 'unknown');
  assert.equal(sysfsLinkState('eth0', enoent), 'absent');
  assert.equal(
    sysfsLinkState('eth0', (p) => (p.endsWith('flags') ? '0x1003\n' : '1\n')),
    'up',
  );
  assert.equal(
    sysfsLinkState('eth0', (p) => (p.endsWith('flags') ? '0x1002\n' : '1\n')),
    'down',
  );
  assert.equal(
    sysfsLinkState('eth0', (p) => {
      if (p.endsWith('flags')) return '0x1003\n';
      return emfile();
    }),
    'unknown',
  );

  let read: (p: string) => string = (p) => (p.endsWith('flags') ? '0x1003\n' : '1\n');
  const w = new LinkWatch({ deps: { readLink: (i) => sysfsLinkState(i, read), spawnMonitor: () => undefined } });
  const seen: LinkEvent[] = [];
  w.on('link', (e) => seen.push(e));
  w.watchLink('eth0');
  read = emfile; // 20,000 half-open connections later
  w.pollLinks();
  w.handleKernel([{ kind: 'other', type: 0 }]);
  assert.equal(w.linkUp('eth0'), undefined, 'cannot tell');
  assert.deepEqual(seen, [{ ifname: 'eth0', up: true, exists: true }], 'no "down" from a failed read');
  read = (p) => (p.endsWith('flags') ? '0x1002\n' : '0\n');
  w.pollLinks();
  assert.deepEqual(seen[1], { ifname: 'eth0', up: false, exists: true }, 'a real down still counts');
});

/** A fake kernel subscription the test drives. */
function fakeSub(): {
  subscribe: Subscribe;
  emit(m: RtnlMsg[]): void;
  fail(e: HandleError): void;
  closed: () => boolean;
  opened: () => number;
} {
  let onMsgs: ((m: RtnlMsg[]) => void) | undefined;
  let onErr: ((e: HandleError) => void) | undefined;
  let closed = false;
  let opened = 0;
  return {
    subscribe: (m, e) => {
      onMsgs = m;
      onErr = e;
      opened++;
      return {
        close: () => {
          closed = true;
        },
      };
    },
    emit: (m) => onMsgs?.(m),
    fail: (e) => onErr?.(e),
    closed: () => closed,
    opened: () => opened,
  };
}

const addrMsg = (address: string, extra: Partial<AddrMsg> = {}): AddrMsg => ({
  kind: 'addr',
  deleted: true,
  family: address.includes(':') ? 6 : 4,
  index: 2,
  prefix: 32,
  scope: 0,
  flags: 0x80,
  address,
  ...extra,
});

test('netlink mode: link and address events come from the kernel, nothing is polled or spawned', async () => {
  const sub = fakeSub();
  let state: LinkState = 'up';
  let reads = 0,
    spawns = 0;
  const w = new LinkWatch({
    linkPollUs: 5_000,
    fallbackLinkPollUs: 5_000,
    addressPollUs: 5_000,
    fallbackPollUs: 5_000,
    deps: {
      readLink: () => {
        reads++;
        return state;
      },
      spawnMonitor: () => {
        spawns++;
        return undefined;
      },
      subscribe: sub.subscribe,
      indexOf: () => 2,
    },
  }).start();
  const links: LinkEvent[] = [];
  const gone: AddressEvent[] = [];
  w.on('link', (e) => links.push(e));
  w.on('address-removed', (e) => gone.push(e));
  try {
    assert.equal(w.source(), 'netlink');
    w.watchLink('eth1');
    w.watchAddress('eth1', '192.0.2.10');
    w.watchAddress('eth1', '2001:db8::10');
    const before = reads;
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(reads, before, 'no link polls in netlink mode');
    assert.equal(spawns, 0, 'no ip monitor child');
    sub.emit([{ kind: 'link', deleted: false, index: 2, ifname: 'eth1', flags: 0x1003, up: false }]);
    sub.emit([{ kind: 'link', deleted: false, index: 9, ifname: 'other', flags: 0, up: false }]);
    sub.emit([addrMsg('192.0.2.10', { index: 7 })]); // same address on another interface
    sub.emit([addrMsg('192.0.2.10'), addrMsg('2001:db8::10', { flags: 0, validLft: 0 })]);
    assert.deepEqual(links, [
      { ifname: 'eth1', up: true, exists: true },
      { ifname: 'eth1', up: false, exists: true },
    ]);
    assert.deepEqual(gone, [
      { ifname: 'eth1', address: '192.0.2.10' },
      { ifname: 'eth1', address: '2001:db8::10', expired: true },
    ]);
    sub.emit([{ kind: 'link', deleted: false, index: 2, ifname: 'eth1', flags: 0x11043, up: true }]);
    sub.emit([{ kind: 'link', deleted: true, index: 2, ifname: 'eth1', flags: 0, up: false }]);
    assert.deepEqual(links.slice(2), [
      { ifname: 'eth1', up: true, exists: true },
      { ifname: 'eth1', up: false, exists: false },
    ]);
  } finally {
    w.stop();
  }
  assert.equal(sub.closed(), true);
});

test('netlink mode: an overrun re-reads links and addresses; a dead subscription falls back: ip monitor', async () => {
  const sub = fakeSub();
  let state: LinkState = 'up';
  let present = ['192.0.2.10'];
  let spawns = 0;
  const run: IpRunner = async () => ({
    code: 0,
    stderr: '',
    stdout: JSON.stringify([
      { ifindex: 2, ifname: 'eth1', addr_info: present.map((a) => ({ family: 'inet', local: a, prefixlen: 32 })) },
    ]),
  });
  const w = new LinkWatch({
    deps: {
      readLink: () => state,
      spawnMonitor: () => {
        spawns++;
        return undefined;
      },
      subscribe: sub.subscribe,
      run,
    },
  }).start();
  const links: LinkEvent[] = [];
  w.on('link', (e) => links.push(e));
  try {
    w.watchLink('eth1');
    state = 'down';
    sub.fail(Object.assign(new Error('No buffer space available'), { code: 'ENOBUFS', fatal: false }));
    assert.deepEqual(
      links[1],
      { ifname: 'eth1', up: false, exists: true },
      'the lost link event is recovered by the resync',
    );
    assert.equal(w.source(), 'netlink');
    present = [];
    sub.fail(Object.assign(new Error('Bad file descriptor'), { code: 'EBADF', fatal: true }));
    assert.equal(spawns, 1, 'falls back to the ip monitor');
    assert.equal(sub.closed(), true);
  } finally {
    w.stop();
  }
});
