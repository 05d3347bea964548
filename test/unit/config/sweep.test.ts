import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { loadConfig, parseConfigText, formatDiagnostic, type Diagnostic } from '../../../src/config/index.js';
import { lex, tree, type Node } from '../../../src/config/lexer.js';

const root = new URL('../../../', import.meta.url).pathname.replace(/\/dist\/$/, '/');
const dir = join(root, 'test/fixtures/configs');
const SWEEP = join(dir, 'keepalived-sweep.conf');
const LIST = join(dir, 'keepalived-2.2.7-keywords.txt');
const MAN = '/usr/share/man/man5/keepalived.conf.5.gz';
const NOT_YET = 'parsed but not yet supported by floatd';

/** "BLOCK KEYWORD" pairs from the checked-in list (extracted from keepalived.conf(5)). */
function documented(): string[] {
  return readFileSync(LIST, 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'));
}

/** The same pairs as written in a file: top-level keywords as "top", nested ones under their block path. */
function used(nodes: Node[], path = 'top', out = new Set<string>()): Set<string> {
  for (const n of nodes) {
    out.add(`${path} ${n.key.text}`);
    if (n.children) used(n.children, path === 'top' ? n.key.text : `${path}/${n.key.text}`, out);
  }
  return out;
}

const dump = (ds: Diagnostic[]): string => ds.map(formatDiagnostic).join('\n');

test(
  'the checked-in keyword list is what the extractor finds in the installed man page',
  { skip: !existsSync(MAN) && 'keepalived.conf(5) not installed' },
  () => {
    const r = spawnSync(process.execPath, [join(dir, 'extract-keywords.mjs')], {
      input: gunzipSync(readFileSync(MAN)),
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, readFileSync(LIST, 'utf8'));
  },
);

test('the keyword list covers the VRRP-side blocks and their well-known keywords', () => {
  const kw = documented();
  assert.ok(kw.length > 200, `only ${kw.length} keywords`);
  for (const k of [
    'top global_defs',
    'global_defs vrrp_garp_master_delay',
    'global_defs vrrp_gna_interval',
    'global_defs script_user',
    'global_defs net_namespace',
    'top net_namespace',
    'vrrp_instance garp_extra_if',
    'vrrp_instance/authentication auth_pass',
    'vrrp_sync_group sync_group_tracking_weight',
    'vrrp_script init_fail',
    'track_file init_file',
    'vrrp_track_process quorum_max',
  ]) {
    if (k === 'global_defs net_namespace')
      assert.ok(!kw.includes(k), 'net_namespace is a top-level keyword, not a global_defs one');
    else assert.ok(kw.includes(k), k);
  }
});

test('the sweep fixture uses every documented keyword in its block', () => {
  const { tokens, diagnostics } = lex(SWEEP, readFileSync(SWEEP, 'utf8'));
  const have = used(tree(tokens, diagnostics));
  const missing = documented().filter((k) => !have.has(k));
  assert.deepEqual(missing, []);
});

test('sweep fixture: no errors, no "unknown keyword"; every finding a positioned "not yet supported"', async () => {
  const r = await loadConfig(SWEEP);
  assert.ok(r.config, dump(r.diagnostics));
  assert.equal(r.diagnostics.filter((d) => /unknown keyword/.test(d.message)).length, 0, dump(r.diagnostics));
  for (const d of r.diagnostics) {
    assert.deepEqual([d.severity, d.code, d.message], ['warning', 'CONFIG_NOT_HONOURED', NOT_YET], formatDiagnostic(d));
    assert.ok(d.line >= 1 && d.col >= 1);
  }
});

test('modelled keywords the runtime does not use yet say so (no claimed support)', async () => {
  const r = await loadConfig(SWEEP);
  const noted = new Set(r.diagnostics.map((d) => `${d.line} ${d.keyword}`));
  const lines = readFileSync(SWEEP, 'utf8').split('\n');
  const lineOf = (re: RegExp): number => lines.findIndex((l) => re.test(l)) + 1;
  for (const k of [
    'vrrp_garp_interval',
    'vrrp_gna_interval',
    'vrrp_garp_extra_if',
    'vrrp_startup_delay',
    'vrrp_strict',
    'garp_extra_if',
    'no_accept',
  ]) {
    assert.ok(noted.has(`${lineOf(new RegExp(`^\\s*${k}\\b`))} ${k}`), `${k} should be reported as not yet supported`);
  }
  // …and the ones it does use are not.
  for (const k of [
    'vrrp_garp_lower_prio_delay',
    'vrrp_down_timer_adverts',
    'vrrp_lower_prio_no_advert',
    'vrrp_higher_prio_send_advert',
    'vrrp_min_garp',
    'garp_lower_prio_repeat',
    'lower_prio_no_advert',
    'accept',
    'vrrp_priority',
    'vrrp_rt_priority',
    'vrrp_mcast_group4',
    'vrrp_mcast_group6',
    'mcast_src_ip',
  ]) {
    assert.ok(!r.diagnostics.some((d) => d.keyword === k), `${k} is honoured; it should not be reported`);
  }
});

test('the sweep model: global values, instance overrides, sync-group tracking, process quorum', async () => {
  const r = await loadConfig(SWEEP);
  const cfg = r.config!;
  const g = cfg.global;
  assert.deepEqual(
    [g.garpLowerPrioDelayMs, g.garpLowerPrioRepeat, g.garpIntervalUs, g.gnaIntervalUs, g.minGarp, g.downTimerAdverts],
    [5000, 5, 1000, 1, false, 3],
  );
  assert.deepEqual(g.garpExtraIf, { intervalS: 100, allIf: true });
  assert.deepEqual(
    [g.garpMasterRefreshMs, g.garpMasterRefreshRepeat, g.vrrpStartupDelayMs, g.vrrpStrict],
    [60_000, 2, 5500, true],
  );
  const [v4, v6] = cfg.instances;
  assert.deepEqual(v4?.garp, {
    masterDelayMs: 5000,
    masterRepeat: 3,
    masterRefreshMs: 60_000,
    masterRefreshRepeat: 2,
    lowerPrioDelayMs: 5000,
    lowerPrioRepeat: 3,
  });
  assert.deepEqual(
    [v4?.lowerPrioNoAdvert, v4?.higherPrioSendAdvert, v4?.accept, v4?.garpExtraIf],
    [true, false, true, { intervalS: 100, allIf: true }],
  );
  assert.deepEqual(v4?.unicastPeers, [{ address: '192.0.2.11', minTtl: 250, maxTtl: 255 }]);
  assert.deepEqual(
    [v6?.family, v6?.version, v6?.accept, v6?.preempt, v6?.preemptDelayMs, v6?.mcastGroup],
    [6, 3, false, false, 10_000, 'ff02::12'],
  );
  const sg = cfg.syncGroups[0];
  assert.deepEqual(sg?.members, ['VI_1', 'VI_6']);
  assert.deepEqual(sg?.trackScripts, [{ name: 'chk_web', weight: -5, reverse: false }]);
  assert.deepEqual(sg?.trackInterfaces, [{ name: 'eth1', weight: 10, reverse: false }]);
  assert.deepEqual(sg?.trackFiles, [{ name: 'maintenance', weight: 1, reverse: false }]);
  assert.deepEqual(sg?.trackProcesses, [{ name: 'nginx', weight: 2, reverse: true }]);
  assert.deepEqual(Object.keys(sg?.notify ?? {}).sort(), ['backup', 'fault', 'generic', 'master', 'stop']);
  const p = cfg.trackProcesses[0];
  assert.deepEqual(
    [
      p?.process,
      p?.params,
      p?.paramMatch,
      p?.quorum,
      p?.quorumMax,
      p?.forkDelayMs,
      p?.terminateDelayMs,
      p?.fullCommand,
    ],
    ['nginx', ['-g', 'daemon off;'], 'initial', 1, 4, 1000, 1000, true],
  );
  assert.deepEqual(cfg.trackFiles[0]?.initFile, { value: 0, overwrite: true });
});

const inst = (body: string): string => `vrrp_instance A {\n  interface eth0\n  virtual_router_id 5\n${body}}\n`;

test('global defaults flow into instances; vrrp_min_garp trims the GARP bursts but keeps explicit values', () => {
  const a = parseConfigText(
    `global_defs {\n  vrrp_garp_master_delay 7\n  vrrp_garp_master_repeat 4\n  vrrp_down_timer_adverts 5\n` +
      `  vrrp_lower_prio_no_advert\n  vrrp_higher_prio_send_advert on\n}\n${inst('')}`,
    'a.conf',
  );
  const i = a.config?.instances[0];
  assert.deepEqual(
    [
      i?.garp.masterDelayMs,
      i?.garp.masterRepeat,
      i?.garp.lowerPrioDelayMs,
      i?.garp.lowerPrioRepeat,
      i?.downTimerAdverts,
      i?.lowerPrioNoAdvert,
      i?.higherPrioSendAdvert,
    ],
    [7000, 4, 7000, 4, 5, true, true],
  );
  const b = parseConfigText(
    `global_defs {\n  vrrp_min_garp\n  vrrp_garp_lower_prio_repeat 2\n}\n${inst('  lower_prio_no_advert off\n')}`,
    'b.conf',
  );
  const j = b.config?.instances[0];
  assert.deepEqual(
    [
      j?.garp.masterDelayMs,
      j?.garp.masterRepeat,
      j?.garp.lowerPrioDelayMs,
      j?.garp.lowerPrioRepeat,
      j?.lowerPrioNoAdvert,
    ],
    [0, 1, 0, 2, false],
  );
  const c = parseConfigText(
    `global_defs {\n  vrrp_garp_master_repeat 3\n  vrrp_min_garp yes\n}\n${inst('')}`,
    'c.conf',
  );
  assert.deepEqual([c.config?.instances[0]?.garp.masterRepeat, c.config?.instances[0]?.garp.masterDelayMs], [3, 0]);
});

// Bad values for modelled keywords: [text, "line:col", keyword, message fragment].
const BAD: [string, string, string, string][] = [
  [
    'global_defs {\n  vrrp_garp_lower_prio_delay soon\n}\n',
    '2:30',
    'vrrp_garp_lower_prio_delay',
    'expected seconds 0..255',
  ],
  [
    'global_defs {\n  vrrp_garp_lower_prio_repeat 300\n}\n',
    '2:31',
    'vrrp_garp_lower_prio_repeat',
    'expected an integer 0..255',
  ],
  ['global_defs {\n  vrrp_garp_interval 1e-3\n}\n', '2:22', 'vrrp_garp_interval', 'expected seconds 0..4294'],
  ['global_defs {\n  vrrp_gna_interval -1\n}\n', '2:21', 'vrrp_gna_interval', 'expected seconds'],
  ['global_defs {\n  vrrp_garp_extra_if all\n}\n', '2:3', 'vrrp_garp_extra_if', 'whole seconds 1..86400'],
  ['global_defs {\n  vrrp_garp_extra_if 0\n}\n', '2:22', 'vrrp_garp_extra_if', 'whole seconds 1..86400'],
  [
    'global_defs {\n  vrrp_down_timer_adverts 101\n}\n',
    '2:27',
    'vrrp_down_timer_adverts',
    'expected an integer 1..100',
  ],
  [
    'global_defs {\n  vrrp_lower_prio_no_advert maybe\n}\n',
    '2:29',
    'vrrp_lower_prio_no_advert',
    'expected on|off|true|false|yes|no',
  ],
  ['global_defs {\n  vrrp_min_garp 2\n}\n', '2:17', 'vrrp_min_garp', 'expected on|off'],
  [
    'global_defs {\n  vrrp_mcast_group4 10.0.0.1\n}\n',
    '2:21',
    'vrrp_mcast_group4',
    'expected an IPv4 multicast address',
  ],
  ['global_defs {\n  vrrp_mcast_group6 ff02::zz\n}\n', '2:21', 'vrrp_mcast_group6', 'expected an IPv6 address'],
  [inst('  garp_extra_if 90000\n'), '4:17', 'garp_extra_if', 'whole seconds 0..86400'],
  [inst('  higher_prio_send_advert perhaps\n'), '4:27', 'higher_prio_send_advert', 'expected on|off'],
  [inst('  lower_prio_no_advert 1\n'), '4:24', 'lower_prio_no_advert', 'expected on|off'],
  [
    inst('  unicast_peer {\n    192.0.2.2 min_ttl 300\n  }\n'),
    '5:23',
    'unicast_peer',
    'min_ttl must be an integer 0..255',
  ],
  [
    'vrrp_track_process p {\n  process nginx\n  quorum 3\n  quorum_max 2\n}\n',
    '4:14',
    'quorum_max',
    'less than quorum 3',
  ],
  [
    'vrrp_track_process p {\n  process nginx\n  param_match sometimes\n}\n',
    '3:15',
    'param_match',
    'expected initial or partial',
  ],
  ['track_file f {\n  file /run/f\n  init_file ten\n}\n', '3:13', 'init_file', 'integer VALUE'],
  [
    `${inst('')}vrrp_sync_group G {\n  group {\n    A\n  }\n  track_script {\n    nope\n  }\n}\n`,
    '10:5',
    'track_script',
    'no vrrp_script named "nope"',
  ],
];

for (const [text, pos, keyword, fragment] of BAD) {
  test(`bad ${keyword} is an error at ${pos}: ${fragment}`, () => {
    const r = parseConfigText(text, 'bad.conf');
    assert.equal(r.config, null);
    const hit = r.diagnostics.find(
      (d) =>
        d.severity === 'error' && `${d.line}:${d.col}` === pos && d.keyword === keyword && d.message.includes(fragment),
    );
    assert.ok(hit, `want ${pos} ${keyword} "${fragment}", got:\n${dump(r.diagnostics)}`);
    assert.match(formatDiagnostic(hit), new RegExp(`^bad\\.conf:${pos}: error: ${keyword}: `));
  });
}

test('quorum_max 0 means "no such process may run" (quorum 0), as in keepalived; bare param_match is exact', () => {
  const r = parseConfigText('vrrp_track_process p {\n  process nginx -g\n  quorum_max 0\n  param_match\n}\n', 'q.conf');
  assert.ok(r.config, dump(r.diagnostics));
  assert.deepEqual(
    [r.config.trackProcesses[0]?.quorum, r.config.trackProcesses[0]?.quorumMax, r.config.trackProcesses[0]?.paramMatch],
    [0, 0, 'exact'],
  );
});

test('a misspelt keyword is an unknown-keyword warning with position and hint; keywords are per block', () => {
  const r = parseConfigText(
    'global_defs {\n  vrrp_garp_master_dleay 5\n}\nvrrp_script s {\n  script true\n  debug 1\n}\n',
    'w.conf',
  );
  assert.ok(r.config);
  const w = r.diagnostics.filter((d) => d.code === 'CONFIG_UNKNOWN_KEYWORD');
  assert.deepEqual(
    w.map((d) => [`${d.line}:${d.col}`, d.keyword, d.message]),
    [
      ['2:3', 'vrrp_garp_master_dleay', 'unknown keyword in global_defs, ignored'],
      // debug is a vrrp_instance keyword; in a vrrp_script keepalived rejects it too.
      ['6:3', 'debug', 'unknown keyword in vrrp_script, ignored'],
    ],
  );
  assert.equal(w[0]?.hint, "did you mean 'vrrp_garp_master_delay'?");
});

test('docs/config.md lists every documented keyword in its Keywords section', () => {
  const doc = readFileSync(join(root, 'docs/config.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Keywords'));
  assert.ok(section.length > 20, 'docs/config.md has no "## Keywords" section');
  const missing = [...new Set(documented().map((l) => l.split(' ')[1]!))].filter((k) => !section.includes(`\`${k}\``));
  assert.deepEqual(missing, []);
});
