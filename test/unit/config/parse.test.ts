import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { loadConfig, parseConfigText, formatDiagnostic } from '../../../src/config/index.js';
import { lex } from '../../../src/config/lexer.js';

const root = new URL('../../../', import.meta.url).pathname.replace(/\/dist\/$/, '/');

test('the seed MASTER config parses without error and the model matches it', async () => {
  const r = await loadConfig(join(root, 'examples/seed-master.conf'));
  assert.ok(r.config, r.diagnostics.map(formatDiagnostic).join('\n'));
  assert.equal(r.diagnostics.filter((d) => d.severity === 'error').length, 0);
  const [i] = r.config.instances;
  assert.ok(i);
  assert.equal(i.name, 'VI_1');
  assert.equal(i.interface, 'eth1');
  assert.equal(i.initialState, 'MASTER');
  assert.equal(i.priority, 200);
  assert.equal(i.vrid, 33);
  assert.equal(i.version, 2);
  assert.equal(i.advertIntervalCs, 100);
  assert.equal(i.unicastSrcIp, '10.134.23.164');
  assert.deepEqual(i.unicastPeers, [{ address: '10.134.4.220' }]);
  assert.deepEqual(i.auth, { type: 'PASS', pass: 'keepaliv' });
  assert.deepEqual(i.trackScripts, [{ name: 'chk_nginx', weight: 0, reverse: false }]);
  assert.deepEqual(i.notify.master, { argv: ['/etc/keepalived/master.sh'] });
  const [s] = r.config.scripts;
  assert.deepEqual(
    [s?.name, s?.kind, s?.argv, s?.intervalMs, s?.timeoutMs, s?.rise, s?.fall],
    ['chk_nginx', 'script', ['pidof', 'nginx'], 2000, 2000, 1, 1],
  );
  // keepalived's truncation is kept, with a positioned warning.
  const w = r.diagnostics.find((d) => d.keyword === 'auth_pass');
  assert.equal(`${w?.line}:${w?.col}`, '19:19');
});

test('the seed BACKUP config parses: state BACKUP, priority 100, mirrored addresses', async () => {
  const r = await loadConfig(join(root, 'examples/seed-backup.conf'));
  assert.ok(r.config);
  const [i] = r.config.instances;
  assert.deepEqual(
    [i?.initialState, i?.priority, i?.unicastSrcIp, i?.unicastPeers[0]?.address],
    ['BACKUP', 100, '10.134.4.220', '10.134.23.164'],
  );
});

// Broken configurations: [text, expected "line:col", message fragment].
const BROKEN: [string, string, string][] = [
  [
    'vrrp_instance A {\n  interface eth0\n  priority 300\n  virtual_router_id 1\n}\n',
    '3:12',
    'expected an integer 1..255',
  ],
  ['vrrp_instance A {\n  interface eth0\n  virtual_router_id 0\n}\n', '3:21', 'virtual_router_id'],
  ['vrrp_instance A {\n  interface eth0\n}\n', '1:1', 'no virtual_router_id'],
  ['vrrp_instance A {\n  virtual_router_id 5\n}\n', '1:1', 'no interface'],
  [
    'vrrp_instance A {\n  interface eth0\n  virtual_router_id 5\n  state MASTRE\n}\n',
    '4:9',
    'expected MASTER or BACKUP',
  ],
  [
    'vrrp_instance A {\n  interface eth0\n  virtual_router_id 5\n  unicast_peer {\n    10.0.0.300\n  }\n}\n',
    '5:5',
    'expected an IP address',
  ],
  [
    'vrrp_instance A {\n  interface eth0\n  virtual_router_id 5\n  virtual_ipaddress {\n    192.0.2.1/40\n  }\n}\n',
    '5:5',
    'bad prefix length',
  ],
  [
    'vrrp_instance A {\n  interface eth0\n  virtual_router_id 5\n  track_script {\n    chk_missing\n  }\n}\n',
    '5:5',
    'no vrrp_script named',
  ],
  ['vrrp_instance A {\n  interface eth0\n  virtual_router_id 5\n', '1:17', 'never closed'],
  ['}\n', '1:1', "unexpected '}'"],
  ['vrrp_script s {\n  interval 2\n}\n', '1:1', 'nothing to run'],
  ['vrrp_script s {\n  script "true"\n  interval fast\n}\n', '3:12', 'expected seconds'],
  ['vrrp_script s {\n  tcp_connect localhost\n}\n', '2:15', 'expected HOST:PORT'],
  [
    'vrrp_instance A {\n  interface eth0\n  virtual_router_id 5\n  authentication {\n    auth_type MD5\n  }\n}\n',
    '5:15',
    'expected PASS or AH',
  ],
  [
    'vrrp_instance A {\n  interface eth0\n  virtual_router_id 5\n}\nvrrp_instance B {\n  interface eth0\n' +
      '  virtual_router_id 5\n}\n',
    '5:1',
    'already used by A',
  ],
  [
    'floating_ip f {\n  provider digitalocean\n  address 203.0.113.10\n  token abc\n}\n',
    '4:3',
    'never goes in the configuration',
  ],
  [
    'vrrp_instance A {\n  interface eth0\n  virtual_router_id 5\n  track_script {\n    s weight 999\n  }\n}\n' +
      'vrrp_script s {\n  script "true"\n}\n',
    '5:14',
    'weight must be',
  ],
];

