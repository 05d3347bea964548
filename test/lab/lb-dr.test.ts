/**
 * Lab: LVS-DR through floatd's nftables backend (a netdev ingress chain forwarding the packet
 * unchanged to the real server's MAC). The real servers hold the VIP on their loopback with
 * ARP suppressed and answer the client directly. Connections spread over the three servers by
 * flow hash; nginx stopped on one takes it out and no new connection reaches it. Needs root.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { labUnavailable } from '../../src/lab/prerequisites.js';
import { LbLab, LB_VIP, RS_IPS, tally } from '../../src/lab/lb-lab.js';
import { drCounter } from '../../src/lb/nft-dr.js';

const skip = labUnavailable(['nginx', 'nsenter', 'unshare', 'curl', 'nft']) ?? false;

const LVS = `
virtual_server ${LB_VIP} 80 {
  delay_loop 1
  lvs_sched rr
  lvs_method DR
  protocol TCP
${RS_IPS.map(
  (ip) => `  real_server ${ip} 80 {
    TCP_CHECK {
      connect_timeout 0.5
      retry 1
      delay_before_retry 0.2
    }
  }`,
).join('\n')}
}
`;

let lab: LbLab;
const drRules = (): string => lab.lab.exec('lb1', ['nft', 'list', 'table', 'netdev', 'floatd_lb'], true);
/** Writes lb1's configuration, sends SIGHUP and waits until the load balancer was configured again. */
const reload = async (conf: string, what: string): Promise<void> => {
  lab.writeConfig('lb1', conf);
  const n = lab.log('lb1').split('lb.configure').length;
  lab.signalFloatd('lb1', 'HUP');
  await lab.waitFor(what, () => lab.log('lb1').split('lb.configure').length > n, 5000);
};
before(async () => {
  if (skip) return;
  lab = new LbLab({ dr: true });
  lab.writeConfig('lb1', LVS);
  lab.startFloatd('lb1');
  await lab.waitFor('lb1 holds the VIP', () => lab.holdsVip('lb1'), 10_000);
  await lab.waitFor('DR rules', () => drRules().includes('mod 3 seed'), 5000);
});
after(() => lab?.destroy());

test('DR: the balancer forwards unchanged frames; all three real servers answer the client directly', { skip }, () => {
  assert.match(
    drRules(),
    new RegExp(
      'meta mark set jhash ip saddr \\. tcp sport mod 3 seed 0x[0-9a-f]+ ' +
        'counter name meta mark map @c\\w+ fwd ip to meta mark map @t\\w+ device "eth1"',
    ),
  );
  assert.equal(lab.ruleset('lb1'), '', 'no NAT table for a DR service');
  const t = tally(lab.requests(90));
  assert.equal(t.failed, undefined, JSON.stringify(t));
  for (const h of ['rs1', 'rs2', 'rs3'])
    assert.ok((t[h] ?? 0) >= 10, `${h} served ${t[h] ?? 0} of 90 (flow hash): ${JSON.stringify(t)}`);
  // DR counters: every real server's named counter saw the packets sent to it.
  const counters = JSON.parse(
    lab.lab.exec('lb1', ['nft', '-j', 'list', 'counters', 'table', 'netdev', 'floatd_lb'], true),
  ) as {
    nftables: { counter?: { packets: number } }[];
  };
  const packets = counters.nftables.flatMap((x) => (x.counter ? [x.counter.packets] : []));
  assert.equal(packets.length, 3, JSON.stringify(counters));
  for (const p of packets)
    assert.ok(p >= 10 * 5, `each server ≥ 10 connections × 5 packets, got ${packets.join(', ')}`);
});

test('DR: nginx stopped on rs1 takes it out of rotation; no new connection reaches it', { skip }, async () => {
  lab.nginx('rs1', false);
  await lab.waitFor('rs1 out', () => drRules().includes('mod 2 seed'), 4000);
  const t = tally(lab.requests(40));
  assert.equal(t.rs1, undefined);
  assert.equal(t.failed, undefined, JSON.stringify(t));
  lab.nginx('rs1', true);
  await lab.waitFor('rs1 back', () => drRules().includes('mod 3 seed'), 4000);
});

