/**
 * Lab: the Linux data plane adapters against a real kernel. Two network namespaces joined by
 * a veth pair (192.0.2.0/24, 2001:db8::/64); an agent process in each namespace opens VRRP
 * sockets, sends GARP/NA and watches links on the test's command. Needs root.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { randomBytes } from 'node:crypto';
import {
  addAddress,
  removeAddress,
  listAddresses,
  interfaceInfo,
  addRoute,
  removeRoute,
} from '../../src/net/addresses.js';
import { ipRunner } from '../../src/net/iproute.js';
import { nativeAvailable } from '../../src/native/addon.js';
import { internetChecksum } from '../../src/util/checksum.js';

const isRoot = process.getuid?.() === 0;

/** Root in a container may still lack namespaces; probe once instead of failing every test. */
function netnsWorks(): boolean {
  const name = `fdprobe${process.pid}`;
  const ok = spawnSync('ip', ['netns', 'add', name]).status === 0;
  spawnSync('ip', ['netns', 'del', name]);
  return ok;
}

const skip = !isRoot
  ? 'needs root and network namespaces'
  : !nativeAvailable()
    ? 'native addon not built (run scripts/build.sh)'
    : !netnsWorks()
      ? 'needs root and network namespaces (ip netns add failed)'
      : false;

const sfx = `${process.pid.toString(36)}${randomBytes(2).toString('hex')}`.slice(-6);
const NS_A = `fdnsA${sfx}`;
const NS_B = `fdnsB${sfx}`;
const IF_A = `fva${sfx}`;
const IF_B = `fvb${sfx}`;
const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const modUrl = (m: string) => new URL(`../../src/net/${m}${ext}`, import.meta.url).href;

function sh(args: string[], allowFail = false): string {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0 && !allowFail) throw new Error(`${args.join(' ')}: ${r.stderr || r.error?.message}`);
  return r.stdout;
}

/** Ends what the test started inside its namespaces (agents, keepalived), then deletes them. */
function cleanup(): void {
  for (const ns of [NS_A, NS_B]) {
    const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout ?? '';
    for (const pid of pids.split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    spawnSync('ip', ['netns', 'del', ns]);
  }
}

/** In-namespace agent: JSON commands on stdin, JSON results/events on stdout. */
const AGENT = `
import { createInterface } from 'node:readline';
const { openVrrpSocket } = await import(process.env.M_SOCK);
const { announceAddress } = await import(process.env.M_GARP);
const { LinkWatch } = await import(process.env.M_WATCH);
const addresses = await import(process.env.M_ADDR);
const { openNetlink } = await import(process.env.M_NL);
const socks = new Map();
const out = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
let watch;
createInterface({ input: process.stdin }).on('line', async (line) => {
  const c = JSON.parse(line);
  try {
    let r;
    if (c.op === 'call') r = await addresses[c.fn](...c.args); // no runner: netlink
    if (c.op === 'flood') { // c.n address add+del pairs, synchronously: the watcher cannot read meanwhile
      const nl = openNetlink();
      const t0 = performance.now();
      for (let i = 0; i < c.n; i++) {
        const a = { family: 4, address: '203.0.113.' + (1 + (i % 250)), prefix: 32 };
        nl.addAddress(c.ifname, a);
        nl.removeAddress(c.ifname, a);
      }
      r = { usPerOp: ((performance.now() - t0) * 1000) / (2 * c.n) };
    }
    if (c.op === 'watch-ip') { // the fallback: deps given without subscribe = ip monitor + sysfs + polls
      const w = new LinkWatch({ deps: {} }).start();
      w.on('link', (e) => out({ ev: 'link-ip', ...e }));
      w.on('address-removed', (e) => out({ ev: 'address-removed-ip', ...e }));
      w.watchLink(c.ifname);
      w.watchAddress(c.ifname, c.address);
      r = w.source();
    }
    if (c.op === 'burst') { // c.vips × c.repeat announcements, as a takeover sends them
      const t0 = performance.now();
      for (let k = 0; k < c.repeat; k++) for (const v of c.vips) announceAddress(c.ifname, v);
      r = { ms: performance.now() - t0 };
    }
    if (c.op === 'open') {
      const s = openVrrpSocket(c.opts);
      s.on('packet', (p) => {
        const { src, dst, ttl, ifindex } = p;
        out({ ev: 'packet', id: c.id, data: p.data.toString('hex'), src, dst, ttl, ifindex });
      });
      socks.set(c.id, s);
    } else if (c.op === 'send') r = socks.get(c.id).send(Buffer.from(c.hex, 'hex'), c.dst, c.src);
    else if (c.op === 'close') { socks.get(c.id).close(); socks.delete(c.id); }
    else if (c.op === 'announce') r = announceAddress(c.ifname, c.vip);
    else if (c.op === 'watch') {
      if (!watch) {
        watch = new LinkWatch({ addressPollUs: 1_000_000 }).start();
        watch.on('link', (e) => out({ ev: 'link', ...e }));
        watch.on('address-removed', (e) => out({ ev: 'address-removed', ...e }));
        watch.on('resync', (e) => out({ ev: 'resync', ...e }));
      }
      if (c.ifname) watch.watchLink(c.ifname);
      if (c.address) watch.watchAddress(c.ifname, c.address);
      r = watch.source();
    } else if (c.op === 'exit') { watch?.stop(); for (const s of socks.values()) s.close(); process.stdin.destroy(); }
    out({ seq: c.seq, ok: true, r });
  } catch (e) {
    out({ seq: c.seq, ok: false, code: e.code, message: e.message });
  }
});
out({ ready: true });
`;

type Msg = Record<string, unknown>;

class Agent {
  private seq = 0;
  private waiters: { pred: (m: Msg) => boolean; resolve: (m: Msg) => void }[] = [];
  readonly events: Msg[] = [];
  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (l) => {
      const m = JSON.parse(l) as Msg;
      this.events.push(m);
      this.waiters = this.waiters.filter((w) => !(w.pred(m) && (w.resolve(m), true)));
    });
  }
  /** Resolves with the first past or future message matching pred; rejects after ms. */
  wait(pred: (m: Msg) => boolean, ms = 5000): Promise<Msg> {
    const seen = this.events.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`agent: timed out waiting (${ms} ms)`)), ms);
      this.waiters.push({ pred, resolve: (m) => (clearTimeout(t), resolve(m)) });
    });
  }
  async cmd(c: Msg): Promise<Msg> {
    const seq = ++this.seq;
    this.child.stdin!.write(JSON.stringify({ ...c, seq }) + '\n');
    const r = await this.wait((m) => m.seq === seq);
    if (!r.ok) throw Object.assign(new Error(String(r.message)), { code: r.code });
    return r;
  }
}

