/**
 * Lab: floatd's nftables load balancer, LVS-NAT, on real kernels with real nginx. One balancer
 * (lb1) runs `floatd run` with a vrrp_instance holding the public and the internal VIP and a
 * virtual_server with three real servers; a client sends requests, each on a new connection.
 * rr spreads evenly; a reload to wrr spreads by weight without touching the unchanged servers'
 * slots; stopping nginx takes a server out within delay_loop + retry × delay_before_retry and
 * no request goes to it after; starting it brings it back; losing quorum sends everything to
 * the sorry server. Needs root.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { labUnavailable } from '../../src/lab/prerequisites.js';
import { REPO_ROOT } from '../../src/lab/seed-lab.js';
import { LbLab, LB_VIP, RS_IPS, tally } from '../../src/lab/lb-lab.js';

const skip = labUnavailable(['nginx', 'nsenter', 'unshare', 'curl', 'nft']) ?? false;

let api = '';
const TOKEN = 'lb-test-token-0123456789abcdef';
const lvs = (sched: string, weights: number[]): string => `${api}
virtual_server ${LB_VIP} 80 {
  delay_loop 1
  lvs_sched ${sched}
  lvs_method NAT
  protocol TCP
  quorum 2
  sorry_server ${RS_IPS[2]} 8080
${RS_IPS.map(
  (ip, i) => `  real_server ${ip} 80 {
    weight ${weights[i]}
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
before(async () => {
  if (skip) return;
  lab = new LbLab();
  writeFileSync(join(lab.dir('lb1'), 'token'), TOKEN, { mode: 0o600 });
  api = `floatd_api {\n  socket ${lab.dir('lb1')}/floatd.sock\n  token_file ${lab.dir('lb1')}/token\n}\n`;
  lab.writeConfig('lb1', lvs('rr', [1, 1, 1]));
  lab.startFloatd('lb1');
  await lab.waitFor('lb1 holds the VIP', () => lab.holdsVip('lb1'), 10_000);
  await lab.waitFor('rules installed', () => lab.ruleset('lb1').includes('numgen inc mod 3'), 5000);
});
after(() => lab?.destroy());

test('rr: requests spread evenly over the three real servers', { skip }, () => {
  const t = tally(lab.requests(30));
  assert.deepEqual(t, { rs1: 10, rs2: 10, rs3: 10 });
});

/** Handle of the slot map (s…) and of the table: the same handle means updated in place. */
function handles(): { table: number; slots: number } {
  const j = JSON.parse(lab.lab.exec('lb1', ['nft', '-j', 'list', 'table', 'ip', 'floatd_lb'])) as {
    nftables: Record<string, { name: string; handle: number }>[];
  };
  const table = j.nftables.find((x) => x.table)!.table!.handle;
  const slots = j.nftables.find((x) => x.map && /^s/.test(x.map.name))!.map!.handle;
  return { table, slots };
}

test(
  'reload to wrr 1:2:3: requests spread by weight; the table and slot map are updated in place',
  { skip },
  async () => {
    const before = handles();
    lab.writeConfig('lb1', lvs('wrr', [1, 2, 3]));
    lab.signalFloatd('lb1', 'HUP');
    await lab.waitFor('wrr rules', () => lab.ruleset('lb1').includes('numgen inc mod 6'), 5000);
    const t = tally(lab.requests(60));
    assert.deepEqual(t, { rs1: 10, rs2: 20, rs3: 30 });
    assert.deepEqual(handles(), before, 'same table, same slot map: elements changed, nothing re-created');
    assert.match(lab.log('lb1'), /load balancer: 1 virtual server/);
  },
);

test(
  'nginx stopped on rs1: out of rotation within delay_loop + retry × delay_before_retry, then no request reaches it',
  { skip },
  async (ctx) => {
    const t0 = Date.now();
    lab.nginx('rs1', false);
    // wrr over rs2:rs3 = 2:3 is five slots.
    await lab.waitFor('rs1 out of rotation', () => lab.ruleset('lb1').includes('numgen inc mod 5'), 5000);
    const ms = Date.now() - t0;
    assert.match(lab.log('lb1'), /real server 203\.0\.113\.11:80 down/);
    // delay_loop 1 s + retry 1 × delay_before_retry 0.2 s (a refused connect is immediate), plus the nft apply.
    assert.ok(ms < 1000 + 200 + 500, `removal took ${ms} ms`);
    ctx.diagnostic(`nginx stop → out of rotation: ${ms} ms`);
    const t = tally(lab.requests(50));
    assert.equal(t.rs1, undefined, `no request to rs1 after removal: ${JSON.stringify(t)}`);
    assert.equal(t.failed, undefined, 'every request was served');
    assert.equal((t.rs2 ?? 0) + (t.rs3 ?? 0), 50);
  },
);

