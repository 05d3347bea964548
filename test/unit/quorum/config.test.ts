import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText, formatDiagnostic } from '../../../src/config/index.js';

const INST = (name: string, vrid: number, extra = '') =>
  `vrrp_instance ${name} {\n  interface eth1\n  virtual_router_id ${vrid}\n  priority 100\n${extra}}\n`;
const BLOCK = (body: string) => `floatd_quorum main {\n${body}}\n`;
const UNI = '  unicast_peer {\n    198.51.100.2\n  }\n';
const FS = '  on_quorum_loss failsafe\n  failsafe_secret_file /k.key\n';
const GOOD =
  '  backend etcd\n  endpoints http://198.51.100.100:2379 http://198.51.100.101:2379 http://198.51.100.102:2379\n' +
  '  key /floatd/web\n';

test('a floatd_quorum block is modelled with defaults derived from the ttl', () => {
  const r = parseConfigText(BLOCK(GOOD + '  ttl 2\n') + INST('VI_1', 1, '  quorum main\n'), 'q.conf');
  assert.ok(r.config, r.diagnostics.map(formatDiagnostic).join('\n'));
  const [q] = r.config.quorums;
  assert.deepEqual(
    q && {
      e: q.endpoints.length,
      key: q.key,
      ttl: q.ttlMs,
      renew: q.renewMs,
      margin: q.marginMs,
      k: q.kernelLifetimeS,
      loss: q.onQuorumLoss,
    },
    { e: 3, key: '/floatd/web', ttl: 2000, renew: 400, margin: 500, k: 1, loss: 'fence' },
  );
  assert.equal(r.config.instances[0]?.quorum, 'main');
  assert.deepEqual(
    r.diagnostics.filter((d) => d.severity !== 'info'),
    [],
  );
});

test('explicit knobs, TLS and a password file; a sync group carries the quorum', () => {
  const r = parseConfigText(
    BLOCK(
      '  backend etcd\n  endpoints https://[2001:db8::1]:2379\n  key /floatd/db\n  ttl 3\n  renew 0.5\n' +
        '  margin 0.8\n  kernel_lifetime 2\n  on_quorum_loss fence\n  ca_file /etc/floatd/ca.pem\n' +
        '  cert_file /etc/floatd/c.pem\n  key_file /etc/floatd/k.pem\n  username floatd\n' +
        '  password_file /etc/floatd/etcd.pw\n',
    ) +
      INST('A', 1) +
      INST('B', 2) +
      'vrrp_sync_group G {\n  group {\n    A\n    B\n  }\n  quorum main\n}\n',
    'q.conf',
  );
  assert.ok(r.config, r.diagnostics.map(formatDiagnostic).join('\n'));
  const q = r.config.quorums[0]!;
  assert.deepEqual(
    [q.ttlMs, q.renewMs, q.marginMs, q.kernelLifetimeS, q.tls?.caFile, q.auth?.passwordFile],
    [3000, 500, 800, 2, '/etc/floatd/ca.pem', '/etc/floatd/etcd.pw'],
  );
  assert.equal(r.config.syncGroups[0]?.quorum, 'main');
});

const BAD: [string, string, string][] = [
  [
    BLOCK('  backend consul\n  endpoints http://198.51.100.1:2379\n  key /k\n') + INST('V', 1, '  quorum main\n'),
    '2:11',
    'expected etcd',
  ],
  [BLOCK('  backend etcd\n  key /k\n') + INST('V', 1, '  quorum main\n'), '1:1', 'has no endpoints'],
  [
    BLOCK('  backend etcd\n  endpoints 198.51.100.1:2379\n  key /k\n') + INST('V', 1, '  quorum main\n'),
    '3:13',
    'expected http(s)://HOST:PORT',
  ],
  [
    BLOCK('  backend etcd\n  endpoints http://198.51.100.1:2379\n  key floatd\n') + INST('V', 1, '  quorum main\n'),
    '4:7',
    'starting with /',
  ],
  [BLOCK(GOOD + '  password s3cret\n') + INST('V', 1, '  quorum main\n'), '5:3', 'never goes in the configuration'],
  [BLOCK(GOOD + '  ttl 2\n  margin 2\n') + INST('V', 1, '  quorum main\n'), '6:10', 'must be below ttl'],
  [BLOCK(GOOD + '  ttl 2\n  renew 1.5\n') + INST('V', 1, '  quorum main\n'), '6:9', 'must be below ttl − margin'],
  [BLOCK(GOOD + '  ttl 2\n  kernel_lifetime 2\n') + INST('V', 1, '  quorum main\n'), '6:19', 'frozen holder'],
  [BLOCK(GOOD + '  ttl 1.5\n') + INST('V', 1, '  quorum main\n'), '5:7', 'whole seconds'],
  [BLOCK(GOOD + '  on_quorum_loss panic\n') + INST('V', 1, '  quorum main\n'), '5:18', 'expected fence or failsafe'],
  [BLOCK(GOOD) + INST('V', 1, '  quorum other\n'), '10:10', 'floatd_quorum other, which is not defined'],
  [
    BLOCK(GOOD) +
      INST('A', 1, '  quorum main\n') +
      INST('B', 2) +
      'vrrp_sync_group G {\n  group {\n    A\n    B\n  }\n}\n',
    '10:10',
    'holds one lease',
  ],
  [BLOCK(GOOD) + INST('V', 1, '  quorum main\n').replace('priority 100', 'priority 255'), '10:10', 'address owner'],
  [BLOCK(GOOD + '  cert_file /c.pem\n') + INST('V', 1, '  quorum main\n'), '1:1', 'go together'],
  [BLOCK(GOOD + '  username u\n') + INST('V', 1, '  quorum main\n'), '1:1', 'without password_file'],
  [BLOCK(GOOD) + BLOCK(GOOD) + INST('V', 1, '  quorum main\n'), '6:1', 'duplicate floatd_quorum'],
  [
    BLOCK(GOOD + '  on_quorum_loss failsafe\n') + INST('V', 1, UNI + '  quorum main\n'),
    '5:18',
    'needs failsafe_secret_file',
  ],
  [BLOCK(GOOD + FS) + INST('V', 1, '  quorum main\n'), '5:18', 'V has no unicast_peer'],
  [
    BLOCK(GOOD + FS + '  failsafe_peers 198.51.100.2 lb2\n') + INST('V', 1, '  quorum main\n'),
    '7:31',
    'expected an IP',
  ],
  [BLOCK(GOOD + FS + '  failsafe_port 70000\n') + INST('V', 1, UNI + '  quorum main\n'), '7:17', 'UDP port'],
];

