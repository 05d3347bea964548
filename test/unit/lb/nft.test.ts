import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../../src/config/index.js';
import type { LvsCheckConfig } from '../../../src/config/lvs-model.js';
import { planTables, type DesiredTable } from '../../../src/lb/nft-plan.js';
import { diffTable, parseActual, type ActualTable } from '../../../src/lb/nft-diff.js';
import { CheckerPool, afterProbe, initialCheck } from '../../../src/lb/checker-pool.js';
import { afterUs } from '../../../src/util/clock.js';
import { MS, VirtualClock } from '../../support/virtual-clock.js';

const CONF = `virtual_server 192.0.2.100 80 {
  lvs_sched wrr
  real_server 203.0.113.11 80 { weight 1 }
  real_server 203.0.113.12 80 { weight 1 }
  real_server 203.0.113.13 80 { weight 1 }
}`;
const vss = parseConfigText(CONF, 't.conf').config!.virtualServers!;
const rot = (addrs: string[], w = 1) =>
  new Map([[vss[0]!.key, addrs.map((a) => ({ address: a, port: 80, weight: w }))]]);
const ALL = ['203.0.113.11', '203.0.113.12', '203.0.113.13'];

/** What the kernel would hold after applying `d` (the shape parseActual yields). */
function applied(d: DesiredTable): ActualTable {
  const script = diffTable(d, undefined);
  const a: ActualTable = { maps: new Map(), chains: new Map(), counters: new Map() };
  for (const line of script.split('\n')) {
    let m = /^add counter \S+ \S+ (\S+)/.exec(line);
    if (m) a.counters.set(m[1]!, { packets: 0, bytes: 0 });
    m = /^add map \S+ \S+ (\S+)/.exec(line);
    if (m) a.maps.set(m[1]!, new Map());
    m = /^add chain \S+ \S+ (\S+)/.exec(line);
    if (m) a.chains.set(m[1]!, []);
    m = /^add element \S+ \S+ (\S+) \{ (.*) : (.*) \}$/.exec(line);
    if (m) a.maps.get(m[1]!)!.set(m[2]!, m[3]!.replace(/^"|"$/g, ''));
    m = /^add rule \S+ \S+ (\S+) .* comment "(\S+)"$/.exec(line);
    if (m) a.chains.get(m[1]!)!.push(m[2]!);
  }
  return a;
}

test('a first apply builds the table; applying the same state again changes nothing', () => {
  const [d] = planTables(vss, rot(ALL));
  const script = diffTable(d!, undefined);
  assert.match(script, /^add table ip floatd_lb$/m);
  assert.match(script, /dnat ip addr \. port to numgen inc mod 3 map @s/);
  assert.equal(diffTable(d!, applied(d!)), '');
});

test('a server leaving changes its slots only; the others keep their place (element-wise, no flush of maps)', () => {
  const [before] = planTables(vss, rot(ALL, 2));
  const [after] = planTables(vss, rot(['203.0.113.11', '203.0.113.13'], 2));
  const script = diffTable(after!, applied(before!));
  assert.doesNotMatch(script, /add table|delete table|flush table|add map/);
  assert.doesNotMatch(script, /203\.0\.113\.11/, 'the unchanged server is not touched');
  assert.match(script, /delete element ip floatd_lb s\w+ \{ 2 \}/);
  assert.match(script, /add element ip floatd_lb s\w+ \{ 1 : 203\.0\.113\.13 \. 80 \}/);
  assert.match(script, /mod 2 map/);
});

