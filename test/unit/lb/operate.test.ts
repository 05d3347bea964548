/**
 * Operating the load balancer without a reload: real servers added/removed through the API (an
 * overlay the next reload drops), drain to completion (idle by conntrack, or the timeout), and
 * keepalived's ha_suspend. Pure parts directly; LbService with a recording backend, a fake
 * conntrack and the virtual clock.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../../src/config/index.js';
import type { VirtualServerConfig } from '../../../src/config/lvs-model.js';
import {
  addRealServer,
  effectiveVss,
  emptyOverlay,
  findVs,
  removeRealServer,
} from '../../../src/lb/runtime-members.js';
import { parseRealServerBody } from '../../../src/lb/api-checks.js';
import { drainStep, openConnections, parseConntrack, startDrain } from '../../../src/lb/drain.js';
import { suspendedVs } from '../../../src/lb/suspend.js';
import { LbService } from '../../../src/lb/service.js';
import type { LbBackend } from '../../../src/lb/backend.js';
import type { RotationEntry } from '../../../src/lb/membership.js';
import { verbRequest } from '../../../src/cli/verbs.js';
import { MS, VirtualClock } from '../../support/virtual-clock.js';

const CONF = `virtual_server 192.0.2.100 80 {
  delay_loop 2
  lvs_sched rr
  protocol TCP
  real_server 203.0.113.11 80 {
    weight 2
    TCP_CHECK {
      connect_ip 203.0.113.11
      connect_timeout 1
    }
  }
  real_server 203.0.113.12 80 {
    MISC_CHECK {
      misc_path "/bin/true 203.0.113.12"
    }
  }
}
virtual_server 192.0.2.100 53 {
  lvs_sched rr
  protocol UDP
  real_server 203.0.113.11 53 { }
}
`;
function vssOf(text: string): VirtualServerConfig[] {
  const r = parseConfigText(text, 't.conf');
  assert.ok(r.config, JSON.stringify(r.diagnostics.filter((d) => d.severity === 'error')));
  return r.config.virtualServers!;
}

test('add copies checks from a named server (its connect_ip follows the copy); remove; refusals carry codes', () => {
  const file = vssOf(CONF);
  let ov = emptyOverlay();
  const a = addRealServer(file, ov, {
    vs: '192.0.2.100:80',
    address: '203.0.113.13',
    port: 80,
    checksFrom: '203.0.113.11:80',
  });
  assert.ok(a.ok);
  assert.equal(a.vs.key, '192.0.2.100:80/TCP', 'the key without /PROTO names the one TCP service');
  assert.equal(a.rs.checks.length, 1);
  assert.equal(a.rs.checks[0]!.kind, 'TCP_CHECK');
  assert.equal(a.rs.checks[0]!.connectIp, undefined, "the source's own connect_ip is not copied");
  assert.equal(a.rs.weight, 1);
  ov = a.overlay;
  const eff = effectiveVss(file, ov);
  assert.deepEqual(
    eff[0]!.realServers.map((r) => r.address),
    ['203.0.113.11', '203.0.113.12', '203.0.113.13'],
  );
  assert.equal(file[0]!.realServers.length, 2, "the file's model is not changed");
  const refused = (r: { ok: boolean; code?: string }): string | undefined => (r.ok ? undefined : r.code);
  assert.equal(
    refused(addRealServer(file, ov, { vs: '192.0.2.100:80/TCP', address: '203.0.113.13', port: 80 })),
    'LB_REAL_SERVER_EXISTS',
  );
  assert.equal(
    refused(addRealServer(file, ov, { vs: '192.0.2.100:80/TCP', address: '2001:db8::1', port: 80 })),
    'LB_BAD_REAL_SERVER',
  );
  assert.equal(
    refused(
      addRealServer(file, ov, {
        vs: '192.0.2.100:80/TCP',
        address: '203.0.113.14',
        port: 80,
        checksFrom: '203.0.113.12:80',
      }),
    ),
    'LB_BAD_REAL_SERVER',
    'a MISC_CHECK names its own server: not copied',
  );
  assert.equal(
    refused(addRealServer(file, ov, { vs: '192.0.2.100:81', address: '203.0.113.14', port: 80 })),
    'LB_NO_SUCH_VIRTUAL_SERVER',
  );
  const r1 = removeRealServer(file, ov, '192.0.2.100:80/TCP', '203.0.113.13:80');
  assert.ok(r1.ok && !r1.fromFile, 'an added server is taken back out of the added list');
  const r2 = removeRealServer(file, r1.overlay, '192.0.2.100:80/TCP', '203.0.113.11:80');
  assert.ok(r2.ok && r2.fromFile);
  assert.deepEqual(
    effectiveVss(file, r2.overlay)[0]!.realServers.map((r) => r.address),
    ['203.0.113.12'],
  );
  assert.equal(
    refused(removeRealServer(file, r2.overlay, '192.0.2.100:80/TCP', '203.0.113.11:80')),
    'LB_NO_SUCH_REAL_SERVER',
  );
  const two = findVs(vssOf(CONF.replace('192.0.2.100 53', '192.0.2.100 80')), '192.0.2.100:80');
  assert.ok('ok' in two && /add \/TCP or \/UDP/.test(two.message));
});

test('a real server in keepalived syntax: parsed by the file parser; include, MISC_CHECK and notify refused', () => {
  const vs = vssOf(CONF)[0]!;
  const ok = parseRealServerBody(
    'weight 3\nHTTP_GET {\n  url { path /health }\n  connect_timeout 1\n}',
    vs,
    '203.0.113.13',
    80,
  );
  assert.ok(ok.ok);
  assert.equal(ok.given.weight, 3);
  assert.equal(ok.given.checks[0]!.kind, 'HTTP_GET');
  assert.equal(ok.given.checks[0]!.delayLoopMs, 2000, "the virtual server's delay_loop");
  const err = (b: string): string => {
    const r = parseRealServerBody(b, vs, '203.0.113.13', 80);
    assert.ok(!r.ok);
    return r.message;
  };
  assert.match(err('include /etc/passwd'), /include/);
  assert.match(err('MISC_CHECK {\n misc_path /bin/true\n}'), /MISC_CHECK runs a program/);
  assert.match(err('notify_up /bin/true'), /notify_up/);
  const early = '}\n  real_server 203.0.113.99 80 {\n MISC_CHECK {\n misc_path /bin/true\n }';
  assert.match(err(early), /one real_server block/, 'a body that closes its block early');
  const out = '}\n}\nvrrp_instance X {\n interface eth0\n virtual_router_id 9\n priority 100\n}\n';
  assert.match(err(out + 'virtual_server 192.0.2.9 80 {\n real_server 192.0.2.8 80 {'), /one real_server block/);
  assert.match(err('weight 1\nBOGUS_CHECK { }'), /^line 2:\d+: /, 'positions are lines of the body');
});

const ct = (state: string, src: string, dst: string, sp: number, dp: number, rs: string, proto = 'tcp'): string =>
  `ipv4 2 ${proto} ${proto === 'tcp' ? 6 : 17} 431990 ${state} src=${src} dst=${dst} sport=${sp} dport=${dp} ` +
  `src=${rs} dst=${src} sport=${dp} dport=${sp} [ASSURED] mark=0 zone=0 use=2`;
const CT = [
  ct('ESTABLISHED', '192.0.2.50', '192.0.2.100', 40000, 80, '203.0.113.11'),
  ct('TIME_WAIT', '192.0.2.50', '192.0.2.100', 40001, 80, '203.0.113.12'),
  ct('ESTABLISHED', '203.0.113.1', '203.0.113.12', 40002, 80, '203.0.113.12'),
  ct('', '192.0.2.50', '192.0.2.100', 5353, 53, '203.0.113.11', 'udp'),
].join('\n');

test('open connections from conntrack: per service and real server; TIME_WAIT and direct ones not counted', () => {
  const vss = vssOf(CONF);
  const open = openConnections(parseConntrack(CT), vss);
  assert.equal(open.get('192.0.2.100:80/TCP 203.0.113.11:80'), 1);
  assert.equal(
    open.get('192.0.2.100:80/TCP 203.0.113.12:80'),
    0,
    'TIME_WAIT is over; a check (dst = the server) is not a client',
  );
  assert.equal(open.get('192.0.2.100:53/UDP 203.0.113.11:53'), 1);
  const dr = vssOf(CONF.replace('protocol TCP', 'protocol TCP\n  lvs_method DR'));
  assert.equal(
    openConnections(parseConntrack(CT), dr).get('192.0.2.100:80/TCP 203.0.113.11:80'),
    undefined,
    'DR: unknown',
  );
});

test('drain step: idle ends it at once, busy waits for the timeout, unknown counts end only by the timeout', () => {
  const vss = vssOf(CONF);
  const d = startDrain(vss, '203.0.113.11:80', 1000 * MS, 10_000 * MS);
  assert.deepEqual([...d.vs.keys()], ['192.0.2.100:80/TCP']);
  const m = new Map([['203.0.113.11:80', d]]);
  let r = drainStep(m, () => 2, 5000 * MS);
  assert.equal(r.done.length, 0);
  assert.deepEqual(r.drains.get('203.0.113.11:80')!.vs.get('192.0.2.100:80/TCP'), { phase: 'draining', open: 2 });
  r = drainStep(r.drains, () => 0, 6000 * MS);
  assert.deepEqual(r.done, [{ vs: '192.0.2.100:80/TCP', rs: '203.0.113.11:80', why: 'idle', open: 0 }]);
  assert.equal(drainStep(r.drains, () => 0, 7000 * MS).done.length, 0, 'drained stays drained, reported once');
  assert.equal(drainStep(m, () => undefined, 10_999 * MS).done.length, 0);
  assert.deepEqual(drainStep(m, () => 5, 11_000 * MS).done[0]?.why, 'timeout');
});

test('ha_suspend: suspended while none of the service addresses is local', () => {
  const vss = vssOf(CONF.replace('delay_loop 2', 'delay_loop 2\n  ha_suspend'));
  assert.deepEqual([...suspendedVs(vss, new Set(['203.0.113.1']))], ['192.0.2.100:80/TCP']);
  assert.deepEqual([...suspendedVs(vss, new Set(['192.0.2.100']))], []);
});

test('the CLI verbs make the API requests', () => {
  assert.deepEqual(
    verbRequest({ kind: 'lb-add', vs: '192.0.2.100:80/TCP', rs: '203.0.113.13:80', checksFrom: '203.0.113.11:80' }),
    {
      method: 'POST',
      path: '/api/v1/lb/real-servers?vs=192.0.2.100%3A80%2FTCP&rs=203.0.113.13%3A80&checks_from=203.0.113.11%3A80',
    },
  );
  assert.deepEqual(verbRequest({ kind: 'lb-remove', vs: 'v', rs: '203.0.113.13:80' }), {
    method: 'DELETE',
    path: '/api/v1/lb/real-servers?vs=v&rs=203.0.113.13%3A80',
  });
  assert.equal(
    verbRequest({ kind: 'lb-drain', rs: 'r:1', state: 'on', timeoutS: 30 }).path,
    '/api/v1/lb/drain?rs=r%3A1&state=on&timeout=30',
  );
});

/** A backend that records what it is asked to make the kernel hold. */
function recorder(): LbBackend & { last: Map<string, RotationEntry[]> } {
  const b = {
    name: 'test',
    last: new Map<string, RotationEntry[]>(),
    apply: async (_v: VirtualServerConfig[], rot: Map<string, RotationEntry[]>) => {
      b.last = rot;
      return { changed: true, script: '' };
    },
    counters: async () => new Map(),
    clear: async () => undefined,
  };
  return b;
}
const silent = { info() {}, warn() {}, error() {}, debug() {} } as never;
const listed = (b: { last: Map<string, RotationEntry[]> }, vs = '192.0.2.100:80/TCP'): string[] =>
  (b.last.get(vs) ?? []).map((r) => `${r.address}:${r.weight}`);