let dir = '';
const agents: Agent[] = [];
let A: Agent;
let B: Agent;

function startAgent(ns: string): Agent {
  const script = join(dir, 'agent.mjs');
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, ...process.execArgv, script], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: {
      ...process.env,
      M_SOCK: modUrl('vrrp-socket'),
      M_GARP: modUrl('garp'),
      M_WATCH: modUrl('link-watch'),
      M_ADDR: modUrl('addresses'),
      M_NL: modUrl('netlink'),
    },
  });
  const a = new Agent(child);
  agents.push(a);
  return a;
}

before(async () => {
  if (skip) return;
  process.on('exit', cleanup);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => (cleanup(), process.exit(130)));
  dir = mkdtempSync(join(tmpdir(), 'floatd-net-'));
  writeFileSync(join(dir, 'agent.mjs'), AGENT);
  sh(['ip', 'netns', 'add', NS_A]);
  sh(['ip', 'netns', 'add', NS_B]);
  for (const ns of [NS_A, NS_B]) {
    sh([
      'ip',
      'netns',
      'exec',
      ns,
      'sysctl',
      '-qw',
      'net.ipv6.conf.default.accept_dad=0',
      'net.ipv6.conf.all.accept_dad=0',
    ]);
    sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
  }
  sh(['ip', 'link', 'add', IF_A, 'netns', NS_A, 'type', 'veth', 'peer', 'name', IF_B, 'netns', NS_B]);
  sh(['ip', '-n', NS_A, 'addr', 'add', '192.0.2.1/24', 'dev', IF_A]);
  sh(['ip', '-n', NS_B, 'addr', 'add', '192.0.2.2/24', 'dev', IF_B]);
  sh(['ip', '-n', NS_A, 'addr', 'add', '2001:db8::1/64', 'dev', IF_A, 'nodad']);
  sh(['ip', '-n', NS_B, 'addr', 'add', '2001:db8::2/64', 'dev', IF_B, 'nodad']);
  sh(['ip', '-n', NS_A, 'link', 'set', IF_A, 'up']);
  sh(['ip', '-n', NS_B, 'link', 'set', IF_B, 'up']);
  A = startAgent(NS_A);
  B = startAgent(NS_B);
  await Promise.all([A.wait((m) => m.ready === true, 10_000), B.wait((m) => m.ready === true, 10_000)]);
});

