import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText, formatDiagnostic } from '../../../src/config/index.js';

test('notify_webhook is modelled: url, headers, secret files, timing, instance filter', () => {
  const r = parseConfigText(
    `notify_webhook ops {
  url https://hooks.example.test/floatd
  header "X-Team: ops"
  authorization_file /etc/floatd/hook.auth
  secret_file /etc/floatd/hook.key
  timeout 2.5
  retries 3
  backoff 0.2
  tls_verify off
  instances {
    VI_1
  }
}
`,
    'w.conf',
  );
  assert.ok(r.config, r.diagnostics.map(formatDiagnostic).join('\n'));
  const [w] = r.config.webhooks;
  assert.deepEqual(w && { ...w, pos: undefined }, {
    name: 'ops',
    url: 'https://hooks.example.test/floatd',
    headers: { 'X-Team': 'ops' },
    authorizationFile: '/etc/floatd/hook.auth',
    secretFile: '/etc/floatd/hook.key',
    timeoutMs: 2500,
    retries: 3,
    backoffMs: 200,
    tlsVerify: false,
    instances: ['VI_1'],
    pos: undefined,
  });
});

const BAD: [string, string, string][] = [
  ['notify_webhook w {\n  header "X-Team: ops"\n}\n', '1:1', 'has no url'],
  ['notify_webhook w {\n  url ftp://x\n}\n', '2:7', 'expected an http(s) URL'],
  [
    'notify_webhook w {\n  url http://127.0.0.1:1/\n  header "Authorization: Bearer abc"\n}\n',
    '3:10',
    'never goes in the configuration',
  ],
  ['notify_webhook w {\n  url http://127.0.0.1:1/\n  retries many\n}\n', '3:11', 'expected an integer 0..20'],
];
for (const [text, pos, fragment] of BAD) {
  test(`notify_webhook error at ${pos}: ${fragment}`, () => {
    const r = parseConfigText(text, 'bad.conf');
    assert.equal(r.config, null);
    assert.ok(
      r.diagnostics.some(
        (d) => d.severity === 'error' && `${d.line}:${d.col}` === pos && formatDiagnostic(d).includes(fragment),
      ),
      r.diagnostics.map(formatDiagnostic).join('\n'),
    );
  });
}

test('a misspelt notify_webhook keyword warns with a suggestion', () => {
  const r = parseConfigText('notify_webhook w {\n  url http://127.0.0.1:1/\n  retires 3\n}\n', 'w.conf');
  assert.ok(r.config);
  assert.ok(
    r.diagnostics.some((d) => d.severity === 'warning' && formatDiagnostic(d).includes("did you mean 'retries'")),
  );
});
