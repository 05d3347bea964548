/**
 * The DR plan (pure): IPv4 and IPv6 address services in the netdev table, fwmark services in
 * the ip/ip6 floatd_lbdr table (dup to the server, then drop), one hash per packet into the
 * mark selecting both the server and its counter.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../../src/config/index.js';
import { DR_MARK_TABLE, drCounterKeys, drTables } from '../../../src/lb/nft-dr.js';
import { diffGeneric } from '../../../src/lb/nft-diff.js';

const CONF = `virtual_server 192.0.2.40 80 { lvs_sched rr
  lvs_method DR
  real_server 203.0.113.11 80 { }
  real_server 203.0.113.12 80 { }
}
virtual_server 2001:db8::100 80 { lvs_sched sh
  lvs_method DR
  real_server 2001:DB8::11 80 { }
}
virtual_server fwmark 7 { lvs_sched dh
  lvs_method DR
  real_server 203.0.113.13 { }
}
virtual_server fwmark 8 { lvs_sched rr
  ip_family inet6
  protocol UDP
  lvs_method DR
  real_server 2001:db8::12 53 { }
}`;

const vss = parseConfigText(CONF, 't.conf').config!.virtualServers!;
const all = new Map(vss.map((v) => [v.key, v.realServers.map((r) => ({ ...r }))]));
const devs = new Map(vss.map((v) => [v.key, 'eth1']));

test('DR tables: netdev for address services (both families), floatd_lbdr per family for fwmark ones', () => {
  const ts = drTables(vss, all, devs);
  assert.deepEqual(
    ts.map((t) => `${t.family} ${t.name ?? 'floatd_lb'}`),
    ['netdev floatd_lb', `ip ${DR_MARK_TABLE}`, `ip6 ${DR_MARK_TABLE}`],
  );
  const [nd, m4, m6] = ts;
  assert.deepEqual(nd!.chains.get('ing_eth1')!.rules, [
    'ip daddr . meta l4proto . th dport vmap @drdisp',
    'ip6 daddr . meta l4proto . th dport vmap @drdisp6',
  ]);
  assert.deepEqual([...nd!.elements.get('drdisp6')!.keys()], ['2001:db8::100 . tcp . 80']);
  const rules = [...nd!.chains.values()].flatMap((c) => c.rules).join('\n');
  assert.match(
    rules,
    new RegExp(
      'meta mark set jhash ip saddr \\. tcp sport mod 2 seed 0x\\w+ ' +
        'counter name meta mark map @c\\w+ fwd ip to meta mark map @t\\w+ device "eth1"',
    ),
  );
  assert.match(
    rules,
    /meta mark set jhash ip6 saddr mod 256 seed 0x\w+ counter name .* fwd ip6 to meta mark map @t\w+ device "eth1"/,
  );
  const r4 = [...m4!.chains.values()].flatMap((c) => c.rules).join('\n');
  assert.match(r4, /meta mark vmap @drm/);
  assert.match(r4, /jhash ip daddr mod 256 .* dup to meta mark map @t\w+ device "eth1" drop/);
  assert.equal(m4!.chains.get('drpre')!.decl, 'type filter hook prerouting priority -140; policy accept;');
  assert.deepEqual([...m4!.elements.get('drm')!.keys()], ['7']);
  assert.match(
    [...m6!.chains.values()].flatMap((c) => c.rules).join('\n'),
    /meta l4proto udp .* ip6 saddr \. udp sport/,
  );
  // The counter map points each slot at its server's counter; counters() reports it by address and port.
  const keys = drCounterKeys(vss);
  const cmap = [...nd!.elements].find(([k]) => k.startsWith('c'))![1];
  assert.deepEqual(
    [...cmap.values()].map((n) => keys.get(n)),
    ['ip 203.0.113.11 80', 'ip 203.0.113.12 80'],
  );
  assert.ok([...keys.values()].includes('ip6 2001:db8::11 80'), 'canonical IPv6 text');
  assert.ok([...keys.values()].includes('ip 203.0.113.13 0'));
});

test('DR: no server in rotation: an empty service chain; a server leaving changes elements only', () => {
  const none = new Map([...all].map(([k]) => [k, []]));
  const [nd] = drTables(vss, none, devs);
  for (const [name, c] of nd!.chains) if (name.startsWith('d_')) assert.deepEqual(c.rules, []);
  const before = drTables(vss, all, devs)[0]!;
  const less = new Map([...all].map(([k, rs]) => [k, rs.filter((r) => r.address !== '203.0.113.12')]));
  const after = drTables(vss, less, devs)[0]!;
  assert.deepEqual([...after.maps.keys()], [...before.maps.keys()], 'same maps');
  assert.deepEqual(after.counters, before.counters, 'a leaving server keeps its counter');
  const script = diffGeneric(after, undefined);
  assert.match(script, /^add table netdev floatd_lb$/m);
});