/** The diagnostic of `severity` containing `msg` sits at `at`; errors leave no usable config, warnings do. */
function expectAt(severity: 'error' | 'warning', [text, at, msg]: [string, string, string]): void {
  test(`${severity} at ${at}: ${msg}`, () => {
    const r = parseConfigText(text, 'q.conf');
    assert.equal(r.config === null, severity === 'error', r.diagnostics.map(formatDiagnostic).join('\n'));
    const hit = r.diagnostics.find((d) => d.severity === severity && d.message.includes(msg));
    assert.ok(hit, r.diagnostics.map(formatDiagnostic).join('\n'));
    assert.equal(`${hit.line}:${hit.col}`, at, formatDiagnostic(hit));
  });
}
for (const c of BAD) expectAt('error', c);

const WARN: [string, string, string][] = [
  [
    BLOCK(GOOD + '  failsafe_port 7000\n') + INST('V', 1, '  quorum main\n'),
    '5:17',
    'on_quorum_loss is fence: not used',
  ],
  [BLOCK(GOOD + '  ttl 1\n') + INST('V', 1, '  quorum main\n'), '5:7', 'at least 2 s'],
  [BLOCK(GOOD + '  ttl 1\n') + INST('V', 1, '  quorum main\n'), '5:7', 'no kernel backstop'],
  [BLOCK(GOOD + '  kernel_lifetime 0\n') + INST('V', 1, '  quorum main\n'), '5:19', 'no kernel backstop'],
  [BLOCK(GOOD + '  ttl 1\n') + INST('V', 1, '  quorum main\n'), '5:7', 'not when the guard goes too'],
  [
    BLOCK(GOOD + '  ttl 1\n  fence_guard off\n') + INST('V', 1, '  quorum main\n'),
    '5:7',
    'killed holder keeps its VIP',
  ],
  [BLOCK(GOOD + '  ttl 2\n  renew 0.8\n') + INST('V', 1, '  quorum main\n'), '6:9', 'one lost renewal fences'],
  [BLOCK(GOOD + '  tll 2\n') + INST('V', 1, '  quorum main\n'), '5:3', 'unknown keyword in floatd_quorum'],
  [BLOCK(GOOD) + INST('V', 1), '1:1', 'not used by any'],
];

expectAt('error', [
  BLOCK(GOOD + '  fence_guard maybe\n') + INST('V', 1, '  quorum main\n'),
  '5:15',
  'expected on or off',
]);
for (const c of WARN) expectAt('warning', c);

test('on_quorum_loss failsafe: peers from unicast_peer (or failsafe_peers), the default port, the secret file', () => {
  const one = parseConfigText(BLOCK(GOOD + FS) + INST('V', 1, UNI + '  quorum main\n'), 'q.conf');
  assert.ok(one.config, one.diagnostics.map(formatDiagnostic).join('\n'));
  const q = one.config.quorums[0]!;
  assert.equal(q.onQuorumLoss, 'failsafe');
  assert.deepEqual({ ...q.failsafe, pos: undefined }, { peers: [], port: 7381, secretFile: '/k.key', pos: undefined });
  const two = parseConfigText(
    BLOCK(GOOD + FS + '  failsafe_peers 198.51.100.2 2001:db8::3\n  failsafe_port 7000\n') +
      INST('V', 1, '  quorum main\n'),
    'q.conf',
  );
  assert.deepEqual(two.config?.quorums[0]?.failsafe?.peers, ['198.51.100.2', '2001:db8::3']);
  assert.equal(two.config?.quorums[0]?.failsafe?.port, 7000);
});

test('ttl 1 defaults: no kernel backstop (it cannot end before the lease), 0.2 s renew, 0.3 s margin', () => {
  const r = parseConfigText(BLOCK(GOOD + '  ttl 1\n') + INST('V', 1, '  quorum main\n'), 'q.conf');
  const q = r.config?.quorums[0];
  assert.deepEqual([q?.renewMs, q?.marginMs, q?.kernelLifetimeS, q?.fenceGuard], [200, 300, 0, true]);
  const off = parseConfigText(BLOCK(GOOD + '  fence_guard off\n') + INST('V', 1, '  quorum main\n'), 'q.conf');
  assert.equal(off.config?.quorums[0]?.fenceGuard, false);
});
