/**
 * The shipped Runtime on in-memory ports (issue 15 items 1, 2, 8, 19): a socket that fails to
 * open, a missing interface, a reload to a file without instances, hostile packets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { parseConfigText } from '../../../src/config/index.js';
import { Runtime } from '../../../src/daemon/runtime.js';
import type { DataplanePort, LinkWatchPort } from '../../../src/daemon/ports.js';
import type { VrrpSocket, VrrpSocketOptions } from '../../../src/net/vrrp-socket.js';
import { VirtualUsClock } from '../../support/virtual-us-clock.js';
import fc from 'fast-check';
import { buildIpv4Packet, encodeAdvert } from '../../../src/vrrp/packet.js';

const CONF = `
vrrp_instance VI_1 {
  interface eth0
  state BACKUP
  virtual_router_id 51
  priority 150
  advert_int 1
  virtual_ipaddress { 203.0.113.51/24 }
}
`;

class FakeSocket extends EventEmitter implements VrrpSocket {
  readonly family = 4 as const;
  readonly ifname = 'eth0';
  readonly mode = 'multicast' as const;
  readonly localAddress = '224.0.0.18';
  sent = 0;
  send(b: Uint8Array): number {
    this.sent++;
    return b.length;
  }
  ref(): void {
    /* virtual */
  }
  close(): void {
    /* virtual */
  }
}

class FakeLink extends EventEmitter implements LinkWatchPort {
  up = true;
  watchLink(): void {
    /* one link */
  }
  linkUp(): boolean | undefined {
    return this.up ? true : undefined;
  }
  watchAddress(): void {
    /* none */
  }
  unwatchAddress(): void {
    /* none */
  }
  start(): this {
    return this;
  }
  stop(): void {
    /* none */
  }
}

function harness(
  o: {
    conf?: () => string;
    failOpens?: number;
    noInterface?: boolean;
    procs?: () => Array<{ pid: number; comm: string }>;
  } = {},
) {
  const clock = new VirtualUsClock();
  const addrs = new Set<string>();
  const link = new FakeLink();
  link.up = !o.noInterface;
  let fails = o.failOpens ?? 0;
  const sockets: FakeSocket[] = [];
  const dataplane: DataplanePort = {
    interfaceInfo: async () => (o.noInterface ? undefined : { ipv4: '192.0.2.10' }),
    addAddress: async (s) => {
      const had = addrs.has(s.address);
      addrs.add(s.address);
      return !had;
    },
    removeAddress: async (s) => addrs.delete(s.address),
    addRoute: async () => true,
    removeRoute: async () => true,
    refreshLifetime: async () => undefined,
    announce: () => true,
    listAddresses: async () => [...addrs],
  };
  const rt = new Runtime({
    configFile: 'test.conf',
    clock,
    log: pino({ level: 'silent' }),
    dataplane,
    linkWatch: () => link,
    ...(o.procs ? { trackerHooks: { scan: async () => o.procs!() } } : {}),
    load: async () => {
      const r = parseConfigText(o.conf?.() ?? CONF, 'test.conf');
      return { config: r.config, errors: r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message) };
    },
    openSocket: (_so: VrrpSocketOptions) => {
      if (fails > 0) {
        fails--;
        throw Object.assign(new Error('Cannot assign requested address'), { code: 'EADDRNOTAVAIL' });
      }
      const s = new FakeSocket();
      sockets.push(s);
      return s;
    },
  });
  return { clock, addrs, link, sockets, rt, state: () => rt.machine('VI_1')?.state };
}

