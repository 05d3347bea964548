/** Issue 15 items 8, 10-13 (config side): what keepalived does, or a positioned refusal where floatd cannot. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  parseConfigText,
  formatDiagnostic,
  reloadBlockers,
  logConfigDiagnostics,
  unsupported,
  type Diagnostic,
} from '../../../src/config/index.js';
import { runCheck } from '../../../src/cli/check.js';

const dump = (ds: Diagnostic[]): string => ds.map(formatDiagnostic).join('\n');
const inst = (body: string, name = 'A', vrid = 5): string =>
  `vrrp_instance ${name} {\n  interface eth0\n  virtual_router_id ${vrid}\n${body}}\n`;
const errorAt = (text: string, pos: string, re: RegExp): Diagnostic => {
  const r = parseConfigText(text, 'x.conf');
  assert.equal(r.config, null, `${text}\n${dump(r.diagnostics)}`);
  const d = r.diagnostics.find((x) => x.severity === 'error' && `${x.line}:${x.col}` === pos && re.test(x.message));
  assert.ok(d, `want error ${pos} ${re}:\n${text}\n${dump(r.diagnostics)}`);
  return d;
};
const warnAt = (text: string, pos: string, re: RegExp): ReturnType<typeof parseConfigText> => {
  const r = parseConfigText(text, 'x.conf');
  assert.ok(r.config, dump(r.diagnostics));
  assert.ok(
    r.diagnostics.some((x) => x.severity === 'warning' && `${x.line}:${x.col}` === pos && re.test(x.message)),
    `want warning ${pos} ${re}:\n${dump(r.diagnostics)}`,
  );
  return r;
};

test('item 8: an empty file — check warns, a reload refuses it', async () => {
  const check = parseConfigText('', 'e.conf');
  assert.ok(check.config, 'check: usable, with a warning');
  const w = check.diagnostics.find((d) => d.code === 'CONFIG_NO_INSTANCE');
  assert.deepEqual([w?.severity, w?.line, w?.col], ['warning', 1, 1]);
  assert.equal(reloadBlockers(check.diagnostics).length, 1, 'the reload path can see it');
  const reload = parseConfigText('! only a comment\n', 'e.conf', { purpose: 'reload' });
  assert.equal(reload.config, null);
  assert.equal(reload.diagnostics.find((d) => d.code === 'CONFIG_NO_INSTANCE')?.severity, 'error');
  assert.deepEqual(reloadBlockers(parseConfigText(inst(''), 'ok.conf').diagnostics), []);
  const dir = mkdtempSync(join(tmpdir(), 'floatd-empty-'));
  writeFileSync(join(dir, 'empty.conf'), '');
  const err = new PassThrough();
  let text = '';
  err.on('data', (c: Buffer) => {
    text += c.toString();
  });
  assert.equal(await runCheck({ file: join(dir, 'empty.conf'), out: new PassThrough(), err }), 0);
  assert.match(text, /empty\.conf:1:1: warning: vrrp_instance: no vrrp_instance/);
});

test("item 10: vrrp_garp_interval 0 / vrrp_gna_interval 0 (keepalived's stock file) warn and run, as it does", () => {
  const r = warnAt(
    `global_defs {\n  vrrp_garp_interval 0\n  vrrp_gna_interval 0\n}\n${inst('')}`,
    '2:22',
    /at least 0\.000001 s; 0 keeps the default/,
  );
  assert.ok(r.diagnostics.some((d) => d.severity === 'warning' && d.line === 3 && d.keyword === 'vrrp_gna_interval'));
  assert.deepEqual([r.config!.global.garpIntervalUs, r.config!.global.gnaIntervalUs], [0, 0]);
});

test('item 11: a repeated notify_* keeps the first, with a warning (instance and sync group)', () => {
  const r = warnAt(
    inst('  notify_master "/bin/mail_notify.sh master"\n  notify_master "/bin/mail_notify.sh fault"\n'),
    '5:3',
    /already set; this one is ignored \(keepalived keeps the first\)/,
  );
  assert.deepEqual(r.config!.instances[0]!.notify.master?.argv, ['/bin/mail_notify.sh', 'master']);
  const g = warnAt(
    `${inst('')}vrrp_sync_group G {\n  group {\n    A\n  }\n  notify_backup /a.sh\n  notify_backup /b.sh\n}\n`,
    '10:3',
    /already set/,
  );
  assert.deepEqual(g.config!.syncGroups[0]!.notify?.backup?.argv, ['/a.sh']);
});

test('item 11: several track_* blocks in one instance add up; a name listed twice counts once', () => {
  const scripts = 'vrrp_script a {\n  script true\n}\nvrrp_script b {\n  script true\n  weight 5\n}\n';
  const r = parseConfigText(
    scripts +
      inst(
        '  track_script {\n    a\n  }\n  track_interface {\n    eth1\n  }\n' +
          '  track_script {\n    b\n    a weight 3\n  }\n  track_interface {\n    eth2 weight 10\n  }\n',
      ),
    'x.conf',
  );
  assert.ok(r.config, dump(r.diagnostics));
  const i = r.config.instances[0]!;
  assert.deepEqual(i.trackScripts, [
    { name: 'a', weight: 0, reverse: false },
    { name: 'b', weight: 5, reverse: false },
  ]);
  assert.deepEqual(
    i.trackInterfaces.map((t) => [t.name, t.weight]),
    [
      ['eth1', 0],
      ['eth2', 10],
    ],
  );
  const dup = r.diagnostics.find((d) => /already tracked/.test(d.message));
  assert.equal(`${dup?.line}:${dup?.col}`, '19:5');
});

test('item 12: VIP prefixes as keepalived reads them: a plain decimal, nothing else', () => {
  for (const bad of [
    '192.0.2.1/-0',
    '192.0.2.1/1e1',
    '192.0.2.1/24.0',
    '192.0.2.1/0x18',
    '192.0.2.1/24/5',
    '192.0.2.1/33',
    '192.0.2.1/',
    '192.0.2.1/+24',
    '2001:db8::1/129',
  ]) {
    errorAt(inst(`  virtual_ipaddress {\n    ${bad}\n  }\n`), '5:5', /prefix length|expected ADDRESS/);
  }
  errorAt(inst('  virtual_ipaddress {\n    fe80::1%eth0\n  }\n'), '5:5', /scoped address/);
  const ok = parseConfigText(
    inst('  virtual_ipaddress {\n    192.0.2.1/024\n    192.0.2.2\n    192.0.2.3/0\n  }\n'),
    'x.conf',
  );
  assert.deepEqual(
    ok.config?.instances[0]?.vips.map((v) => v.prefix),
    [24, 32, 0],
    dump(ok.diagnostics),
  );
});

test('item 12: interface names longer than 15 characters are errors (Linux IFNAMSIZ)', () => {
  errorAt(
    'vrrp_instance A {\n  interface eth0123456789abc\n  virtual_router_id 5\n}\n',
    '2:13',
    /longer than 15 characters/,
  );
  errorAt(inst('  track_interface {\n    abcdefghijklmnop\n  }\n'), '5:5', /longer than 15/);
  errorAt(inst('  virtual_ipaddress {\n    192.0.2.1 dev abcdefghijklmnop\n  }\n'), '5:19', /longer than 15/);
  assert.ok(
    parseConfigText('vrrp_instance A {\n  interface eth0123456789ab\n  virtual_router_id 5\n}\n', 'x.conf').config,
    '15 fit',
  );
});

test('item 12: a block keyword with words instead of a block is an error; words beside a block a warning', () => {
  const d = errorAt(
    inst('  track_interface eth1\n'),
    '4:3',
    /expected a \{ \} block after track_interface; "eth1" would be ignored/,
  );
  assert.match(d.hint ?? '', /track_interface \{/);
  errorAt(inst('  virtual_ipaddress 192.0.2.1\n'), '4:3', /expected a \{ \} block after virtual_ipaddress/);
  warnAt(inst('  track_interface eth1 {\n    eth2\n  }\n'), '4:19', /words after track_interface are ignored/);
  warnAt(inst('  priority 100 {\n  }\n'), '4:3', /priority takes no \{ \} block/);
});

test('item 12: an address of the other family in an instance is an error, never sent as garbage', () => {
  errorAt(
    inst('  virtual_ipaddress {\n    192.0.2.1\n    2001:db8::1\n  }\n'),
    '6:5',
    /an IPv6 address in an IPv4 instance/,
  );
  errorAt(
    inst('  unicast_src_ip 2001:db8::2\n  virtual_ipaddress {\n    192.0.2.1\n  }\n'),
    '6:5',
    /an IPv4 address in an IPv6 instance/,
  );
  errorAt(
    inst('  unicast_src_ip 192.0.2.2\n  unicast_peer {\n    2001:db8::3\n  }\n'),
    '6:5',
    /IPv6 address in an IPv4 instance/,
  );
  const ex = parseConfigText(
    inst('  virtual_ipaddress {\n    192.0.2.1\n  }\n  virtual_ipaddress_excluded {\n    2001:db8::1\n  }\n'),
    'x.conf',
  );
  assert.ok(ex.config, 'excluded addresses are never advertised: any family (keepalived)');
  assert.equal(ex.config.instances[0]?.family, 4);
});

test('item 13: auth_type AH is an error (floatd does not implement AH)', () => {
  errorAt(inst('  authentication {\n    auth_type AH\n    auth_pass secret\n  }\n'), '5:15', /does not implement AH/);
});

test('item 13: global vrrp_mcast_group4/6 is the group of multicast instances without mcast_dst_ip', () => {
  const g = 'global_defs {\n  vrrp_mcast_group4 224.0.0.19\n  vrrp_mcast_group6 ff02::13\n}\n';
  const r = parseConfigText(
    g +
      inst('') +
      inst('  mcast_dst_ip 224.0.0.20\n', 'B', 6) +
      inst('  virtual_ipaddress {\n    2001:db8::1\n  }\n', 'C', 7) +
      inst('  unicast_src_ip 192.0.2.1\n  unicast_peer {\n    192.0.2.2\n  }\n', 'D', 8),
    'x.conf',
  );
  assert.ok(r.config, dump(r.diagnostics));
  assert.deepEqual(
    r.config.instances.map((i) => i.mcastGroup),
    ['224.0.0.19', '224.0.0.20', 'ff02::13', undefined],
  );
  assert.ok(!r.diagnostics.some((d) => d.keyword?.startsWith('vrrp_mcast_group')), 'honoured: not reported');
  assert.equal(
    parseConfigText(inst(''), 'y.conf').config?.instances[0]?.mcastGroup,
    undefined,
    "default: the runtime's 224.0.0.18",
  );
});

test("item 13: mcast_src_ip is the advert source (keepalived's saddr, shared with unicast_src_ip)", () => {
  const r = parseConfigText(inst('  mcast_src_ip 192.0.2.9\n'), 'x.conf');
  assert.equal(r.config?.instances[0]?.unicastSrcIp, '192.0.2.9');
  assert.deepEqual(r.diagnostics, []);
  warnAt(
    inst('  mcast_src_ip 192.0.2.9\n  unicast_src_ip 192.0.2.8\n'),
    '5:18',
    /was already 192\.0\.2\.9; 192\.0\.2\.8 replaces it/,
  );
});

test("item 13: a sync group's track_* are added to every member (keepalived semantics)", () => {
  const text =
    `vrrp_script chk {\n  script true\n}\n` +
    `${inst('  track_interface {\n    eth1\n  }\n')}${inst('', 'B', 6)}vrrp_sync_group G {\n  group {\n    A\n` +
    `    B\n  }\n  track_script {\n    chk\n  }\n  track_interface {\n    eth1\n    eth2\n  }\n}\n`;
  const r = parseConfigText(text, 'x.conf');
  assert.ok(r.config, dump(r.diagnostics));
  const [a, b] = r.config.instances;
  assert.deepEqual(
    a?.trackScripts.map((t) => t.name),
    ['chk'],
  );
  assert.deepEqual(
    a?.trackInterfaces.map((t) => t.name),
    ['eth1', 'eth2'],
  );
  assert.deepEqual(
    [b?.trackScripts.map((t) => t.name), b?.trackInterfaces.map((t) => t.name)],
    [['chk'], ['eth1', 'eth2']],
  );
  assert.ok(!r.diagnostics.some((d) => d.code === 'CONFIG_NOT_HONOURED'), dump(r.diagnostics));
});

test('item 13: each parsed-but-unused keyword is a positioned warning, logged at start and reload', () => {
  const r = parseConfigText(`${inst('  use_vmac\n  track_bfd {\n    b\n  }\n')}bfd_instance b1 {\n}\n`, 'x.conf');
  assert.ok(r.config);
  const u = unsupported(r.diagnostics);
  assert.deepEqual(
    u.map((d) => [d.severity, `${d.line}:${d.col}`, d.keyword]),
    [
      ['warning', '4:3', 'use_vmac'],
      ['warning', '5:3', 'track_bfd'],
      ['warning', '9:1', 'bfd_instance'],
    ],
  );
  const lines: [string, object, string][] = [];
  const log = {
    error: (o: object, m: string) => lines.push(['error', o, m]),
    warn: (o: object, m: string) => lines.push(['warn', o, m]),
    info: (o: object, m: string) => lines.push(['info', o, m]),
  };
  logConfigDiagnostics(log, r.diagnostics, 'reload');
  assert.deepEqual(lines[0], [
    'warn',
    { event: 'config.unsupported', phase: 'reload', code: 'CONFIG_NOT_HONOURED' },
    'x.conf:4:3: warning: use_vmac: parsed but not yet supported by floatd [E_CONFIG_NOT_HONOURED]',
  ]);
  assert.equal(lines.length, 3);
});