test('a weight change reaches the kernel (keepalived #1354) and only the rule and slots that differ change', () => {
  const [before] = planTables(vss, rot(ALL));
  const w = new Map([
    [
      vss[0]!.key,
      [
        { address: '203.0.113.11', port: 80, weight: 2 },
        { address: '203.0.113.12', port: 80, weight: 1 },
        { address: '203.0.113.13', port: 80, weight: 1 },
      ],
    ],
  ]);
  const [after] = planTables(vss, w);
  const script = diffTable(after!, applied(before!));
  assert.match(script, /mod 4 map/);
  assert.doesNotMatch(script, /chain ip floatd_lb pre|disp \{/);
});

test('parseActual reads nft -j output: map elements, rule comments, counters', () => {
  const json = JSON.stringify({
    nftables: [
      { map: { name: 'disp', elem: [[{ concat: ['192.0.2.100', 'tcp', 80] }, { jump: { target: 'v_x' } }]] } },
      { map: { name: 'sx', elem: [[0, { concat: ['203.0.113.11', 80] }]] } },
      {
        map: {
          name: 'px',
          elem: [[{ elem: { val: '198.51.100.7', timeout: 30, expires: 20 } }, { concat: ['203.0.113.11', 80] }]],
        },
      },
      { chain: { name: 'v_x' } },
      { rule: { chain: 'v_x', comment: 'fdabc' } },
      { counter: { name: 'r1i', packets: 5, bytes: 300 } },
    ],
  });
  const a = parseActual(json);
  assert.equal(a.maps.get('disp')!.get('192.0.2.100 . tcp . 80'), 'jump v_x');
  assert.equal(a.maps.get('sx')!.get('0'), '203.0.113.11 . 80');
  assert.equal(a.maps.get('px')!.get('198.51.100.7'), '203.0.113.11 . 80');
  assert.deepEqual(a.chains.get('v_x'), ['fdabc']);
  assert.deepEqual(a.counters.get('r1i'), { packets: 5, bytes: 300 });
});

const tcp = (over: Partial<LvsCheckConfig> = {}): LvsCheckConfig =>
  ({
    kind: 'TCP_CHECK',
    connectTimeoutMs: 1000,
    retry: 2,
    delayBeforeRetryMs: 500,
    delayLoopMs: 3000,
    warmupMs: 0,
    alpha: false,
    pos: { file: 't', line: 1, col: 1 },
    ...over,
  }) as LvsCheckConfig;

test("checker timing as keepalived's: retry after delay_before_retry, down after retry+1 failures, up on 1 ok", () => {
  const ch = tcp();
  let s = initialCheck(ch);
  let r = afterProbe(ch, s, { ok: false, detail: 'x' });
  assert.deepEqual([r.state.up, r.delayUs], [true, 500_000]);
  r = afterProbe(ch, r.state, { ok: false, detail: 'x' });
  assert.deepEqual([r.state.up, r.delayUs], [true, 500_000]);
  r = afterProbe(ch, r.state, { ok: false, detail: 'x' });
  assert.deepEqual([r.state.up, r.delayUs], [false, 3_000_000]);
  r = afterProbe(ch, r.state, { ok: true, detail: 'ok' });
  assert.deepEqual([r.state.up, r.state.failures, r.delayUs], [true, 0, 3_000_000]);
  s = initialCheck(tcp({ alpha: true }));
  assert.equal(s.up, false);
});

test('the pool runs one probe per distinct check, and a hung probe times out on the virtual clock', async () => {
  const clock = new VirtualClock();
  let calls = 0;
  const changes: string[] = [];
  const pool = new CheckerPool({
    clock,
    onChange: (k) => changes.push(k),
    makeProbe: (ch) => (signal) => {
      calls++;
      return new Promise((res) => {
        const t = afterUs(clock, ch.connectTimeoutMs * MS, () => res({ ok: false, detail: 'timeout' }));
        signal.addEventListener('abort', () => {
          clock.cancel(t);
          res({ ok: false, detail: 'aborted' });
        });
      });
    },
  });
  const ch = tcp({ retry: 0 });
  pool.sync(new Map([['a', { ch, target: { address: '203.0.113.11', port: 80 } }]]));
  pool.sync(new Map([['a', { ch, target: { address: '203.0.113.11', port: 80 } }]]));
  assert.equal(pool.size, 1);
  await clock.advance(999 * MS);
  assert.equal(pool.verdict('a')!.up, true);
  await clock.advance(2 * MS);
  assert.equal(pool.verdict('a')!.up, false);
  assert.deepEqual(changes, ['a']);
  assert.equal(calls, 1);
  await clock.advance(3000 * MS);
  assert.equal(calls, 2);
  pool.stop();
  assert.equal(clock.pending, 0);
});