after(async () => {
  for (const a of agents) {
    a.child.stdin?.end();
    a.child.kill();
  }
  cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A minimal VRRPv2 advert (VRID 7, prio 100, one VIP, PASS auth) with its IPv4 header. */
function v4Advert(src: string, dst: string, ttl = 255): string {
  const vrrp = Buffer.from([0x21, 7, 100, 1, 1, 1, 0, 0, 192, 0, 2, 100, ...Buffer.from('secret\0\0')]);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip[1] = 0xc0;
  ip.writeUInt16BE(20 + vrrp.length, 2);
  ip.writeUInt16BE(1, 4);
  ip[8] = ttl;
  ip[9] = 112;
  Buffer.from(src.split('.').map(Number)).copy(ip, 12);
  Buffer.from(dst.split('.').map(Number)).copy(ip, 16);
  return Buffer.concat([ip, vrrp]).toString('hex');
}
const V6_ADVERT = Buffer.from([0x31, 7, 100, 1, 0, 100, 0, 0, ...Buffer.alloc(16, 0x20)]).toString('hex');

function linkLocal(ns: string, ifname: string): string {
  const j = JSON.parse(sh(['ip', '-n', ns, '-json', 'addr', 'show', 'dev', ifname])) as {
    addr_info: { local: string; scope: string }[];
  }[];
  const ll = j[0]?.addr_info.find((a) => a.scope === 'link');
  assert.ok(ll, 'link-local address present');
  return ll.local;
}

async function exchange(opts: { family: 4 | 6; rx: Msg; tx: Msg; hex: string; dst: string; src?: string }) {
  const id = `s${Math.random().toString(36).slice(2, 8)}`;
  await B.cmd({ op: 'open', id, opts: opts.rx });
  await A.cmd({ op: 'open', id, opts: opts.tx });
  try {
    // resend until heard (bounded): the first multicast packet may race the group join
    for (let i = 0; i < 20; i++) {
      await A.cmd({ op: 'send', id, hex: opts.hex, dst: opts.dst, ...(opts.src ? { src: opts.src } : {}) });
      try {
        return await B.wait((m) => m.ev === 'packet' && m.id === id, 250);
      } catch {
        /* try again */
      }
    }
    throw new Error('packet never arrived');
  } finally {
    await A.cmd({ op: 'close', id });
    await B.cmd({ op: 'close', id });
  }
}

test('IPv4 multicast advert arrives with header, TTL 255, source and group', { skip }, async () => {
  const hex = v4Advert('192.0.2.1', '224.0.0.18');
  const p = await exchange({
    family: 4,
    rx: { family: 4, ifname: IF_B },
    tx: { family: 4, ifname: IF_A },
    hex,
    dst: '224.0.0.18',
  });
  assert.equal(p.src, '192.0.2.1');
  assert.equal(p.dst, '224.0.0.18');
  assert.equal(p.ttl, 255);
  const data = Buffer.from(String(p.data), 'hex');
  assert.equal(data[0], 0x45, 'IPv4 data includes the IP header');
  assert.equal(data[1], 0xc0);
  assert.equal(data.subarray(20).toString('hex'), hex.slice(40));
});

test('IPv4 unicast advert to unicast_src_ip keeps its TTL', { skip }, async () => {
  const hex = v4Advert('192.0.2.1', '192.0.2.2', 64);
  const p = await exchange({
    family: 4,
    rx: { family: 4, ifname: IF_B, unicastSrc: '192.0.2.2', peers: ['192.0.2.1'] },
    tx: { family: 4, ifname: IF_A, unicastSrc: '192.0.2.1', peers: ['192.0.2.2'] },
    hex,
    dst: '192.0.2.2',
  });
  assert.equal(p.src, '192.0.2.1');
  assert.equal(p.dst, '192.0.2.2');
  assert.equal(p.ttl, 64);
});

test('a multicast socket does not hear unicast adverts', { skip }, async () => {
  const id = 'mc-only';
  await B.cmd({ op: 'open', id, opts: { family: 4, ifname: IF_B } });
  await A.cmd({ op: 'open', id, opts: { family: 4, ifname: IF_A, unicastSrc: '192.0.2.1', peers: ['192.0.2.2'] } });
  await A.cmd({ op: 'send', id, hex: v4Advert('192.0.2.1', '192.0.2.2'), dst: '192.0.2.2' });
  await assert.rejects(B.wait((m) => m.ev === 'packet' && m.id === id, 400));
  await A.cmd({ op: 'close', id });
  await B.cmd({ op: 'close', id });
});

test('IPv6 multicast advert: hop limit 255, link-local source, ff02::12, kernel checksum', { skip }, async () => {
  const src = linkLocal(NS_A, IF_A);
  const p = await exchange({
    family: 6,
    rx: { family: 6, ifname: IF_B },
    tx: { family: 6, ifname: IF_A, mcastSrc: src },
    hex: V6_ADVERT,
    dst: 'ff02::12',
  });
  assert.equal(p.src, src);
  assert.equal(p.dst, 'ff02::12');
  assert.equal(p.ttl, 255);
  const data = Buffer.from(String(p.data), 'hex');
  assert.equal(data[0], 0x31);
  assert.notEqual(data.readUInt16BE(6), 0, 'kernel filled the checksum (IPV6_CHECKSUM offset 6)');
});

test('IPv6 unicast advert uses the chosen source via IPV6_PKTINFO', { skip }, async () => {
  const p = await exchange({
    family: 6,
    rx: { family: 6, ifname: IF_B, unicastSrc: '2001:db8::2', peers: ['2001:db8::1'] },
    tx: { family: 6, ifname: IF_A, unicastSrc: '2001:db8::1', peers: ['2001:db8::2'] },
    hex: V6_ADVERT,
    dst: '2001:db8::2',
  });
  assert.equal(p.src, '2001:db8::1');
  assert.equal(p.dst, '2001:db8::2');
  assert.equal(p.ttl, 255);
});

test('opening on a missing interface fails with ENODEV', { skip }, async () => {
  await assert.rejects(
    A.cmd({ op: 'open', id: 'x', opts: { family: 4, ifname: 'nosuch0' } }),
    (e: { code?: string }) => e.code === 'ENODEV',
  );
});

/** Starts tshark in a namespace and resolves once it is capturing. */
async function capture(
  ns: string,
  ifname: string,
  filter: string,
  fields: string[],
): Promise<{ done: Promise<string> }> {
  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      ns,
      'tshark',
      '-l',
      '-n',
      '-i',
      ifname,
      '-c',
      '1',
      '-a',
      'duration:8',
      '-f',
      filter,
      '-T',
      'fields',
      '-E',
      'separator=,',
      ...fields.flatMap((f) => ['-e', f]),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<string>((resolve) => child.on('close', () => resolve(out.trim())));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('tshark did not start')), 8000);
    child.stderr.on('data', (d: Buffer) => {
      if (d.toString().includes('Capturing on')) {
        clearTimeout(t);
        resolve();
      }
    });
  });
  return { done };
}