test('nginx back on rs1: in rotation again', { skip }, async () => {
  lab.nginx('rs1', true);
  await lab.waitFor('rs1 back in rotation', () => lab.ruleset('lb1').includes('numgen inc mod 6'), 3000);
  assert.match(lab.log('lb1'), /real server 203\.0\.113\.11:80 up/);
  const t = tally(lab.requests(60));
  assert.deepEqual(t, { rs1: 10, rs2: 20, rs3: 30 });
});

test(
  'quorum lost (live weight below 2): only the sorry server answers; regained: back to the pool',
  { skip },
  async () => {
    lab.writeConfig('lb1', lvs('rr', [1, 1, 1]));
    lab.signalFloatd('lb1', 'HUP');
    await lab.waitFor('rr rules', () => lab.ruleset('lb1').includes('numgen inc mod 3'), 5000);
    lab.nginx('rs1', false);
    lab.nginx('rs2', false);
    await lab.waitFor(
      'quorum lost',
      () => /quorum lost/.test(lab.log('lb1')) && lab.ruleset('lb1').includes('numgen inc mod 1 '),
      4000,
    );
    // rs3's nginx also serves the sorry page on :8080.
    assert.deepEqual(tally(lab.requests(10)), { sorry: 10 });
    lab.nginx('rs1', true);
    lab.nginx('rs2', true);
    await lab.waitFor(
      'quorum gained',
      () => /quorum gained/.test(lab.log('lb1')) && lab.ruleset('lb1').includes('numgen inc mod 3 '),
      4000,
    );
    assert.deepEqual(tally(lab.requests(30)), { rs1: 10, rs2: 10, rs3: 10 });
  },
);

test(
  'status and metrics: real servers with their checks, per-server counters from nft in keepalived_exporter names',
  { skip },
  () => {
    const sock = `${lab.dir('lb1')}/floatd.sock`;
    const status = JSON.parse(
      lab.lab.exec('lb1', ['curl', '-s', '--unix-socket', sock, 'http://localhost/api/v1/status']),
    ) as {
      lb?: {
        virtualServers: {
          key: string;
          quorumUp: boolean;
          realServers: { address: string; alive: boolean; checks: { kind: string; up: boolean }[] }[];
        }[];
      };
    };
    const vs = status.lb?.virtualServers[0];
    assert.equal(vs?.key, `${LB_VIP}:80/TCP`);
    assert.equal(vs?.quorumUp, true);
    assert.deepEqual(
      vs?.realServers.map((r) => [r.address, r.alive, r.checks[0]?.kind, r.checks[0]?.up]),
      RS_IPS.map((ip) => [ip, true, 'TCP_CHECK', true]),
    );
    const metrics = lab.lab.exec('lb1', ['curl', '-s', '--unix-socket', sock, 'http://localhost/metrics']);
    const conns = RS_IPS.map((ip) =>
      Number(
        new RegExp(`keepalived_lvs_rs_conn\\{addr="${ip.replace(/\./g, '\\.')}:80",proto="TCP"\\} (\\d+)`).exec(
          metrics,
        )?.[1] ?? -1,
      ),
    );
    assert.ok(
      conns.every((n) => n >= 10),
      `every real server counted its connections: ${conns.join(', ')}`,
    );
    const vip = Number(
      /keepalived_lvs_vip_conn\{addr="192\.0\.2\.100:80",proto="TCP"\} (\d+)/.exec(metrics)?.[1] ?? -1,
    );
    assert.equal(
      vip,
      conns.reduce((a, b) => a + b, 0),
    );
    assert.match(metrics, /floatd_lb_quorum_up\{vs="192\.0\.2\.100:80\/TCP"\} 1/);
    const text = lab.lab.exec(
      'lb1',
      ['env', `FLOATD_SOCKET=${sock}`, process.execPath, join(REPO_ROOT, 'dist/src/cli/main.js'), 'status'],
      true,
    );
    assert.match(text, /VIRTUAL SERVER/);
    assert.match(text, /203\.0\.113\.11:80\s+up\s+1\s+TCP_CHECK up/);
  },
);