test('a VRRP socket that will not open: FAULT with its reason, backoff, BACKUP, MASTER (issue 15 item 1)', async () => {
  const h = harness({ failOpens: 2 });
  await h.rt.start();
  await h.clock.runUntil(10_000);
  assert.equal(h.state(), 'FAULT');
  assert.match(h.rt.status().instances[0]!.lastReason, /cannot open VRRP socket/);
  assert.equal(h.addrs.size, 0, 'no VIP while the socket is down');
  await h.clock.runUntil(1_100_000); // first retry after 1 s fails again
  assert.equal(h.state(), 'FAULT');
  await h.clock.runUntil(3_200_000); // second retry after 2 s more opens it
  assert.equal(h.state(), 'BACKUP');
  await h.clock.runUntil(8_000_000);
  assert.equal(h.state(), 'MASTER');
  assert.ok(h.sockets[0]!.sent > 0, 'it advertises');
  assert.ok(h.addrs.has('203.0.113.51'));
});

test('an instance whose interface does not exist is FAULT and never adds its VIP (issue 15 item 2)', async () => {
  const h = harness({ noInterface: true });
  await h.rt.start();
  await h.clock.runUntil(20_000_000);
  assert.equal(h.state(), 'FAULT');
  assert.equal(h.addrs.size, 0);
  assert.equal(h.rt.status().transitions.filter((t) => t.to === 'MASTER').length, 0);
});

test('a reload to a file without vrrp_instance is refused; the instance keeps running (issue 15 item 8)', async () => {
  let text = CONF;
  const h = harness({ conf: () => text });
  await h.rt.start();
  await h.clock.runUntil(8_000_000);
  assert.equal(h.state(), 'MASTER');
  text = '';
  const r = await h.rt.reload();
  assert.equal(r.ok, false);
  assert.equal((r as { code?: string }).code, 'RELOAD_NO_INSTANCE');
  const sent = h.sockets[0]!.sent;
  await h.clock.runUntil(12_000_000);
  assert.equal(h.state(), 'MASTER');
  assert.ok(h.sockets[0]!.sent > sent, 'adverts continue');
});

test('hostile packets land in counters: short, bad type/version/length, unknown VRID (issue 15 item 19)', async () => {
  const h = harness();
  await h.rt.start();
  await h.clock.runUntil(1000);
  const s = h.sockets[0]!;
  const ip = (payload: number[]): Buffer => {
    const b = Buffer.alloc(20 + payload.length);
    b[0] = 0x45;
    b.writeUInt16BE(b.length, 2);
    b[8] = 255;
    b[9] = 112;
    b.set([192, 0, 2, 99], 12);
    b.set([224, 0, 0, 18], 16);
    b.set(payload, 20);
    return b;
  };
  const pkt = (data: Buffer) => ({ data, src: '192.0.2.99', dst: '224.0.0.18', ttl: 255, ifindex: 1 });
  s.emit('packet', pkt(Buffer.from([0x45, 0]))); // truncated IP
  s.emit('packet', pkt(ip([0x21, 51, 100, 1, 0, 1, 0, 0]))); // length error (1 address, none sent)
  s.emit('packet', pkt(ip([0x23, 51, 100, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]))); // bad type
  s.emit('packet', pkt(ip([0x51, 51, 100, 0, 0, 1, 0, 0]))); // bad version
  s.emit('packet', pkt(ip([0x21, 99, 100, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]))); // VRID 99
  const dropped = h.rt.status().instances[0]!.counters.dropped;
  const total = Object.values(dropped).reduce((a, b) => a + b, 0);
  assert.equal(total, 5, JSON.stringify(dropped));
  assert.ok((dropped['packet_len_err'] ?? 0) + (dropped['truncated'] ?? 0) >= 2, JSON.stringify(dropped));
  assert.ok((dropped['unknown_vrid'] ?? 0) + (dropped['checksum_err'] ?? 0) >= 1, JSON.stringify(dropped));
});

