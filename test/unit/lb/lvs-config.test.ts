import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText, formatDiagnostic } from '../../../src/config/index.js';

const parse = (text: string) => {
  const r = parseConfigText(text, '/etc/keepalived/keepalived.conf');
  return { ...r, lines: r.diagnostics.map(formatDiagnostic), vss: r.config?.virtualServers ?? [] };
};

test('a NAT virtual_server with checkers becomes the model, keepalived defaults resolved', () => {
  const r = parse(`virtual_server 192.0.2.100 80 {
  delay_loop 2
  lb_algo wrr
  lb_kind NAT
  protocol TCP
  persistence_timeout 50
  quorum 2
  hysteresis 1
  sorry_server 203.0.113.99 8080
  real_server 203.0.113.11 80 {
    weight 3
    inhibit_on_failure
    HTTP_GET {
      url {
        path /health
        status_code 200-204
      }
      connect_timeout 1
      retry 2
      delay_before_retry 0.5
    }
  }
  real_server 203.0.113.12 80 { TCP_CHECK { connect_port 8080 } }
  real_server 203.0.113.13 80 {
    MISC_CHECK {
      misc_path "/bin/check arg"
      misc_dynamic
    }
  }
}`);
  assert.deepEqual(r.lines, []);
  const [vs] = r.vss;
  assert.ok(vs);
  assert.equal(vs.key, '192.0.2.100:80/TCP');
  assert.equal(vs.sched, 'wrr');
  assert.equal(vs.persistenceTimeoutS, 50);
  assert.deepEqual(vs.sorry, { address: '203.0.113.99', port: 8080, inhibit: false });
  const [a, b, c] = vs.realServers;
  assert.equal(a!.weight, 3);
  assert.equal(a!.inhibitOnFailure, true);
  const http = a!.checks[0]!;
  assert.equal(http.kind, 'HTTP_GET');
  assert.equal(http.delayLoopMs, 2000);
  assert.equal(http.retry, 2);
  assert.equal(http.delayBeforeRetryMs, 500);
  assert.equal(http.connectTimeoutMs, 1000);
  assert.equal(b!.checks[0]!.kind === 'TCP_CHECK' && b!.checks[0]!.connectPort, 8080);
  assert.equal(b!.checks[0]!.retry, 1, 'TCP_CHECK retry defaults to 1');
  const misc = c!.checks[0]!;
  assert.ok(misc.kind === 'MISC_CHECK');
  assert.deepEqual(misc.argv, ['/bin/check', 'arg']);
  assert.equal(misc.dynamic, true);
  assert.equal(misc.retry, 0, 'MISC_CHECK retry defaults to 0');
});

test('unsupported schedulers, methods and checkers are positioned errors naming what to use', () => {
  const r = parse(`virtual_server 192.0.2.100 80 {
  lb_algo wlc
  lb_kind TUN
  real_server 203.0.113.11 80 { BFD_CHECK { name b1 } }
  real_server 203.0.113.12 80 { FOO_CHECK { } }
}`);
  assert.equal(r.config, null);
  assert.match(r.lines.join('\n'), /keepalived.conf:2:11: error: lb_algo: scheduler wlc is not supported.*use wrr/);
  assert.match(r.lines.join('\n'), /:3:11: error: lb_kind: TUN .*not supported/);
  assert.match(r.lines.join('\n'), /:4:33: error: BFD_CHECK: BFD_CHECK is not supported by floatd: .*no BFD daemon/);
  assert.match(r.lines.join('\n'), /:5:33: error: FOO_CHECK: unknown checker FOO_CHECK/);
});

test('a real server without a port, or of the other family, is a positioned error', () => {
  const r = parse(`virtual_server 192.0.2.100 80 {
  lvs_sched rr
  real_server 203.0.113.11 { TCP_CHECK { } }
  real_server 2001:db8::1 80 { TCP_CHECK { } }
}`);
  assert.equal(r.config, null);
  assert.match(r.lines[0]!, /:3:3: error: real_server: real_server 203\.0\.113\.11 has no port/);
  assert.match(
    r.lines[1]!,
    /:4:15: error: real_server: real_server 2001:db8::1 is IPv6 but virtual_server 192\.0\.2\.100:80\/TCP is IPv4/,
  );
});