for (const [text, pos, fragment] of BROKEN) {
  test(`broken config reports ${pos}: ${fragment}`, () => {
    const r = parseConfigText(text, 'bad.conf');
    const errs = r.diagnostics.filter((d) => d.severity === 'error');
    assert.equal(r.config, null, 'a config with errors is not usable');
    const hit = errs.find((d) => `${d.line}:${d.col}` === pos && formatDiagnostic(d).includes(fragment));
    assert.ok(hit, `want ${pos} "${fragment}", got:\n${errs.map(formatDiagnostic).join('\n')}`);
    assert.match(formatDiagnostic(hit), /^bad\.conf:\d+:\d+: error: /);
  });
}

test('unknown keywords are warnings with a did-you-mean hint; the config stays usable', () => {
  const r = parseConfigText('vrrp_instance A {\n  interface eth0\n  virtual_router_id 5\n  priorty 150\n}\n', 'x.conf');
  assert.ok(r.config);
  const w = r.diagnostics.find((d) => d.severity === 'warning');
  assert.equal(`${w?.line}:${w?.col}`, '4:3');
  assert.equal(w?.hint, "did you mean 'priority'?");
});

test('include with a glob resolves relative to the including file; $VAR and @conditions apply', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'floatd-conf-'));
  mkdirSync(join(dir, 'conf.d'));
  writeFileSync(join(dir, 'keepalived.conf'), '$IF=eth7\ninclude conf.d/*.conf\n');
  writeFileSync(
    join(dir, 'conf.d/a.conf'),
    'vrrp_instance A {\n  interface $IF\n  virtual_router_id 5\n  @lb1 priority 200\n  @^lb1 priority 100\n}\n',
  );
  const lb1 = await loadConfig(join(dir, 'keepalived.conf'), { configIds: ['lb1'] });
  const other = await loadConfig(join(dir, 'keepalived.conf'));
  assert.equal(lb1.config?.instances[0]?.interface, 'eth7');
  assert.equal(lb1.config?.instances[0]?.priority, 200);
  assert.equal(other.config?.instances[0]?.priority, 100);
  assert.ok(lb1.config?.files.some((f) => f.endsWith('conf.d/a.conf')));
});

test('state MASTER without priority is the address owner (255), with a warning', () => {
  const r = parseConfigText(
    'vrrp_instance A {\n  interface eth0\n  state MASTER\n  virtual_router_id 5\n}\n',
    'x.conf',
  );
  assert.equal(r.config?.instances[0]?.priority, 255);
  assert.ok(r.diagnostics.some((d) => d.severity === 'warning' && d.message.includes('address owner')));
});

test('floatd additions: native HTTP check with fractional interval', () => {
  const r = parseConfigText(
    'vrrp_script web {\n  http_get http://127.0.0.1/health\n  expect_status 200-299 301\n  interval 0.1\n' +
      '  rise 3\n  fall 2\n}\n',
    'x.conf',
  );
  const s = r.config?.scripts[0];
  assert.deepEqual(
    [s?.kind, s?.url, s?.expectStatus, s?.intervalMs, s?.rise, s?.fall],
    [
      'http',
      'http://127.0.0.1/health',
      [
        [200, 299],
        [301, 301],
      ],
      100,
      3,
      2,
    ],
  );
});

test('property: the lexer never throws and every token position lies inside the text', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (text) => {
      const { tokens } = lex('p.conf', text);
      const lines = text.split('\n');
      for (const t of tokens) {
        assert.ok(t.line >= 1 && t.line <= lines.length);
        assert.ok(t.col >= 1 && t.col <= (lines[t.line - 1]?.length ?? 0));
      }
      parseConfigText(text, 'p.conf');
    }),
  );
});

test("the seed file text is the tutorial's, byte for byte in its config lines", () => {
  const text = readFileSync(join(root, 'examples/seed-master.conf'), 'utf8');
  assert.match(text, /script "pidof nginx"\n    interval 2\n/);
  assert.match(text, /auth_pass keepalivedpls!\n/);
});

test('vrrp_track_file and vrrp_track_process are modelled and referenced from instances with weights', () => {
  const r = parseConfigText(
    `vrrp_track_file maint {
  file "/run/maintenance"
  weight -50
}
vrrp_track_process web {
  process nginx
  quorum 2
  weight 20 reverse
}
vrrp_instance A {
  interface eth0
  virtual_router_id 5
  track_file {
    maint
  }
  track_process {
    web weight 10
    nope
  }
}
`,
    'x.conf',
  );
  const nope = r.diagnostics.find((d) => d.severity === 'error' && d.message.includes('"nope"'));
  assert.equal(`${nope?.line}:${nope?.col}`, '18:5');
  const ok = parseConfigText(
    `vrrp_track_file maint {\n  file "/run/m"\n  weight -50\n}\nvrrp_track_process web {\n  process nginx\n` +
      `  quorum 2\n}\nvrrp_instance A {\n  interface eth0\n  virtual_router_id 5\n  track_file {\n    maint\n` +
      `  }\n  track_process {\n    web weight 10\n  }\n}\n`,
    'y.conf',
  );
  assert.ok(ok.config, ok.diagnostics.map(formatDiagnostic).join('\n'));
  assert.deepEqual(
    ok.config.trackFiles.map((f) => [f.name, f.path, f.weight]),
    [['maint', '/run/m', -50]],
  );
  assert.deepEqual(
    ok.config.trackProcesses.map((p) => [p.name, p.process, p.quorum]),
    [['web', 'nginx', 2]],
  );
  assert.deepEqual(ok.config.instances[0]?.trackFiles, [{ name: 'maint', weight: -50, reverse: false }]);
  assert.deepEqual(ok.config.instances[0]?.trackProcesses, [{ name: 'web', weight: 10, reverse: false }]);
});
