/**
 * Every configuration diagnostic carries a code of the CONFIG_* family (docs/errors.md, Configuration),
 * one per kind of mistake: a file with one mistake of each kind gets each code, at its position;
 * `floatd check` prints it last (`… [E_CODE]`) and `--json` gives it as `code`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText, formatDiagnostic, type Diagnostic } from '../../../src/config/index.js';
import { runCheck } from '../../../src/cli/check.js';
import { CONFIG_ERRORS } from '../../../src/errors.js';

const FILE = `vrrp_instance A {
  interface eth0
  virtual_router_id 7
  priority 300
  advert_int fast
  use_vmac
  track_script {
    nosuch
  }
  authentication {
    auth_type PASS
    auth_pass longer-than-eight
  }
  virtual_ipaddress {
    192.0.2.10/24
  }
  prioritty 100
}
vrrp_instance B {
  interface eth0
  virtual_router_id 7
  state
  virtual_ipaddress {
    192.0.2.11/24
  }
}
vrrp_instance C {
  interface eth0
  virtual_router_id 8
  authentication {
    auth_type AH
  }
}
floatd_api {
  token abcdefghijklmnopqrstuvwxyz
  listen 192.0.2.1:9610
}
floating_ip web {
  provider digitalocean
  address 203.0.113.10
  token_env DO_TOKEN
}
include /nonexistent-floatd-dir/*.conf
vrrp_instance D words {
`;

/** A stream and what was written to it. */
function sink(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let t = '';
  stream.on('data', (c: Buffer) => (t += c.toString()));
  return { stream, text: () => t };
}

/** code → "line:col" of each diagnostic with it. */
function byCode(ds: readonly Diagnostic[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const d of ds) m.set(d.code, [...(m.get(d.code) ?? []), `${d.line}:${d.col}`]);
  return m;
}

test('one mistake of each kind: each has its code, at its position', () => {
  const r = parseConfigText(FILE, 'k.conf');
  const codes = byCode(r.diagnostics);
  const at = (code: string, pos: string): void =>
    assert.ok(codes.get(code)?.includes(pos), `${code} at ${pos}; got ${JSON.stringify([...codes])}`);
  at('CONFIG_OUT_OF_RANGE', '4:12'); // priority 300
  at('CONFIG_BAD_VALUE', '5:14'); // advert_int fast
  at('CONFIG_NOT_HONOURED', '6:3'); // use_vmac
  at('CONFIG_ADJUSTED', '12:15'); // auth_pass truncated to 8
  at('CONFIG_UNKNOWN_KEYWORD', '17:3'); // prioritty
  at('CONFIG_MISSING_VALUE', '22:3'); // state without a value
  at('CONFIG_UNSUPPORTED', '31:15'); // auth_type AH
  at('CONFIG_SECRET', '35:3'); // token in the file
  at('CONFIG_NOTICE', '36:10'); // an off-host listener
  at('CONFIG_RISKY', '38:1'); // floating_ip without peers
  at('CONFIG_INCLUDE', '43:9'); // a glob matching nothing
  at('CONFIG_IGNORED', '44:17'); // words after the instance name
  at('CONFIG_SYNTAX', '44:23'); // a block never closed
  at('CONFIG_REFERENCE', '8:5'); // track_script nosuch
  at('CONFIG_CONFLICT', '19:1'); // VRID 7 twice on eth0 (at the second instance)
  for (const d of r.diagnostics) assert.ok(d.code in CONFIG_ERRORS, formatDiagnostic(d));
});

test('no instance, a limit, an unreadable file: their codes', async () => {
  assert.deepEqual(
    parseConfigText('global_defs {\n}\n', 'e.conf').diagnostics.map((d) => d.code),
    ['CONFIG_NO_INSTANCE'],
  );
  const deep = parseConfigText('a {'.repeat(200) + '\n', 'd.conf').diagnostics;
  assert.ok(
    deep.some((d) => d.code === 'CONFIG_LIMIT'),
    deep.map(formatDiagnostic).join('\n'),
  );
  const err = sink();
  const missing = join(tmpdir(), `floatd-codes-missing-${process.pid}.conf`);
  assert.equal(await runCheck({ file: missing, err: err.stream, out: sink().stream }), 1);
  assert.match(err.text(), /missing-\d+\.conf:0:0: error: no such file \[E_CONFIG_UNREADABLE\]/);
});

test('floatd check prints the code last on each line; --json gives it as code', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'floatd-codes-'));
  try {
    const file = join(dir, 'k.conf');
    writeFileSync(file, 'vrrp_instance A {\n  interface eth0\n  virtual_router_id 300\n}\n');
    const err = sink();
    assert.equal(await runCheck({ file, err: err.stream, out: sink().stream }), 1);
    assert.match(
      err.text(),
      /k\.conf:3:21: error: virtual_router_id: expected an integer 1\.\.255, got "300" \[E_CONFIG_OUT_OF_RANGE\]/,
    );
    const out = sink();
    await runCheck({ file, json: true, out: out.stream, err: sink().stream });
    const ds = (JSON.parse(out.text()) as { diagnostics: Diagnostic[] }).diagnostics;
    assert.deepEqual(
      ds.map((d) => [d.line, d.col, d.code]),
      [
        [3, 21, 'CONFIG_OUT_OF_RANGE'],
        [1, 1, 'CONFIG_MISSING_VALUE'], // the instance has no (valid) virtual_router_id
        [1, 1, 'CONFIG_NO_INSTANCE'], // … so none is defined
      ],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
