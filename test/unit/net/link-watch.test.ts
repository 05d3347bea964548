import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LinkWatch, parseMonitorLine, type AddressEvent, type LinkEvent } from '../../../src/net/link-watch.js';
import type { IpRunner } from '../../../src/net/iproute.js';

test('monitor lines are parsed for deletions of IPv4 and IPv6 addresses', () => {
  assert.deepEqual(parseMonitorLine('Deleted 2: eth0    inet 192.0.2.10/24 scope global secondary eth0\\       valid_lft forever preferred_lft forever'),
    { deleted: true, ifname: 'eth0', address: '192.0.2.10' });
  assert.deepEqual(parseMonitorLine('3: veth0    inet6 2001:db8::10/128 scope global nodad'), { deleted: false, ifname: 'veth0', address: '2001:db8::10' });
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
  const run: IpRunner = async () => ({ code: 0, stderr: '', stdout: JSON.stringify([{ ifindex: 2, ifname: 'eth0', addr_info: present.map((a) => ({ family: 'inet6', local: a, prefixlen: 128 })) }]) });
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

test('reconciles re-list addresses rarely while the monitor runs, often while it is down, and once after it restarts', async () => {
  const { EventEmitter } = await import('node:events');
  const { PassThrough } = await import('node:stream');
  let lists = 0;
  const run: IpRunner = async () => { lists++; return { code: 0, stderr: '', stdout: JSON.stringify([{ ifindex: 2, ifname: 'eth0', addr_info: [{ family: 'inet', local: '192.0.2.10', prefixlen: 32 }] }]) }; };
  const monitors: InstanceType<typeof EventEmitter>[] = [];
  const spawnMonitor = () => {
    const m = Object.assign(new EventEmitter(), { stdout: new PassThrough(), kill: () => true });
    monitors.push(m);
    return m as unknown as import('node:child_process').ChildProcess;
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const w = new LinkWatch({ addressPollMs: 400, fallbackPollMs: 20, deps: { readLink: () => true, spawnMonitor, run } }).start();
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

test('a link line from the monitor re-reads the links at once; without a monitor they are polled every 100 ms', async () => {
  const { EventEmitter } = await import('node:events');
  const { PassThrough } = await import('node:stream');
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  let up = true;
  let reads = 0;
  const readLink = () => { reads++; return up; };
  const stdout = new PassThrough();
  const monitor = Object.assign(new EventEmitter(), { stdout, kill: () => true }) as unknown as import('node:child_process').ChildProcess;
  const w = new LinkWatch({ deps: { readLink, spawnMonitor: () => monitor, run: async () => ({ code: 0, stdout: '[]', stderr: '' }) } }).start();
  const seen: LinkEvent[] = [];
  w.on('link', (e) => seen.push(e));
  try {
    w.watchLink('eth1');
    assert.deepEqual(seen, [{ ifname: 'eth1', up: true, exists: true }]);
    await sleep(250);
    const quiet = reads;
    assert.ok(quiet <= 2, `${quiet} reads while nothing happened and the monitor runs`);
    up = false;
    stdout.write('3: eth1@if4: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1500 qdisc noqueue state LOWERLAYERDOWN group default\n');
    await sleep(20);
    assert.deepEqual(seen[1], { ifname: 'eth1', up: false, exists: true }, 'reported from the event, not a poll');
  } finally {
    w.stop();
  }
  let polls = 0;
  const bare = new LinkWatch({ deps: { readLink: () => { polls++; return true; }, spawnMonitor: () => undefined, run: async () => ({ code: 0, stdout: '[]', stderr: '' }) } }).start();
  try {
    bare.watchLink('eth1');
    await sleep(350);
    assert.ok(polls >= 3, `${polls} polls in 350 ms without a monitor`);
  } finally {
    bare.stop();
  }
});