test(
  'reload with one real server changed: established connections to the others keep going, answered by the same server',
  { skip },
  async () => {
    lab.writeConfig('lb1', lvs('wrr', [1, 1, 1]));
    lab.signalFloatd('lb1', 'HUP');
    await lab.waitFor('wrr 1:1:1', () => lab.ruleset('lb1').includes('numgen inc mod 3 map'), 5000);
    // Three keep-alive streams (one curl each, 20 requests a second on one connection).
    const urls = Array.from({ length: 60 }, () => `http://${LB_VIP}/`);
    const streams = [0, 1, 2].map((i) =>
      lab.lab.spawn(
        'client',
        ['curl', '-s', '--rate', '20/s', '--max-time', '10', '-w', '|%{http_code}|%{num_connects}\\n', ...urls],
        `stream-${i}.log`,
      ),
    );
    await new Promise((r) => setTimeout(r, 800));
    lab.writeConfig('lb1', lvs('wrr', [1, 1, 4]));
    lab.signalFloatd('lb1', 'HUP');
    await lab.waitFor('wrr 1:1:4', () => lab.ruleset('lb1').includes('numgen inc mod 6 map'), 5000);
    await Promise.all(streams.map((s) => new Promise((r) => s.on('exit', r))));
    const seen = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const lines = readFileSync(join(lab.lab.dir, `stream-${i}.log`), 'utf8')
        .split('\n')
        .filter(Boolean);
      assert.equal(lines.length, 60, `stream ${i}: every request answered`);
      const bodies = new Set(lines.map((l) => l.split('|')[0]));
      assert.equal(bodies.size, 1, `stream ${i} stayed on one real server: ${[...bodies].join(',')}`);
      assert.ok(lines.every((l) => l.split('|')[1] === '200'));
      assert.equal(lines.slice(1).filter((l) => l.split('|')[2] !== '0').length, 0, `stream ${i} never reconnected`);
      seen.add([...bodies][0]!);
    }
    assert.equal(seen.size, 3, 'the three streams were on the three servers (rr per connection)');
  },
);

test(
  'sh: every connection from one client goes to the same real server; persistence_timeout does the same for rr',
  { skip },
  async () => {
    lab.writeConfig('lb1', lvs('sh', [1, 1, 1]));
    lab.signalFloatd('lb1', 'HUP');
    await lab.waitFor('sh rules', () => lab.ruleset('lb1').includes('jhash ip saddr mod 256'), 5000);
    const sh = tally(lab.requests(20));
    assert.equal(Object.keys(sh).length, 1, `one server for one client: ${JSON.stringify(sh)}`);
    assert.equal(Object.values(sh)[0], 20);
    lab.writeConfig('lb1', lvs('rr', [1, 1, 1]).replace('protocol TCP', 'protocol TCP\n  persistence_timeout 30'));
    lab.signalFloatd('lb1', 'HUP');
    await lab.waitFor(
      'persistence rules',
      () => /update @p\w+ \{ ip saddr : ip daddr \. tcp dport \}/.test(lab.ruleset('lb1')),
      5000,
    );
    const p = tally(lab.requests(20));
    assert.equal(Object.keys(p).length, 1, `persistent client: ${JSON.stringify(p)}`);
  },
);

test(
  'drain through the API: no new connection reaches the drained server; undrain brings it back',
  { skip },
  async () => {
    lab.writeConfig('lb1', lvs('rr', [1, 1, 1]));
    lab.signalFloatd('lb1', 'HUP');
    await lab.waitFor(
      'rr rules',
      () => lab.ruleset('lb1').includes('numgen inc mod 3 map') && !lab.ruleset('lb1').includes('update @p'),
      5000,
    );
    const sock = `${lab.dir('lb1')}/floatd.sock`;
    const post = (q: string, token = TOKEN): string =>
      lab.lab.exec(
        'lb1',
        [
          'curl',
          '-s',
          '-o',
          '/dev/null',
          '-w',
          '%{http_code}',
          '-X',
          'POST',
          '-H',
          `Authorization: Bearer ${token}`,
          '--unix-socket',
          sock,
          `http://localhost/api/v1/lb/drain?${q}`,
        ],
        true,
      );
    assert.equal(post('rs=203.0.113.12:80&state=on', 'wrong-token-0000000000000'), '401', 'the verb needs the token');
    assert.equal(post('rs=203.0.113.99:80&state=on'), '404');
    assert.equal(post('rs=203.0.113.12:80&state=on'), '200');
    assert.deepEqual(tally(lab.requests(20)), { rs1: 10, rs3: 10 });
    const st = JSON.parse(
      lab.lab.exec('lb1', ['curl', '-s', '--unix-socket', sock, 'http://localhost/api/v1/status']),
    ) as { lb: { virtualServers: { realServers: { address: string; drained: boolean; weight: number | null }[] }[] } };
    assert.deepEqual(
      st.lb.virtualServers[0]!.realServers.map((r) => [r.address, r.drained]),
      [
        ['203.0.113.11', false],
        ['203.0.113.12', true],
        ['203.0.113.13', false],
      ],
    );
    assert.equal(post('rs=203.0.113.12:80&state=off'), '200');
    assert.deepEqual(tally(lab.requests(30)), { rs1: 10, rs2: 10, rs3: 10 });
  },
);