const hasTshark = spawnSync('sh', ['-c', 'command -v tshark']).status === 0;

test(
  'gratuitous ARP for a VIP is seen on the peer',
  { skip: skip || (!hasTshark && 'tshark not installed') },
  async () => {
    // only our GARP: a REQUEST whose sender IP is the VIP (not neighbour probes)
    const cap = await capture(NS_B, IF_B, 'arp and arp[6:2] == 1 and arp[14:4] == 0xc0000264', [
      'eth.dst',
      'eth.src',
      'arp.opcode',
      'arp.src.proto_ipv4',
      'arp.dst.hw_mac',
      'arp.dst.proto_ipv4',
    ]);
    await new Promise((r) => setTimeout(r, 200));
    const sent = await A.cmd({ op: 'announce', ifname: IF_A, vip: '192.0.2.100' });
    assert.equal(sent.r, true);
    const mac = (await interfaceInfo(IF_A, ipRunner({ netns: NS_A }))).mac;
    assert.equal(await cap.done, `ff:ff:ff:ff:ff:ff,${mac},1,192.0.2.100,ff:ff:ff:ff:ff:ff,192.0.2.100`);
  },
);

test(
  'unsolicited NA for an IPv6 VIP is seen on the peer with a valid checksum',
  { skip: skip || (!hasTshark && 'tshark not installed') },
  async () => {
    const cap = await capture(NS_B, IF_B, 'icmp6 and ip6[40] == 136 and src host 2001:db8::100', [
      'eth.dst',
      'ipv6.src',
      'ipv6.dst',
      'ipv6.hlim',
      'icmpv6.nd.na.flag.o',
      'icmpv6.checksum.status',
    ]);
    await new Promise((r) => setTimeout(r, 200));
    await A.cmd({ op: 'announce', ifname: IF_A, vip: '2001:db8::100' });
    assert.match(await cap.done, /^33:33:00:00:00:01,2001:db8::100,ff02::1,255,(1|True),(1|Good)$/);
  },
);

test('VIP add/remove is idempotent and reports changes; IPv6 /128 is nodad + deprecated', { skip }, async () => {
  const run = ipRunner({ netns: NS_A });
  const v4 = { ifname: IF_A, address: '192.0.2.100', prefix: 24, label: `${IF_A}:1` };
  assert.equal(await addAddress(v4, run), true);
  assert.equal(await addAddress(v4, run), false);
  const got = (await listAddresses(IF_A, run)).find((a) => a.address === '192.0.2.100');
  assert.equal(got?.prefix, 24);
  assert.equal(got?.label, `${IF_A}:1`);
  assert.equal(got?.secondary, true);
  assert.equal((await interfaceInfo(IF_A, run)).ipv4, '192.0.2.1', 'primary stays the primary');
  assert.equal(await removeAddress(v4, run), true);
  assert.equal(await removeAddress(v4, run), false);
  const v6 = { ifname: IF_A, address: '2001:db8::100' };
  assert.equal(await addAddress(v6, run), true);
  assert.equal(await addAddress({ ...v6, address: '2001:DB8:0::100' }, run), false);
  const a6 = (await listAddresses(IF_A, run)).find((a) => a.address === '2001:db8::100');
  assert.equal(a6?.prefix, 128);
  assert.equal(a6?.deprecated, true);
  assert.equal(a6?.tentative, false);
  assert.equal(await removeAddress(v6, run), true);
});

test('virtual route add/remove is idempotent', { skip }, async () => {
  const run = ipRunner({ netns: NS_A });
  assert.equal(await addRoute('198.51.100.0/24 via 192.0.2.2 dev ' + IF_A, run), true);
  assert.equal(await addRoute('198.51.100.0/24 via 192.0.2.2 dev ' + IF_A, run), false);
  assert.match(sh(['ip', '-n', NS_A, 'route', 'show', '198.51.100.0/24']), /via 192\.0\.2\.2/);
  assert.equal(await removeRoute('198.51.100.0/24 via 192.0.2.2 dev ' + IF_A, run), true);
  assert.equal(await removeRoute('198.51.100.0/24 via 192.0.2.2 dev ' + IF_A, run), false);
  assert.equal(await addRoute('inet6 2001:db8:1::/64 via 2001:db8::2 no_track', run), true);
  assert.equal(await removeRoute('inet6 2001:db8:1::/64 via 2001:db8::2', run), true);
});