test('what is parsed but not honoured is a positioned warning, and the default wlc is said aloud', () => {
  const r = parse(`virtual_server 192.0.2.100 80 {
  ha_suspend
  real_server 203.0.113.11 80 { uthreshold 10 }
}`);
  assert.ok(r.config);
  const all = r.lines.join('\n');
  assert.doesNotMatch(all, /ha_suspend/, 'ha_suspend is honoured (src/lb/suspend.ts)');
  assert.equal(r.config.virtualServers![0]!.haSuspend, true);
  assert.match(all, /:3:33: warning: uthreshold: parsed but not honoured/);
  assert.match(all, /:1:1: warning: lvs_sched: no lvs_sched: keepalived's default wlc/);
});

test('virtual_server_group expands ranges and refuses a family mix', () => {
  const ok = parse(`virtual_server_group G { 192.0.2.3-5 80
  fwmark 7 }
virtual_server group G { lvs_sched rr
  real_server 203.0.113.11 80 { } }`);
  assert.deepEqual(
    ok.vss[0]!.endpoints.map((e) => e.address),
    ['192.0.2.3', '192.0.2.4', '192.0.2.5'],
  );
  assert.deepEqual(ok.vss[0]!.fwmarks, [7]);
  const bad = parse(`virtual_server_group G { 192.0.2.3 80
  2001:db8::1 80 }
virtual_server group G { lvs_sched rr }`);
  assert.equal(bad.config, null);
  assert.match(bad.lines.join('\n'), /:1:1: error: virtual_server_group: virtual_server_group G mixes IPv4 and IPv6/);
});

test('fwmark services may leave the real server port out (the connection keeps its port)', () => {
  const r = parse(`virtual_server fwmark 1 { lvs_sched rr
  real_server 203.0.113.11 { weight 1 } }`);
  assert.deepEqual(r.lines, []);
  assert.equal(r.vss[0]!.realServers[0]!.port, 0);
});

test('DR: IPv4, IPv6 and fwmark services; a port change is a positioned error; rr says it spreads by flow hash', () => {
  const ok = parse(`virtual_server 192.0.2.100 80 {
  lvs_sched rr
  lvs_method DR
  real_server 203.0.113.11 80 { }
}`);
  assert.ok(ok.config);
  assert.equal(ok.vss[0]!.method, 'DR');
  assert.match(
    ok.lines.join('\n'),
    /:1:1: warning: lvs_sched: with DR, rr picks by a hash of the client address and port/,
  );
  const bad = parse(`virtual_server 192.0.2.100 80 {
  lvs_sched sh
  lvs_method DR
  real_server 203.0.113.11 8080 { }
}
`);
  assert.equal(bad.config, null);
  assert.match(
    bad.lines.join('\n'),
    /:4:3: error: real_server: real_server 203\.0\.113\.11 port 8080: DR cannot change the port/,
  );
  const more = parse(`virtual_server fwmark 3 {
  lvs_sched sh
  lb_kind DR
  real_server 203.0.113.11 { }
}
virtual_server 2001:db8::100 80 {
  lvs_sched mh
  lvs_method DR
  real_server 2001:db8::11 80 { }
}`);
  assert.deepEqual(more.lines, []);
  assert.deepEqual(
    more.vss.map((v) => [v.key, v.method, v.family]),
    [
      ['fwmark 3/TCP', 'DR', 4],
      ['[2001:db8::100]:80/TCP', 'DR', 6],
    ],
  );
});

test('the warnings inside virtual_server blocks are the ones a reload logs', async () => {
  const { lvsWarnings } = await import('../../../src/lb/hooks.js');
  const r = parse(`global_defs {
  smtp_server 192.0.2.1
}
virtual_server 192.0.2.100 80 {
  lvs_sched rr
  persistence_engine sip
  real_server 203.0.113.11 80 { }
}`);
  assert.ok(r.config);
  const w = lvsWarnings(r.config, r.diagnostics);
  assert.deepEqual(
    w.map((d) => `${d.line}:${d.keyword}`),
    ['6:persistence_engine'],
  );
  assert.ok(
    r.diagnostics.some((d) => d.line === 2 && d.severity === 'warning'),
    'the global_defs warning exists but is not an LVS one',
  );
});