test('service: add and remove change only the membership; a reload drops them; drain ends when idle', async () => {
  const clock = new VirtualClock();
  const backend = recorder();
  let ct = CT;
  const svc = new LbService({
    log: silent,
    clock,
    backend,
    makeProbe: () => async () => ({ ok: true, detail: 'ok' }),
    conntrack: async () => ct,
  });
  const file = vssOf(CONF.replace(/MISC_CHECK \{[^}]*\}/, ''));
  await svc.configure(file);
  await clock.advance(10 * MS);
  assert.deepEqual(listed(backend), ['203.0.113.11:2', '203.0.113.12:1']);
  const add = await svc.add({
    vs: '192.0.2.100:80/TCP',
    address: '203.0.113.13',
    port: 80,
    weight: 4,
    checksFrom: '203.0.113.11:80',
  });
  assert.ok(add.ok, add.message);
  assert.match(add.message, /lost on reload or restart unless the file has it/);
  assert.deepEqual(listed(backend), ['203.0.113.11:2', '203.0.113.12:1', '203.0.113.13:4']);
  const st = svc.status().virtualServers[0]!;
  assert.deepEqual(
    st.realServers.map((r) => [r.address, r.origin, r.checks.length]),
    [
      ['203.0.113.11', 'file', 1],
      ['203.0.113.12', 'file', 0],
      ['203.0.113.13', 'api', 1],
    ],
  );
  assert.ok((await svc.remove('192.0.2.100:80/TCP', '203.0.113.12:80')).ok);
  assert.deepEqual(listed(backend), ['203.0.113.11:2', '203.0.113.13:4']);
  assert.deepEqual(svc.status().virtualServers[0]!.removedAtRuntime, ['203.0.113.12:80']);
  // Drain rs 11: it has one ESTABLISHED connection in conntrack, so it drains until that ends.
  const dr = await svc.drain('203.0.113.11:80', true, 60);
  assert.ok(dr.ok);
  assert.deepEqual(listed(backend), ['203.0.113.11:0', '203.0.113.13:4']);
  await clock.advance(3000 * MS);
  let rs11 = svc.status().virtualServers[0]!.realServers[0]!;
  assert.equal(rs11.drain?.phase, 'draining');
  assert.equal(rs11.drain?.open, 1);
  ct = CT.split('\n').slice(1).join('\n'); // the stream ended
  await clock.advance(1000 * MS);
  rs11 = svc.status().virtualServers[0]!.realServers[0]!;
  assert.deepEqual([rs11.drain?.phase, rs11.drain?.why, rs11.weight], ['drained', 'idle', null]);
  assert.deepEqual(listed(backend), ['203.0.113.13:4'], 'drained: out of the service');
  // A reload: the file is the truth again (rs 12 back, rs 13 gone); the drain is the operator's and stays.
  await svc.configure(file);
  await clock.advance(10 * MS);
  assert.deepEqual(listed(backend), ['203.0.113.12:1']);
  assert.ok((await svc.drain('203.0.113.11:80', false)).ok);
  await clock.advance(10 * MS);
  assert.deepEqual(listed(backend), ['203.0.113.11:2', '203.0.113.12:1']);
  await svc.stop();
});