test(
  'link watch reports down/up and a VIP deleted behind our back, from the netlink subscription',
  { skip },
  async () => {
    sh(['ip', '-n', NS_A, 'addr', 'add', '192.0.2.77/32', 'dev', IF_A]);
    const w = await A.cmd({ op: 'watch', ifname: IF_A, address: '192.0.2.77' });
    assert.equal(w.r, 'netlink', 'no ip monitor child, no pollers');
    await A.wait((m) => m.ev === 'link' && m.up === true);
    sh(['ip', '-n', NS_A, 'addr', 'del', '192.0.2.77/32', 'dev', IF_A]);
    const rm = await A.wait((m) => m.ev === 'address-removed', 3000);
    assert.equal(rm.address, '192.0.2.77');
    sh(['ip', '-n', NS_B, 'link', 'set', IF_B, 'down']); // carrier loss on A's side
    await A.wait((m) => m.ev === 'link' && m.up === false, 3000);
    sh(['ip', '-n', NS_B, 'link', 'set', IF_B, 'up']);
    await A.wait(
      (m) => m.ev === 'link' && m.up === true && A.events.some((e) => e.ev === 'link' && e.up === false),
      3000,
    );
  },
);

/** The kernel's view of IF_A's addresses, from `ip` (independent of the code under test). */
function kernelAddrs(): { local: string; prefixlen: number; valid_life_time?: number; label?: string }[] {
  const j = JSON.parse(sh(['ip', '-n', NS_A, '-json', 'addr', 'show', 'dev', IF_A])) as {
    addr_info: { local: string; prefixlen: number; valid_life_time?: number }[];
  }[];
  return j[0]?.addr_info ?? [];
}

test('fallback without netlink: ip monitor + sysfs still report a deletion and a carrier loss', { skip }, async () => {
  sh(['ip', '-n', NS_A, 'addr', 'add', '192.0.2.79/32', 'dev', IF_A]);
  const w = await A.cmd({ op: 'watch-ip', ifname: IF_A, address: '192.0.2.79' });
  assert.equal(w.r, 'ip-monitor');
  await A.wait((m) => m.ev === 'link-ip' && m.up === true);
  await new Promise((r) => setTimeout(r, 500)); // let the monitor child start
  sh(['ip', '-n', NS_A, 'addr', 'del', '192.0.2.79/32', 'dev', IF_A]);
  assert.equal((await A.wait((m) => m.ev === 'address-removed-ip', 5000)).address, '192.0.2.79');
  sh(['ip', '-n', NS_B, 'link', 'set', IF_B, 'down']);
  await A.wait((m) => m.ev === 'link-ip' && m.up === false, 5000);
  sh(['ip', '-n', NS_B, 'link', 'set', IF_B, 'up']);
  await A.wait(
    (m) => m.ev === 'link-ip' && m.up === true && A.events.some((e) => e.ev === 'link-ip' && e.up === false),
    5000,
  );
});

test(
  "netlink: VIP add/remove in the namespace, idempotent, seen by ip; presence is the kernel's",
  { skip },
  async () => {
    const v4 = { ifname: IF_A, address: '192.0.2.101', prefix: 24, label: `${IF_A}:2`, broadcast: '+' };
    assert.equal((await A.cmd({ op: 'call', fn: 'addAddress', args: [v4] })).r, true);
    assert.equal((await A.cmd({ op: 'call', fn: 'addAddress', args: [v4] })).r, false);
    assert.ok(
      sh(['ip', '-n', NS_A, '-o', 'addr', 'show', 'dev', IF_A]).match(
        /inet 192\.0\.2\.101\/24 brd 192\.0\.2\.255 .*secondary .*:2/,
      ),
    );
    assert.equal((await A.cmd({ op: 'call', fn: 'addressPresent', args: [IF_A, '192.0.2.101'] })).r, true);
    sh(['ip', '-n', NS_A, 'addr', 'del', '192.0.2.101/24', 'dev', IF_A]); // behind floatd's back
    assert.equal(
      (await A.cmd({ op: 'call', fn: 'addressPresent', args: [IF_A, '192.0.2.101'] })).r,
      false,
      'status reads the kernel, not the intent',
    );
    assert.equal((await A.cmd({ op: 'call', fn: 'removeAddress', args: [v4] })).r, false);
    const v6 = { ifname: IF_A, address: '2001:db8::101' };
    assert.equal((await A.cmd({ op: 'call', fn: 'addAddress', args: [v6] })).r, true);
    assert.match(
      sh(['ip', '-n', NS_A, '-o', 'addr', 'show', 'dev', IF_A]),
      /inet6 2001:db8::101\/128 scope global (nodad )?deprecated/,
    );
    assert.equal((await A.cmd({ op: 'call', fn: 'removeAddress', args: [v6] })).r, true);
    const r = `198.51.100.0/24 via 192.0.2.2 dev ${IF_A}`;
    assert.equal((await A.cmd({ op: 'call', fn: 'addRoute', args: [r] })).r, true);
    assert.equal((await A.cmd({ op: 'call', fn: 'addRoute', args: [r] })).r, false);
    assert.match(sh(['ip', '-n', NS_A, 'route', 'show', '198.51.100.0/24']), /via 192\.0\.2\.2/);
    assert.equal((await A.cmd({ op: 'call', fn: 'removeRoute', args: [r] })).r, true);
    assert.equal((await A.cmd({ op: 'call', fn: 'removeRoute', args: [r] })).r, false);
    assert.equal(
      (await A.cmd({ op: 'call', fn: 'addRoute', args: ['inet6 2001:db8:1::/64 via 2001:db8::2 no_track'] })).r,
      true,
    );
    assert.equal(
      (await A.cmd({ op: 'call', fn: 'removeRoute', args: ['inet6 2001:db8:1::/64 via 2001:db8::2'] })).r,
      true,
    );
  },
);