test('a reload while a notify script runs does not wait for it: adverts go on (issue 15 item 7)', async () => {
  const base = CONF.replace('advert_int 1', 'advert_int 1\n  notify_master "/bin/sleep 3"');
  let text = base;
  const h = harness({ conf: () => text });
  await h.rt.start();
  await h.clock.runUntil(8_000_000);
  assert.equal(h.state(), 'MASTER', 'notify_master is running now');
  text = base.replace('priority 150', 'priority 160');
  // The old runtime awaited the notifier (and its running script) before rebuilding: on this
  // virtual clock that wait never ends. Give the reload one real second.
  const wall = new Promise<'stuck'>((r) => {
    const t = setTimeout(() => r('stuck'), 1000);
    t.unref();
  });
  const r = await Promise.race([h.rt.reload(), wall]);
  assert.notEqual(r, 'stuck', 'the reload waited for the notify script');
  const sent = h.sockets.at(-1)!.sent;
  await h.clock.runUntil(11_000_000);
  assert.equal(h.state(), 'MASTER');
  assert.ok(h.sockets.at(-1)!.sent > sent, 'adverts continue after the reload');
});

test('status shows VIP presence from the kernel, not from intent (issue 15 item 26)', async () => {
  const h = harness();
  await h.rt.start();
  await h.clock.runUntil(8_000_000);
  assert.equal(h.state(), 'MASTER');
  h.rt.status();
  await h.clock.runUntil(8_100_000);
  assert.equal(h.rt.status().instances[0]!.vips[0]!.present, true);
  h.addrs.delete('203.0.113.51'); // gone behind floatd's back, no event
  h.rt.status();
  await h.clock.runUntil(8_200_000);
  assert.equal(h.rt.status().instances[0]!.vips[0]!.present, false);
});

const PROC = (weight: string): string =>
  `
vrrp_track_process chk_nginx {
  process nginx
  quorum 1
  ${weight}
}
` + CONF.replace('advert_int 1', 'advert_int 1\n  track_process {\n    chk_nginx\n  }');

test('vrrp_track_process with weight 0: quorum lost puts the instance in FAULT (issue 15 item 3)', async () => {
  let running = true;
  const h = harness({ conf: () => PROC('weight 0'), procs: () => (running ? [{ pid: 4242, comm: 'nginx' }] : []) });
  await h.rt.start();
  await h.clock.runUntil(8_000_000);
  assert.equal(h.state(), 'MASTER');
  running = false;
  await h.clock.runUntil(10_000_000);
  assert.equal(h.state(), 'FAULT');
  assert.equal(h.addrs.size, 0);
});

test('vrrp_track_process without weight: quorum lost is FAULT, as in keepalived 2.2.7 (issue 15 item 3)', async () => {
  let running = true;
  const h = harness({ conf: () => PROC(''), procs: () => (running ? [{ pid: 4242, comm: 'nginx' }] : []) });
  await h.rt.start();
  await h.clock.runUntil(8_000_000);
  assert.equal(h.state(), 'MASTER');
  assert.equal(h.rt.machine('VI_1')?.effectivePriority, 150);
  running = false;
  await h.clock.runUntil(10_000_000);
  assert.equal(h.state(), 'FAULT');
});

test('vrrp_track_process with weight 1: quorum lost only lowers the priority by 1', async () => {
  let running = true;
  const h = harness({ conf: () => PROC('weight 1'), procs: () => (running ? [{ pid: 4242, comm: 'nginx' }] : []) });
  await h.rt.start();
  await h.clock.runUntil(8_000_000);
  assert.equal(h.state(), 'MASTER');
  assert.equal(h.rt.machine('VI_1')?.effectivePriority, 151);
  running = false;
  await h.clock.runUntil(10_000_000);
  assert.equal(h.state(), 'MASTER');
  assert.equal(h.rt.machine('VI_1')?.effectivePriority, 150);
});

type Mutation =
  | { k: 'flip'; at: number; bit: number }
  | { k: 'set'; at: number; v: number }
  | { k: 'cut'; at: number }
  | { k: 'grow'; extra: Uint8Array }
  | { k: 'noise'; bytes: Uint8Array };