test(
  'DR for a fwmark service: the operator marks in mangle prerouting, floatd dups to a server and drops',
  { skip },
  async () => {
    const marks = `${lab.dir('lb1')}/opmark.nft`;
    writeFileSync(
      marks,
      `add table ip opmark
add chain ip opmark pre { type filter hook prerouting priority mangle; policy accept; }
add rule ip opmark pre ip daddr ${LB_VIP} tcp dport 80 meta mark set 5
`,
    );
    lab.lab.exec('lb1', ['nft', '-f', marks]);
    await reload(LVS.replace(`virtual_server ${LB_VIP} 80 {`, 'virtual_server fwmark 5 {'), 'fwmark configured');
    const marked = (): string => lab.lab.exec('lb1', ['nft', 'list', 'table', 'ip', 'floatd_lbdr'], true);
    await lab.waitFor('fwmark DR rules', () => /dup to meta mark map @t\w+ device "eth1" drop/.test(marked()), 5000);
    const t = tally(lab.requests(60));
    assert.equal(t.failed, undefined, JSON.stringify(t));
    for (const h of ['rs1', 'rs2', 'rs3']) assert.ok((t[h] ?? 0) >= 5, `${h}: ${JSON.stringify(t)}`);
    assert.equal(drRules(), '', 'no netdev table for a fwmark-only configuration');
    lab.lab.exec('lb1', ['nft', 'delete', 'table', 'ip', 'opmark']);
    await reload(LVS, 'back to the address service');
    await lab.waitFor('DR rules', () => drRules().includes('mod 3 seed'), 5000);
  },
);