test(
  'netlink: a VIP with valid_lft 2 disappears by itself, reported as expired; a refresh keeps another',
  { skip },
  async () => {
    await A.cmd({ op: 'watch' });
    const exp = { ifname: IF_A, address: '192.0.2.102', prefix: 32, validLft: 2 };
    const kept = { ifname: IF_A, address: '192.0.2.103', prefix: 32, validLft: 2 };
    await A.cmd({ op: 'call', fn: 'addAddress', args: [exp] });
    await A.cmd({ op: 'call', fn: 'addAddress', args: [kept] });
    await A.cmd({ op: 'watch', ifname: IF_A, address: '192.0.2.102' });
    await A.cmd({ op: 'watch', ifname: IF_A, address: '192.0.2.103' });
    const lft = kernelAddrs().find((a) => a.local === '192.0.2.102')?.valid_life_time;
    assert.ok(lft !== undefined && lft <= 2, `valid_lft ${lft}`);
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 1000));
    await A.cmd({ op: 'call', fn: 'refreshLifetime', args: [kept, 30] });
    const rm = await A.wait((m) => m.ev === 'address-removed' && m.address === '192.0.2.102', 6000);
    const took = Date.now() - t0;
    assert.equal(rm.expired, true, "the kernel's expiry, not someone's ip addr del");
    assert.ok(took >= 1500 && took < 5000, `expired after ${took} ms`);
    assert.equal(
      kernelAddrs().some((a) => a.local === '192.0.2.102'),
      false,
    );
    await new Promise((r) => setTimeout(r, Math.max(0, 3500 - (Date.now() - t0))));
    const k = kernelAddrs().find((a) => a.local === '192.0.2.103');
    assert.ok(k && (k.valid_life_time ?? 0) > 20, `the refreshed VIP is still there (${JSON.stringify(k)})`);
    assert.equal(
      A.events.some((m) => m.ev === 'address-removed' && m.address === '192.0.2.103'),
      false,
    );
    await A.cmd({ op: 'call', fn: 'removeAddress', args: [kept] });
    const rm2 = await A.wait((m) => m.ev === 'address-removed' && m.address === '192.0.2.103', 3000);
    assert.equal(rm2.expired, undefined, 'a deletion with time left is not an expiry');
  },
);

test(
  'netlink: an event overrun (ENOBUFS) is recovered by a resync; events flow again afterwards',
  { skip },
  async () => {
    sh(['ip', '-n', NS_A, 'addr', 'add', '192.0.2.78/32', 'dev', IF_A]);
    await A.cmd({ op: 'watch', ifname: IF_A, address: '192.0.2.78' });
    const before = A.events.length;
    const f = await A.cmd({ op: 'flood', ifname: IF_A, n: 6000 });
    console.log(
      `# netlink address add/del in the namespace: ${(f.r as { usPerOp: number }).usPerOp.toFixed(1)} µs per request`,
    );
    await A.wait((m) => m.ev === 'resync' && m.code === 'ENOBUFS' && A.events.indexOf(m) >= before, 15_000);
    sh(['ip', '-n', NS_A, 'addr', 'del', '192.0.2.78/32', 'dev', IF_A]);
    const rm = await A.wait((m) => m.ev === 'address-removed' && m.address === '192.0.2.78', 10_000).catch(
      (e: Error) => {
        console.log(JSON.stringify(A.events.slice(before)));
        throw e;
      },
    );
    assert.equal(rm.ifname, IF_A);
  },
);

test(
  'GARP burst: 40 VIPs × 5 through the kept socket reach the peer without blocking the loop',
  { skip: skip || (!hasTshark && 'tshark not installed') },
  async () => {
    const vips = Array.from({ length: 40 }, (_, i) => `198.51.100.${i + 1}`);
    const child = spawn(
      'ip',
      [
        'netns',
        'exec',
        NS_B,
        'tshark',
        '-l',
        '-n',
        '-i',
        IF_B,
        '-a',
        'duration:6',
        '-f',
        'arp and arp[6:2] == 1 and arp[14:2] == 0xc633',
        '-T',
        'fields',
        '-e',
        'arp.src.proto_ipv4',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const done = new Promise<void>((r) => child.on('close', () => r()));
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('tshark did not start')), 20_000);
      child.stderr.on('data', (d: Buffer) => {
        if (d.toString().includes('Capturing on')) {
          clearTimeout(t);
          resolve();
        }
      });
    });
    await new Promise((r) => setTimeout(r, 200));
    const b = await A.cmd({ op: 'burst', ifname: IF_A, vips, repeat: 5 });
    const ms = (b.r as { ms: number }).ms;
    console.log(`# GARP burst of 200 frames: ${ms.toFixed(2)} ms on the event loop`);
    assert.ok(ms < 50, `burst blocked the loop ${ms.toFixed(1)} ms (a socket per frame took 2.8 s)`);
    await done;
    const seen = out.trim().split('\n').filter(Boolean);
    assert.equal(seen.length, 200, `${seen.length} GARP frames on the peer`);
    assert.deepEqual([...new Set(seen)].sort(), [...vips].sort());
  },
);

