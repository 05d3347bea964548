/**
 * Prometheus and Grafana artefacts: `promtool check metrics` passes on a live /metrics (the
 * seed pair in a lab, after a failover), the alert rules pass `promtool check rules` and their
 * unit tests (`promtool test rules`: each alert fires on its situation, not on a healthy pair),
 * and every metric the rules and the Grafana dashboard query is one floatd serves.
 * promtool is Debian's prometheus package (scripts/setup.sh). The live part needs root.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { REPO_ROOT, SeedLab } from '../../src/lab/seed-lab.js';
import { labUnavailable } from '../../src/lab/prerequisites.js';

const hasPromtool = spawnSync('promtool', ['--version']).status === 0;
const noPromtool = hasPromtool ? false : 'promtool missing (Debian package prometheus: scripts/setup.sh)';
const skipLab = noPromtool || (labUnavailable() ?? false);
const RULES = join(REPO_ROOT, 'packaging/prometheus/floatd.rules.yml');
const RULES_TEST = join(REPO_ROOT, 'packaging/prometheus/floatd.rules.test.yml');
const DASHBOARD = join(REPO_ROOT, 'packaging/grafana/floatd-dashboard.json');

let s: SeedLab;
let metrics = '';

before(async () => {
  if (skipLab) return;
  s = new SeedLab();
  for (const h of ['lb1', 'lb2'] as const) {
    appendFileSync(
      join(s.dir(h), 'keepalived.conf'),
      `\nfloatd_api {\n    listen off\n    socket ${join(s.dir(h), 'api.sock')}\n}\n`,
    );
    s.startFloatd(h);
  }
  await s.waitFor('lb1 holds the VIP', () => s.holds('lb1') && !s.holds('lb2'), 15_000);
  s.stopNginx('lb1');
  await s.waitFor('lb2 takes over', () => s.holds('lb2') && !s.holds('lb1'), 12_000);
  metrics = await new Promise<string>((resolve, reject) => {
    const req = request({ socketPath: join(s.dir('lb2'), 'api.sock'), path: '/metrics' }, (res) => {
      let b = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        b += c;
      });
      res.on('end', () => (res.statusCode === 200 ? resolve(b) : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
});
after(() => {
  if (!skipLab) s.destroy();
});

test('promtool check metrics: a live /metrics after a failover passes', { skip: skipLab, timeout: 60_000 }, () => {
  assert.match(metrics, /^keepalived_vrrp_state\{[^}]*iname="VI_1"[^}]*\} 2$/m, 'lb2 reports MASTER');
  assert.match(metrics, /^floatd_transitions_total\{[^}]*to="MASTER"/m);
  const file = join(s.lab.dir, 'metrics.txt');
  writeFileSync(file, metrics);
  const r = spawnSync('sh', ['-c', `promtool check metrics < ${file}`], { encoding: 'utf8' });
  assert.equal(r.status, 0, `promtool check metrics: ${r.stdout}${r.stderr}`);
  assert.equal((r.stdout + r.stderr).trim(), '', 'no lint findings');
});

test('alert rules: promtool check rules and promtool test rules', { skip: noPromtool, timeout: 30_000 }, () => {
  const check = spawnSync('promtool', ['check', 'rules', RULES], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stdout + check.stderr);
  assert.match(check.stdout, /SUCCESS: 7 rules found/);
  const unit = spawnSync('promtool', ['test', 'rules', RULES_TEST], { encoding: 'utf8' });
  assert.equal(unit.status, 0, unit.stdout + unit.stderr);
  for (const a of [
    'FloatdTwoMasters',
    'FloatdNoMaster',
    'FloatdFault',
    'FloatdFlapping',
    'FloatdCloudAddressNotVerified',
    'FloatdCloudContested',
  ]) {
    assert.match(
      readFileSync(RULES_TEST, 'utf8'),
      new RegExp(`alertname: ${a}\\n\\s+exp_alerts:\\n\\s+- exp_labels`),
      `${a} has a firing unit test`,
    );
  }
});

/** Metric names in PromQL text (skipping label values, functions and keywords). */
function metricNames(expr: string): string[] {
  const noLabels = expr.replace(/\{[^}]*\}/g, '').replace(/"[^"]*"/g, '');
  return [...noLabels.matchAll(/\b((?:keepalived|floatd)_[a-z_]+)\b/g)].map((m) => m[1]!);
}

test('every metric the rules and the dashboard query is served by floatd', { skip: skipLab, timeout: 10_000 }, () => {
  const served = new Set([...metrics.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]!));
  const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
    panels: { title: string; type: string; targets: { expr: string }[] }[];
  };
  const used = new Set<string>();
  for (const p of dash.panels) for (const t of p.targets) for (const n of metricNames(t.expr)) used.add(n);
  for (const n of metricNames(readFileSync(RULES, 'utf8').replace(/^\s*#.*$/gm, ''))) used.add(n);
  assert.ok(used.size >= 12, `the dashboard and rules use ${used.size} metrics`);
  const missing = [...used].filter((n) => !served.has(n));
  assert.deepEqual(missing, [], 'queried but not served');
  const types = new Set(dash.panels.map((p) => p.type));
  assert.ok(types.has('state-timeline'), 'a state timeline per instance');
  for (const want of [/state per instance/i, /transitions/i, /check latency/i, /cloud api calls/i]) {
    assert.ok(
      dash.panels.some((p) => want.test(p.title)),
      `a panel for ${want}`,
    );
  }
});
