/** The block tables: did-you-mean comes from them, weights are read one way, shapes are checked. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText, formatDiagnostic, type Diagnostic } from '../../../src/config/index.js';

const dump = (ds: Diagnostic[]): string => ds.map(formatDiagnostic).join('\n');
const script = (body: string): string => `vrrp_script s {\n  script "true"\n${body}}\n`;
const inst = (body: string): string => `vrrp_instance A {\n  interface eth0\n  virtual_router_id 5\n${body}}\n`;

test('did-you-mean knows every keyword of the block, floatd additions and keepalived globals included', () => {
  const cases: [string, string, string][] = [
    [script('  expect_stauts 200\n'), 'expect_stauts', 'expect_status'],
    [script('  expect_bdy ok\n'), 'expect_bdy', 'expect_body'],
    [script('  tls_verfy off\n'), 'tls_verfy', 'tls_verify'],
    [script('  http_hots example.com\n'), 'http_hots', 'http_host'],
    ['global_defs {\n  vrrp_priorty -5\n}\n', 'vrrp_priorty', 'vrrp_priority'],
    ['global_defs {\n  vrrp_rt_prority 5\n}\n', 'vrrp_rt_prority', 'vrrp_rt_priority'],
    ['notify_webhook w {\n  url http://127.0.0.1/\n  retires 3\n}\n', 'retires', 'retries'],
    ['floatd_api {\n  dashbord on\n}\n', 'dashbord', 'dashboard'],
  ];
  for (const [text, word, want] of cases) {
    const r = parseConfigText(text, 'x.conf');
    const w = r.diagnostics.find((d) => d.keyword === word);
    assert.equal(w?.hint, `did you mean '${want}'?`, `${word}: ${dump(r.diagnostics)}`);
    assert.equal(w?.code, 'CONFIG_UNKNOWN_KEYWORD');
  }
});

test('one weight reader: scripts -253..253 (±254 clamped, with a warning), files and processes -254..254', () => {
  const s = parseConfigText(script('  weight 254\n'), 's.conf');
  assert.equal(s.config?.scripts[0]?.weight, 253, dump(s.diagnostics));
  const w = s.diagnostics.find((d) => d.keyword === 'weight');
  assert.equal(w?.severity, 'warning');
  assert.match(w!.message, /-253\.\.253: 254 is used as 253/);
  for (const [text, pos] of [
    [script('  weight 255\n'), '3:10'],
    [script('  weight -1e2\n'), '3:10'],
  ] as const) {
    const bad = parseConfigText(text, 'b.conf');
    const e = bad.diagnostics.find((d) => d.severity === 'error');
    assert.equal(`${e?.line}:${e?.col}`, pos);
    assert.match(e!.message, /weight must be an integer -253\.\.253/);
  }
  const ref = parseConfigText(`${script('')}${inst('  track_script {\n    s weight -254\n  }\n')}`, 'r.conf');
  assert.deepEqual(ref.config?.instances[0]?.trackScripts, [{ name: 's', weight: -253, reverse: false }]);
  const f = parseConfigText(`vrrp_track_file f {\n  file /run/f\n  weight -254 reverse\n}\n${inst('')}`, 'f.conf');
  assert.deepEqual([f.config?.trackFiles[0]?.weight, f.config?.trackFiles[0]?.reverse], [-254, true]);
  assert.equal(f.diagnostics.length, 0, dump(f.diagnostics));
  const f2 = parseConfigText('vrrp_track_file f {\n  file /run/f\n  weight 255\n}\n', 'f.conf');
  assert.match(dump(f2.diagnostics), /f\.conf:3:10: error: weight: weight must be an integer -254\.\.254, got "255"/);
});

test('a keyword named like an Object property is an unknown keyword, not a crash', () => {
  for (const k of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
    const r = parseConfigText(`${k} x\n${inst(`  ${k} 1\n`)}global_defs {\n  ${k}\n}\n`, 'p.conf');
    assert.equal(r.diagnostics.filter((d) => d.code === 'CONFIG_UNKNOWN_KEYWORD').length, 3, dump(r.diagnostics));
  }
});