/** Inside a new PID namespace (own /proc): track a process, kill it, print ms to "quorum lost". */
const PID_NS_AGENT = `
import { spawn } from 'node:child_process';
const { TrackerSet } = await import(process.env.M_TRACK);
const child = spawn('sleep', ['60.25'], { stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 100));
let lostAt;
const set = new TrackerSet({
  checks: [], files: [], processPollUs: 10_000_000,
  processes: [{ name: 'p', process: 'sleep', params: ['60.25'], weight: 0, reverse: false }],
  instances: [{ name: 'VI', basePriority: 100, tracks: [{ kind: 'process', name: 'p', weight: 0, reverse: false }] }],
}, { onChange: (_i, c) => { if (c.faults.length) lostAt ??= performance.now(); } });
await set.start();
const t0 = performance.now();
child.kill('SIGKILL');
while (lostAt === undefined && performance.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 2));
process.stdout.write(JSON.stringify({ pid: child.pid, ms: lostAt === undefined ? -1 : lostAt - t0 }));
await set.stop();
`;

test('track_process in a PID namespace: a death is seen through the pidfd in milliseconds', { skip }, () => {
  const script = join(dir, 'pidns-agent.mjs');
  writeFileSync(script, PID_NS_AGENT);
  const r = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', process.execPath, ...process.execArgv, script], {
    encoding: 'utf8',
    timeout: 20_000,
    env: { ...process.env, M_TRACK: new URL(`../../src/track/tracker-set${ext}`, import.meta.url).href },
  });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { pid: number; ms: number };
  console.log(
    `# PID namespace: pid ${out.pid} (the namespace's view), quorum lost ${out.ms.toFixed(1)} ms after SIGKILL ` +
      '(scan every 10 s)',
  );
  assert.ok(out.pid < 100, 'the process lives in a fresh PID namespace');
  assert.ok(out.ms >= 0 && out.ms < 500, `detected in ${out.ms} ms`);
});

/** In NS_A with RLIMIT_NOFILE 256: take the data plane's descriptors, exhaust the rest, then use it. */
const FD_AGENT = `
import { openSync, closeSync } from 'node:fs';
const { prepareDataplane } = await import(process.env.M_PREP);
const { LinkWatch, sysfsLinkState } = await import(process.env.M_WATCH);
const { addAddress, removeAddress, addressPresent } = await import(process.env.M_ADDR);
const { announceAddress } = await import(process.env.M_GARP);
const ifname = process.argv[2];
const prep = prepareDataplane([ifname]);
const w = new LinkWatch().start();
const links = [];
w.on('link', (e) => links.push(e));
w.watchLink(ifname);
const held = [];
let emfile = false;
try { for (;;) held.push(openSync('/dev/null', 'r')); } catch (e) { emfile = e.code === 'EMFILE'; }
const r = { kernel: prep.kernel, emfile, held: held.length, source: w.source() };
try {
  r.sysfs = sysfsLinkState(ifname);
  r.linkState = w.linkState(ifname);
  r.pollEvents = (w.pollLinks(), links.length);
  r.added = await addAddress({ ifname, address: '192.0.2.150', prefix: 32 });
  r.present = await addressPresent(ifname, '192.0.2.150');
  r.garp = announceAddress(ifname, '192.0.2.150');
  r.removed = await removeAddress({ ifname, address: '192.0.2.150', prefix: 32 });
} catch (e) { r.error = e.code + ' ' + e.message; }
for (const fd of held) closeSync(fd);
w.stop();
process.stdout.write(JSON.stringify({ ...r, links }));
`;

test('descriptors exhausted (EMFILE): VIP add/remove, GARP and link state still work; no "link down"', { skip }, () => {
  const script = join(dir, 'fd-agent.mjs');
  writeFileSync(script, FD_AGENT);
  const r = spawnSync(
    'ip',
    ['netns', 'exec', NS_A, 'prlimit', '--nofile=256:256', process.execPath, ...process.execArgv, script, IF_A],
    {
      encoding: 'utf8',
      timeout: 30_000,
      env: {
        ...process.env,
        M_PREP: modUrl('prepare'),
        M_WATCH: modUrl('link-watch'),
        M_ADDR: modUrl('addresses'),
        M_GARP: modUrl('garp'),
      },
    },
  );
  assert.equal(r.status, 0, r.stderr);
  const o = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.deepEqual(
    { kernel: o.kernel, emfile: o.emfile, source: o.source },
    { kernel: 'netlink', emfile: true, source: 'netlink' },
  );
  assert.equal(o.error, undefined, String(o.error));
  assert.equal(o.sysfs, 'unknown', 'sysfs cannot be read without a descriptor: unknown, not down');
  assert.equal(o.linkState, 'up', 'netlink on the socket taken at start still answers');
  assert.deepEqual(o.links, [{ ifname: IF_A, up: true, exists: true }], 'no link-down event');
  assert.deepEqual([o.added, o.present, o.garp, o.removed], [true, true, true, true]);
});

