import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, formatHumanLine, registerSecret } from '../../../src/util/log.js';
import { clearSecrets, escapeControl, redactSecrets } from '../../../src/util/redact.js';
import { readSecretFile, secretFileProblem, warnIfWorldReadable } from '../../../src/util/secret-file.js';
import { logSink } from '../../../src/cli/syslog.js';

const TOKEN = 'dop_v1_9f3c2a7b41e8d05c6a9b2f7e13d48c0a';

function capture(json: boolean): { log: ReturnType<typeof createLogger>; text: () => string } {
  const out = new PassThrough();
  const chunks: string[] = [];
  out.on('data', (c: Buffer) => chunks.push(c.toString()));
  return { log: createLogger({ json, stream: out }), text: () => chunks.join('') };
}

test('each echo of a registered secret is redacted: exact, prefix, substring, any case, base64, hex, %-encoded', () => {
  clearSecrets();
  registerSecret(TOKEN);
  const b64 = Buffer.from(TOKEN).toString('base64');
  const echoes = [
    TOKEN,
    TOKEN.slice(0, 12),
    TOKEN.slice(10, 22),
    TOKEN.slice(-9),
    TOKEN.toUpperCase(),
    TOKEN.slice(3, 20).toLowerCase(),
    b64,
    b64.slice(4, 20),
    Buffer.from(`Bearer ${TOKEN}`).toString('base64'),
    Buffer.from(`x:${TOKEN}`).toString('base64url'),
    Buffer.from(TOKEN).toString('hex'),
    encodeURIComponent(TOKEN),
  ];
  for (const e of echoes) {
    const line = redactSecrets(`provider said: unauthorized token ${e} (HTTP 401)`);
    assert.ok(line.includes('[redacted]'), `${e} → ${line}`);
    // Nothing of length 8 from the token survives, in any case.
    for (let i = 0; i + 8 <= TOKEN.length; i++)
      assert.ok(!line.toLowerCase().includes(TOKEN.slice(i, i + 8).toLowerCase()), `${e} → ${line}`);
  }
  // Ordinary text is left alone; 7-character fragments pass.
  assert.equal(redactSecrets('assign 203.0.113.10 to droplet 1001: ok'), 'assign 203.0.113.10 to droplet 1001: ok');
  assert.equal(redactSecrets(`id ${TOKEN.slice(0, 7)}.`), `id ${TOKEN.slice(0, 7)}.`);
  clearSecrets();
});

test('the logger scrubs registered secrets from every field and message, JSON, console and syslog alike', async () => {
  clearSecrets();
  registerSecret(TOKEN);
  for (const json of [true, false]) {
    const c = capture(json);
    c.log.warn(
      {
        event: 'cloud.error',
        body: `{"message":"bad token ${TOKEN.toUpperCase()}"}`,
        err: new Error(`401 for ${TOKEN.slice(0, 16)}`),
      },
      `call failed: ${Buffer.from(TOKEN).toString('base64')}`,
    );
    c.log.flush();
    await new Promise((r) => setImmediate(r));
    const t = c.text();
    assert.ok(t.includes('cloud.error'), t);
    assert.ok(!t.toLowerCase().includes(TOKEN.slice(0, 8).toLowerCase()), t);
    assert.ok(!t.includes(Buffer.from(TOKEN).toString('base64').slice(0, 12)), t);
  }
  const sent: string[] = [];
  const sink = logSink({
    syslog: {
      facility: 3,
      send: (_p, d) => {
        sent.push(d.toString());
      },
    },
  });
  const log = createLogger({ json: true, stream: sink });
  log.error({ event: 'cloud.error' }, `echo ${TOKEN}`);
  log.flush();
  await new Promise((r) => setImmediate(r));
  assert.equal(sent.length, 1);
  assert.ok(!sent[0]!.includes(TOKEN.slice(4, 16)), sent[0]);
  clearSecrets();
});

test('CR/LF in a provider reply or any untrusted string cannot split a console line', () => {
  assert.equal(escapeControl('a\r\nb\tc\u0000\u001b[31m\u2028'), 'a\\r\\nb\\tc\\u0000\\u001b[31m\\u2028');
  const forged = 'oops\r\n2026-12-02T00:00:00.000Z INFO  (VI_1) Entering MASTER STATE';
  const line = formatHumanLine({
    level: 50,
    time: 0,
    msg: `provider replied: ${forged}`,
    event: 'cloud.error',
    body: forged,
    instance: 'VI_1\nX',
  });
  assert.equal(line.split('\n').length, 2, line); // one line plus the final newline
  assert.ok(!/[\r\u2028]/.test(line.slice(0, -1)));
  assert.match(line, /provider replied: oops\\r\\n2026/);
});

test('warnIfWorldReadable: warns for a secret file others or the group can read; 0600 is quiet', () => {
  const dir = mkdtempSync(join(tmpdir(), 'floatd-secret-'));
  try {
    const f = join(dir, 'do.token');
    writeFileSync(f, `${TOKEN}\n`);
    const warned: string[] = [];
    const log = {
      warn: (_o: object, m: string) => {
        warned.push(m);
      },
    };
    chmodSync(f, 0o644);
    assert.match(warnIfWorldReadable(f, log, 'DigitalOcean token') ?? '', /readable by everyone \(mode 0644/);
    assert.equal(warned.length, 1);
    assert.match(warned[0]!, /^DigitalOcean token file .*do\.token is readable by everyone/);
    chmodSync(f, 0o640);
    assert.match(secretFileProblem(f) ?? '', /readable by group/);
    chmodSync(f, 0o600);
    assert.equal(warnIfWorldReadable(f, log, 'DigitalOcean token', TOKEN), undefined);
    assert.equal(warned.length, 1);
    assert.ok(redactSecrets(`x ${TOKEN} y`).includes('[redacted]'), 'the content is registered for redaction');
  } finally {
    rmSync(dir, { recursive: true, force: true });
    clearSecrets();
  }
});

test('readSecretFile: trimmed value, a warning when others can read the file, the value redacted from then on', () => {
  const dir = mkdtempSync(join(tmpdir(), 'floatd-secret-'));
  try {
    const f = join(dir, 'hook.secret');
    writeFileSync(f, `  ${TOKEN}\n`);
    chmodSync(f, 0o604);
    const warned: string[] = [];
    const v = readSecretFile(
      f,
      {
        warn: (_o, m) => {
          warned.push(m);
        },
      },
      'notify_webhook secret',
    );
    assert.equal(v, TOKEN);
    assert.equal(warned.length, 1);
    assert.match(warned[0]!, /^notify_webhook secret file .* is readable by everyone/);
    assert.equal(redactSecrets(`hmac key ${TOKEN.slice(2, 14)}`), 'hmac key [redacted]');
    assert.throws(() => readSecretFile(join(dir, 'missing'), { warn: () => undefined }, 'x'), /ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    clearSecrets();
  }
});