test(
  'PING_CHECK (ICMP echo through the addon): a real server that stops answering pings leaves, and returns',
  { skip },
  async () => {
    await reload(LVS.replace(/TCP_CHECK \{/g, 'PING_CHECK {'), 'ping checks configured');
    lab.lab.exec('rs2', ['sysctl', '-qw', 'net.ipv4.icmp_echo_ignore_all=1']);
    await lab.waitFor('rs2 out', () => drRules().includes('mod 2 seed'), 5000);
    assert.match(lab.log('lb1'), /real server 203\.0\.113\.12:80 down/);
    const t = tally(lab.requests(30));
    assert.equal(t.rs2, undefined, JSON.stringify(t));
    lab.lab.exec('rs2', ['sysctl', '-qw', 'net.ipv4.icmp_echo_ignore_all=0']);
    await lab.waitFor('rs2 back', () => drRules().includes('mod 3 seed'), 5000);
  },
);

test(
  'FILE_CHECK (a watched track_file): written while the reload starts the check, 1 takes rs3 out at once',
  { skip },
  async () => {
    const file = `${lab.dir('lb1')}/rs3.maint`;
    writeFileSync(file, '0\n');
    const withFile = `track_file rs3_maint {\n  file ${file}\n  weight 0\n}\n${LVS.replace(
      `real_server ${RS_IPS[2]} 80 {`,
      `real_server ${RS_IPS[2]} 80 {\n    FILE_CHECK { track_file rs3_maint }`,
    )}`;
    // No settle: the write lands while the new check starts (its first read and its watch). Two defects
    // once let it look done ('mod 2') with rs3 back in rotation for ~2 s: the new check started down, so
    // the reload took rs3 out until the first read (membership.ts: an unread file now decides nothing),
    // and a write between that read and the watch waited for the 2 s poll (file-tracker.ts: watch first).
    await reload(withFile, 'file checks configured');
    writeFileSync(file, '1\n');
    const ms = await lab.waitFor('rs3 out', () => drRules().includes('mod 2 seed'), 3000);
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(drRules().includes('mod 2 seed'), 'rs3 stays out');
    // ~0.1 s here (the watch); a write seen only by the 2 s re-read would take over 2 s.
    assert.ok(ms < 1500, `out ${ms} ms after the write`);
    assert.match(lab.log('lb1'), /real server 203\.0\.113\.13:80 down/);
    const t = tally(lab.requests(30));
    assert.equal(t.rs3, undefined, JSON.stringify(t));
    assert.equal(t.failed, undefined, JSON.stringify(t));
    writeFileSync(file, '0\n');
    await lab.waitFor('rs3 back', () => drRules().includes('mod 3 seed'), 3000);
    // A reload adding the check to a serving rs3 whose file reads 0 leaves it in rotation throughout.
    await reload(LVS, 'file check removed');
    await reload(withFile, 'file check added again');
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      seen.add(/ mod (\d) seed/.exec(drRules())?.[1] ?? '?');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual([...seen], ['3'], 'rs3 never left rotation');
  },
);

test(
  'DR for an IPv6 service (2001:db8::/32): fwd ip6 to each server, which answers the client directly',
  { skip },
  async () => {
    // On its own prefix: the balancer's checks then leave from 2001:db8::1, not from the VIP
    // (which the servers hold too, so their answers would stay inside them).
    const V6 = '2001:db8:100::100';
    const rs6 = (i: number): string => `2001:db8::1${i + 1}`;
    lab.lab.exec('lb1', ['ip', 'addr', 'add', '2001:db8::1/64', 'dev', 'eth1', 'nodad']);
    lab.lab.exec('lb1', ['ip', 'addr', 'add', `${V6}/128`, 'dev', 'eth1', 'nodad']);
    lab.lab.exec('client', ['ip', 'addr', 'add', '2001:db8::2/64', 'dev', 'eth1', 'nodad']);
    lab.lab.exec('client', ['ip', 'route', 'add', '2001:db8:100::/64', 'via', '2001:db8::1']);
    ['rs1', 'rs2', 'rs3'].forEach((h, i) => {
      lab.lab.exec(h, ['ip', 'addr', 'add', `${rs6(i)}/64`, 'dev', 'eth1', 'nodad']);
      // The lab flushed the servers' eth1, link-local address included: neighbour discovery needs one.
      lab.lab.exec(h, ['ip', 'addr', 'add', `fe80::1${i + 1}/64`, 'dev', 'eth1', 'nodad']);
      lab.lab.exec(h, ['ip', 'addr', 'add', `${V6}/128`, 'dev', 'lo']);
      const conf = `${lab.dir(h)}/nginx.conf`;
      writeFileSync(conf, readFileSync(conf, 'utf8').replace('listen 80;', 'listen 80; listen [::]:80;'));
      lab.lab.exec(h, ['nginx', '-c', conf, '-s', 'reload']);
    });
    const v6 = `
virtual_server ${V6} 80 {
  delay_loop 1
  lvs_sched sh
  sh-port
  lvs_method DR
${[0, 1, 2].map((i) => `  real_server ${rs6(i)} 80 { TCP_CHECK { connect_timeout 0.5 } }`).join('\n')}
}
`;
    await reload(LVS + v6, 'v6 configured');
    await lab.waitFor('v6 DR rules', () => /fwd ip6 to meta mark map @t\w+ device "eth1"/.test(drRules()), 5000);
    const urls = Array.from({ length: 60 }, () => `http://[${V6}]/`);
    const out = lab.lab.exec(
      'client',
      ['curl', '-g', '-s', '-H', 'Connection: close', '--max-time', '2', '-w', '|%{http_code}\\n', ...urls],
      true,
    );
    const t = tally(
      out
        .split('\n')
        .filter(Boolean)
        .map((l) => (l.split('|')[1] === '200' ? l.split('|')[0]! : '')),
    );
    assert.equal(t.failed, undefined, JSON.stringify(t));
    for (const h of ['rs1', 'rs2', 'rs3']) assert.ok((t[h] ?? 0) >= 5, `${h} over IPv6: ${JSON.stringify(t)}`);
    // Each IPv6 server's counter counted the packets sent to it.
    const c = JSON.parse(lab.lab.exec('lb1', ['nft', '-j', 'list', 'counters', 'table', 'netdev', 'floatd_lb'])) as {
      nftables: { counter?: { name: string; packets: number } }[];
    };
    for (const i of [0, 1, 2]) {
      const name = drCounter('ip6', { address: rs6(i), port: 80 }).name;
      const got = c.nftables.find((x) => x.counter?.name === name)?.counter?.packets ?? 0;
      assert.ok(got >= 5 * 5, `${rs6(i)}: ${got} packets counted`);
    }
  },
);