const hasKeepalived = existsSync('/usr/sbin/keepalived');
const kaSkip = skip || (!hasKeepalived && 'keepalived not installed');

/** Runs keepalived (VRRP only, foreground) in B with one VRRPv2 PASS instance; `extra` goes in the instance. */
function startKeepalived(name: string, extra: string): ChildProcess {
  const conf = join(dir, `${name}.conf`);
  writeFileSync(
    conf,
    `global_defs { router_id lab_${sfx} }
vrrp_instance VI_1 {
  state MASTER
  interface ${IF_B}
  virtual_router_id 51
  priority 150
  advert_int 1
  authentication { auth_type PASS
    auth_pass s3cret }
  virtual_ipaddress { 192.0.2.200/24 }
${extra}
}
`,
  );
  return spawn(
    'ip',
    [
      'netns',
      'exec',
      NS_B,
      '/usr/sbin/keepalived',
      '-n',
      '-P',
      '-l',
      '-f',
      conf,
      '-p',
      join(dir, `${name}.pid`),
      '-r',
      join(dir, `${name}-vrrp.pid`),
    ],
    { stdio: 'ignore' },
  );
}

async function stopKeepalived(ka: ChildProcess): Promise<void> {
  if (ka.exitCode === null) {
    ka.kill('SIGTERM');
    await new Promise((r) => ka.once('close', r));
  }
}

function checkKeepalivedAdvert(p: Msg, dst: string): void {
  assert.equal(p.src, '192.0.2.2');
  assert.equal(p.dst, dst);
  assert.equal(p.ttl, 255);
  const d = Buffer.from(String(p.data), 'hex');
  assert.equal(d[9], 112);
  assert.equal(d[20], 0x21, 'VRRPv2 advertisement');
  assert.equal(d[21], 51, 'VRID');
  assert.equal(d.subarray(d.length - 8).toString('latin1'), 's3cret\0\0');
}

test('interop: keepalived 2.2 multicast VRRPv2 adverts are heard', { skip: kaSkip }, async () => {
  await A.cmd({ op: 'open', id: 'ka', opts: { family: 4, ifname: IF_A } });
  const ka = startKeepalived('ka-mc', '');
  try {
    checkKeepalivedAdvert(await A.wait((m) => m.ev === 'packet' && m.id === 'ka', 8000), '224.0.0.18');
  } finally {
    await stopKeepalived(ka);
    await A.cmd({ op: 'close', id: 'ka' });
  }
});

/** A complete VRRPv2 advert for VRID 51 with PASS auth (checksum over the VRRP part). */
function v2Advert(prio: number, src: string, dst: string): string {
  const vrrp = Buffer.from([0x21, 51, prio, 1, 1, 1, 0, 0, 192, 0, 2, 200, ...Buffer.from('s3cret\0\0')]);
  vrrp.writeUInt16BE(internetChecksum(vrrp), 6);
  return (
    v4Advert(src, dst)
      .slice(0, 40)
      .replace(/^(.{4})..../, `$1${(20 + vrrp.length).toString(16).padStart(4, '0')}`) + vrrp.toString('hex')
  );
}

function hasVipB(): boolean {
  return sh(['ip', '-n', NS_B, '-o', 'addr', 'show', 'dev', IF_B]).includes('192.0.2.200/24');
}

test(
  'interop: unicast both ways — we hear keepalived, and our higher-priority adverts make it back off',
  { skip: kaSkip },
  async () => {
    await A.cmd({
      op: 'open',
      id: 'kau',
      opts: { family: 4, ifname: IF_A, unicastSrc: '192.0.2.1', peers: ['192.0.2.2'] },
    });
    const ka = startKeepalived(
      'ka-uc',
      `  unicast_src_ip 192.0.2.2
  unicast_peer { 192.0.2.1 }`,
    );
    try {
      checkKeepalivedAdvert(await A.wait((m) => m.ev === 'packet' && m.id === 'kau', 8000), '192.0.2.1');
      for (let i = 0; i < 50 && !hasVipB(); i++) await new Promise((r) => setTimeout(r, 100));
      assert.ok(hasVipB(), 'keepalived became MASTER and added its VIP');
      const hex = v2Advert(200, '192.0.2.1', '192.0.2.2');
      for (let i = 0; i < 20 && hasVipB(); i++) {
        await A.cmd({ op: 'send', id: 'kau', hex, dst: '192.0.2.2' });
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.equal(hasVipB(), false, 'keepalived accepted our advert (checksum, auth, length) and went BACKUP');
    } finally {
      await stopKeepalived(ka);
      await A.cmd({ op: 'close', id: 'kau' });
    }
  },
);
