import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText, formatDiagnostic } from '../../../src/config/index.js';
import { reconcilerSettings } from '../../../src/cloud/runner.js';

const INSTANCE = (extra = '') =>
  `vrrp_instance VI_1 {\n  interface eth1\n  virtual_router_id 33\n  priority 200\n${extra}}\n`;

test('a floating_ip block is modelled and an instance refers to it', () => {
  const r = parseConfigText(
    `floating_ip web {
  provider digitalocean
  address 203.0.113.10
  token_file /etc/floatd/do.token
  api_url http://127.0.0.1:8080/
  metadata_url http://127.0.0.1:8081
  reconcile_interval 15
  max_calls 8
  timeout 2.5
  peers 101 102
}
${INSTANCE('  floating_ip web\n')}`,
    'f.conf',
  );
  assert.ok(r.config, r.diagnostics.map(formatDiagnostic).join('\n'));
  const [f] = r.config.floatingIps;
  assert.deepEqual(
    [f?.provider, f?.address, f?.tokenFile, f?.apiUrl, f?.metadataUrl],
    ['digitalocean', '203.0.113.10', '/etc/floatd/do.token', 'http://127.0.0.1:8080', 'http://127.0.0.1:8081'],
  );
  assert.deepEqual(r.config.instances[0]?.floatingIps, ['web']);
  const s = reconcilerSettings(f!);
  assert.equal(s.reconcileUs, 15_000_000);
  assert.equal(s.maxAttempts, 8);
  assert.deepEqual(s.peers, ['101', '102']);
  assert.equal(s.claimWindowUs, 62_500_000, 'action_timeout 60 s + timeout 2.5 s');
  assert.deepEqual(
    r.diagnostics.filter((d) => d.severity !== 'info'),
    [],
  );
  assert.equal(
    r.config.instances[0]?.higherPrioSendAdvert,
    true,
    'a peered floating_ip makes a stepping-down MASTER send one advert',
  );
});

test('peers: a list, commas or repeated lines; without it a positioned warning names the partition problem', () => {
  const conf = (peers: string): string =>
    `floating_ip web {\n  provider digitalocean\n  address 203.0.113.10\n  token_env T\n${peers}}\n` +
    `${INSTANCE('  floating_ip web\n')}`;
  const r = parseConfigText(conf('  peers 101,102\n  peers 103 101\n'), 'p.conf');
  assert.deepEqual(r.config?.floatingIps[0]?.peers, ['101', '102', '103']);
  const none = parseConfigText(conf(''), 'n.conf');
  const w = none.diagnostics.find((d) => d.severity === 'warning' && /lists no peers/.test(d.message));
  assert.ok(w, none.diagnostics.map(formatDiagnostic).join('\n'));
  assert.match(formatDiagnostic(w), /^n\.conf:1:1: /);
  assert.equal(none.config?.instances[0]?.higherPrioSendAdvert, false);
  assert.ok(
    parseConfigText(conf('  peers\n'), 'e.conf').diagnostics.some(
      (d) => d.severity === 'error' && d.keyword === 'peers',
    ),
  );
});

test('a sync group carries its floating_ip to every member', () => {
  const r = parseConfigText(
    `floating_ip web {\n  provider hetzner\n  address 203.0.113.10\n  token_env HCLOUD_TOKEN\n}
${INSTANCE()}vrrp_instance VI_2 {\n  interface eth1\n  virtual_router_id 34\n}
vrrp_sync_group G {\n  group {\n    VI_1\n    VI_2\n  }\n  floating_ip web\n}\n`,
    'g.conf',
  );
  assert.ok(r.config, r.diagnostics.map(formatDiagnostic).join('\n'));
  assert.deepEqual(
    r.config.instances.map((i) => i.floatingIps),
    [['web'], ['web']],
  );
});

const BAD: [string, string, string][] = [
  [
    `floating_ip f {\n  provider digitalocen\n  address 203.0.113.10\n  token_env T\n}\n` +
      `${INSTANCE('  floating_ip f\n')}`,
    '2:12',
    'expected one of digitalocean',
  ],
  [
    `floating_ip f {\n  provider digitalocean\n  token_env T\n}\n${INSTANCE('  floating_ip f\n')}`,
    '1:1',
    'has no address',
  ],
  [
    `floating_ip f {\n  provider digitalocean\n  address 203.0.113.10\n}\n${INSTANCE('  floating_ip f\n')}`,
    '1:1',
    'has no credentials',
  ],
  [
    `floating_ip f {\n  provider digitalocean\n  address 203.0.113.10\n  token_env T\n  max_calls 2\n}\n` +
      `${INSTANCE('  floating_ip f\n')}`,
    '5:13',
    'the happy path takes 4',
  ],
  [
    `floating_ip f {\n  provider digitalocean\n  address 203.0.113.10\n  token_env T\n  api_url ftp://x\n}\n` +
      `${INSTANCE('  floating_ip f\n')}`,
    '5:11',
    'expected an http(s) URL',
  ],
  [INSTANCE('  floating_ip nope\n'), '1:1', 'floating_ip nope, which is not defined'],
];
for (const [text, pos, fragment] of BAD) {
  test(`floating_ip error at ${pos}: ${fragment}`, () => {
    const r = parseConfigText(text, 'bad.conf');
    assert.equal(r.config, null);
    const hit = r.diagnostics.find(
      (d) => d.severity === 'error' && `${d.line}:${d.col}` === pos && formatDiagnostic(d).includes(fragment),
    );
    assert.ok(hit, r.diagnostics.map(formatDiagnostic).join('\n'));
  });
}

test('a misspelt floating_ip keyword is a warning with a suggestion; an unused block is a warning', () => {
  const r = parseConfigText(
    `floating_ip f {\n  provider aws\n  address 203.0.113.10\n  reconcile_intervall 5\n}\n${INSTANCE()}`,
    'w.conf',
  );
  assert.ok(r.config);
  const text = r.diagnostics.map(formatDiagnostic).join('\n');
  assert.match(text, /w\.conf:4:3: warning: reconcile_intervall: .*did you mean 'reconcile_interval'/);
  assert.match(text, /not used by any vrrp_instance/);
});

test("a token_file others can read: positioned warning (issue 15 item 17); a missing one is the daemon's", async () => {
  const { mkdtempSync, writeFileSync, chmodSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'floatd-tok-'));
  try {
    const file = join(dir, 'do.token');
    writeFileSync(file, 'x\n');
    chmodSync(file, 0o640);
    const conf = (path: string): string =>
      `floating_ip web {\n  provider digitalocean\n  address 203.0.113.10\n  token_file ${path}\n  peers 1 2\n}\n` +
      `${INSTANCE('  floating_ip web\n')}`;
    const r = parseConfigText(conf(file), 't.conf');
    const w = r.diagnostics.find((d) => d.keyword === 'token_file');
    assert.ok(w, r.diagnostics.map(formatDiagnostic).join('\n'));
    assert.match(
      formatDiagnostic(w),
      /^t\.conf:4:14: warning: token_file: the token file .* is readable by group \d+ \(mode 0640; chmod 600 it\)/,
    );
    chmodSync(file, 0o600);
    assert.equal(parseConfigText(conf(file), 't.conf').diagnostics.filter((d) => d.keyword === 'token_file').length, 0);
    assert.equal(
      parseConfigText(conf(join(dir, 'absent')), 't.conf').diagnostics.filter((d) => d.keyword === 'token_file').length,
      0,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