test('service: a busy drain ends at drain_timeout; ha_suspend pauses checks until the address is local', async () => {
  const clock = new VirtualClock();
  const backend = recorder();
  let local = new Set(['203.0.113.1']);
  let probes = 0;
  let unreadable = false;
  const warned: string[] = [];
  const svc = new LbService({
    log: { ...(silent as object), warn: (o: { event: string }) => warned.push(o.event) } as never,
    clock,
    backend,
    makeProbe: () => async () => {
      probes++;
      return { ok: true, detail: 'ok' };
    },
    conntrack: async () => (unreadable ? undefined : CT),
    localAddresses: () => local,
  });
  await svc.configure(
    vssOf(CONF.replace(/MISC_CHECK \{[^}]*\}/, '').replace('delay_loop 2', 'delay_loop 2\n  ha_suspend')),
  );
  await clock.advance(10_000 * MS);
  assert.equal(probes, 0, 'not MASTER for 192.0.2.100: no probe');
  const vs = svc.status().virtualServers[0]!;
  assert.equal(vs.suspended, true);
  assert.equal(vs.realServers[0]!.checks[0]!.suspended, true);
  local = new Set(['203.0.113.1', '192.0.2.100']);
  await clock.advance(1000 * MS);
  assert.equal(probes, 1, 'resumed with a probe at once');
  await clock.advance(4000 * MS);
  assert.equal(probes, 3, 'then every delay_loop');
  assert.equal(svc.status().virtualServers[0]!.suspended, false);
  await svc.drain('203.0.113.11:80', true, 5);
  await clock.advance(4000 * MS);
  assert.equal(svc.status().virtualServers[0]!.realServers[0]!.drain?.phase, 'draining');
  await clock.advance(1500 * MS);
  const rs = svc.status().virtualServers[0]!.realServers[0]!;
  assert.deepEqual([rs.drain?.phase, rs.drain?.why, rs.drain?.open], ['drained', 'timeout', 1]);
  // conntrack unreadable: said once; a drain then ends by its timeout only.
  unreadable = true;
  await svc.drain('203.0.113.11:53', true, 3);
  await clock.advance(2000 * MS);
  assert.equal(svc.status().virtualServers[1]!.realServers[0]!.drain?.phase, 'draining');
  await clock.advance(1500 * MS);
  assert.deepEqual(svc.status().virtualServers[1]!.realServers[0]!.drain?.why, 'timeout');
  assert.equal(warned.filter((e) => e === 'lb.conntrack_unreadable').length, 1);
  local = new Set();
  await clock.advance(1000 * MS);
  const before = probes;
  await clock.advance(10_000 * MS);
  assert.equal(probes, before, 'suspended again once the address left');
  await svc.stop();
});
