/**
 * Lab (real kernel, one throwaway network namespace): every shape of virtual service the
 * planner builds — each scheduler, persistence, fwmark, groups with ranges, UDP, IPv6, DR for
 * IPv4/IPv6 address and fwmark services —
 * is accepted by nft, and a second apply against what the kernel then holds (read back through
 * `nft -j list table`) changes nothing. Then a server leaves, comes back, and everything goes:
 * the kernel ends empty. Needs root and nft.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { parseConfigText } from '../../src/config/index.js';
import { NftBackend, execFile } from '../../src/lb/backend.js';
import type { RotationEntry } from '../../src/lb/membership.js';
import type { VirtualServerConfig } from '../../src/config/lvs-model.js';

const skip =
  process.getuid?.() !== 0
    ? 'needs root'
    : spawnSync('which', ['nft']).status !== 0
      ? 'needs nft (scripts/setup.sh)'
      : false;
const ns = `fdlbshape${randomBytes(3).toString('hex')}`;

const CONF = `
virtual_server_group G { 192.0.2.10-12 80
  fwmark 9 }
${['rr', 'wrr', 'sh', 'dh', 'mh', 'fo']
  .map(
    (s, i) => `virtual_server 192.0.2.${20 + i} 80 { lvs_sched ${s}
  real_server 203.0.113.11 80 { weight 2 }
  real_server 203.0.113.12 8080 { weight 1 }
}`,
  )
  .join('\n')}
virtual_server 192.0.2.30 443 { lvs_sched sh
  sh-port
  persistence_timeout 60
  real_server 203.0.113.11 443 { }
}
virtual_server 192.0.2.31 53 { lvs_sched rr
  protocol UDP
  real_server 203.0.113.11 53 { }
  real_server 203.0.113.12 53 { }
}
virtual_server fwmark 7 { lvs_sched rr
  persistence_timeout 30
  real_server 203.0.113.11 { }
}
virtual_server group G { lvs_sched wrr
  real_server 203.0.113.13 80 { }
}
virtual_server 2001:db8::100 80 { lvs_sched mh
  real_server 2001:DB8::11 80 { }
  real_server 2001:db8:0::12 80 { }
}
virtual_server 192.0.2.40 80 { lvs_sched rr
  lvs_method DR
  real_server 203.0.113.11 80 { }
  real_server 203.0.113.12 80 { }
}
virtual_server 2001:db8::140 80 { lvs_sched mh
  lvs_method DR
  real_server 2001:db8::11 80 { }
  real_server 2001:db8::12 80 { }
}
virtual_server fwmark 11 { lvs_sched sh
  lvs_method DR
  real_server 203.0.113.11 { }
  real_server 203.0.113.12 { }
}
virtual_server fwmark 12 { lvs_sched wrr
  ip_family inet6
  protocol UDP
  lvs_method DR
  real_server 2001:db8::11 53 { weight 2 }
  real_server 2001:db8::12 53 { }
}
`;

let vss: VirtualServerConfig[] = [];
before(() => {
  if (skip) return;
  spawnSync('ip', ['netns', 'add', ns]);
  spawnSync('ip', ['-n', ns, 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'eth2']);
  for (const d of ['lo', 'eth1', 'eth2']) spawnSync('ip', ['-n', ns, 'link', 'set', d, 'up']);
  spawnSync('ip', ['-n', ns, 'addr', 'add', '203.0.113.1/24', 'dev', 'eth1']);
  spawnSync('ip', ['-n', ns, 'addr', 'add', '2001:db8::1/64', 'dev', 'eth1', 'nodad']);
  const r = parseConfigText(CONF, 'shapes.conf');
  assert.ok(r.config, JSON.stringify(r.diagnostics.filter((d) => d.severity === 'error')));
  vss = r.config.virtualServers!;
});
after(() => {
  if (!skip) spawnSync('ip', ['netns', 'del', ns]);
});

const all = (): Map<string, RotationEntry[]> =>
  new Map(vss.map((v) => [v.key, v.realServers.map((r) => ({ address: r.address, port: r.port, weight: r.weight }))]));

test('every shape is accepted by the kernel, and a second apply changes nothing', { skip }, async () => {
  const b = new NftBackend(execFile(['ip', 'netns', 'exec', ns]));
  const first = await b.apply(vss, all());
  assert.equal(first.changed, true);
  for (const t of ['ip floatd_lb', 'ip6 floatd_lb', 'netdev floatd_lb', 'ip floatd_lbdr', 'ip6 floatd_lbdr'])
    assert.equal(
      spawnSync('ip', ['netns', 'exec', ns, 'nft', 'list', 'table', ...t.split(' ')]).status,
      0,
      `table ${t}`,
    );
  // DR counters are read back per real server (packets towards it; none sent here).
  const c = await b.counters(vss);
  assert.deepEqual(c.get('ip6 2001:db8::11 80'), { inPackets: 0, inBytes: 0, outPackets: 0, outBytes: 0, conns: 0 });
  assert.ok(c.has('ip 203.0.113.11 0'), 'fwmark DR server counted');
  const again = await b.apply(vss, all());
  assert.equal(again.script, '', 'the kernel already matches');
  // One server leaves everywhere, then returns: only slot elements and rules change, then nothing.
  const less = new Map([...all()].map(([k, rs]) => [k, rs.filter((r) => r.address !== '203.0.113.12')]));
  const out = await b.apply(vss, less);
  assert.doesNotMatch(out.script, /add table|add map|delete map/);
  assert.equal((await b.apply(vss, less)).script, '');
  await b.apply(vss, all());
  assert.equal((await b.apply(vss, all())).script, '');
  await b.apply([], new Map());
  await b.clear();
  const left = spawnSync('ip', ['netns', 'exec', ns, 'nft', 'list', 'ruleset'], { encoding: 'utf8' }).stdout.trim();
  assert.equal(left, '');
});