/** One hostile change to a valid advert: a bit flip, a byte overwrite, a cut, an extension, or noise. */
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ k: fc.constant('flip' as const), at: fc.nat(63), bit: fc.nat(7) }),
  fc.record({ k: fc.constant('set' as const), at: fc.nat(63), v: fc.nat(255) }),
  fc.record({ k: fc.constant('cut' as const), at: fc.nat(63) }),
  fc.record({ k: fc.constant('grow' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 40 }) }),
  fc.record({ k: fc.constant('noise' as const), bytes: fc.uint8Array({ maxLength: 80 }) }),
);

function mutate(base: Buffer, ms: readonly Mutation[]): Buffer {
  let b = Buffer.from(base);
  for (const m of ms) {
    if (m.k === 'flip' && b.length > 0) b[m.at % b.length]! ^= 1 << m.bit;
    else if (m.k === 'set' && b.length > 0) b[m.at % b.length] = m.v;
    else if (m.k === 'cut') b = b.subarray(0, m.at % (b.length + 1));
    else if (m.k === 'grow') b = Buffer.concat([b, m.extra]);
    else if (m.k === 'noise') b = Buffer.from(m.bytes);
  }
  return b;
}

test(
  'property, 100,000 hostile packets through the shipped receive path: none throws, each lands in exactly ' +
    'one counter, the MASTER stays MASTER (issue 15, tests that keep it fixed)',
  async () => {
    const h = harness({ conf: () => CONF.replace('state BACKUP', 'state MASTER') });
    await h.rt.start();
    await h.clock.runUntil(5_000_000);
    assert.equal(h.state(), 'MASTER');
    const s = h.sockets[0]!;
    const src = '192.0.2.99';
    const dst = '224.0.0.18';
    const advert = {
      version: 2 as const,
      vrid: 51,
      priority: 100,
      addresses: ['203.0.113.51'],
      advertIntervalCs: 100,
      authType: 0 as const,
      authData: Buffer.alloc(8),
    };
    const base = Buffer.from(buildIpv4Packet(encodeAdvert(advert, 4, { src, dst }), { src, dst, ttl: 255, id: 1 }));
    const counted = (): number => {
      const c = h.rt.status().instances[0]!.counters;
      return c.advertsReceived + Object.values(c.dropped).reduce((a, b) => a + b, 0);
    };
    // The valid lower-priority advert is accepted (so the mutations start from a packet that passes).
    const before = h.rt.status().instances[0]!.counters.advertsReceived;
    s.emit('packet', { data: base, src, dst, ttl: 255, ifindex: 1 });
    assert.equal(h.rt.status().instances[0]!.counters.advertsReceived, before + 1, 'the unmutated advert is accepted');
    const N = 100_000;
    const cases = fc.sample(fc.array(mutation, { minLength: 1, maxLength: 4 }), N);
    const start = counted();
    const acceptedBefore = h.rt.status().instances[0]!.counters.advertsReceived;
    const sentBefore = s.sent;
    for (let i = 0; i < N; i++) {
      const data = mutate(base, cases[i]!);
      assert.doesNotThrow(
        () => s.emit('packet', { data, src, dst, ttl: 255, ifindex: 1 }),
        `case ${i}: ${data.toString('hex')}`,
      );
      // Virtual time moves 10 ms per 100 packets (10 s in all): the MASTER's own adverts keep their cadence.
      if (i % 100 === 99) await h.clock.runUntil(h.clock.nowUs() + 10_000);
    }
    assert.equal(counted() - start, N, 'every packet is either an accepted advert or a counted drop');
    assert.equal(h.state(), 'MASTER', 'no hostile packet moved the MASTER');
    // Mutations outside the VRRP payload (IP id, TOS, flags) leave a valid lower-priority advert; the MASTER
    // answers each with an advert of its own, as keepalived does. Beyond those, one per second, never fewer.
    const accepted = h.rt.status().instances[0]!.counters.advertsReceived - acceptedBefore;
    const adverts = s.sent - sentBefore;
    assert.ok(
      adverts >= 9 && adverts <= 11 + accepted,
      `adverts in 10 s: ${adverts} (${accepted} accepted lower-priority)`,
    );
  },
);
