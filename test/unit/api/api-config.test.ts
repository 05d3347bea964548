import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText, formatDiagnostic } from '../../../src/config/index.js';
import { parseListen } from '../../../src/config/api-block.js';

const INSTANCE = `vrrp_instance VI_1 {\n  interface eth1\n  virtual_router_id 33\n  priority 200\n}\n`;

test('no floatd_api block: the model has no api entry (the daemon applies its defaults)', () => {
  const r = parseConfigText(INSTANCE, 'a.conf');
  assert.ok(r.config);
  assert.equal(r.config.api, undefined);
});

test('floatd_api: listen (repeatable), socket, token_file, dashboard', () => {
  const r = parseConfigText(
    `floatd_api {
  listen 127.0.0.1:9700
  listen [::1]:9701
  socket /tmp/x/floatd.sock
  token_file /etc/floatd/api.token
  dashboard off
}
${INSTANCE}`,
    'a.conf',
  );
  assert.ok(r.config, r.diagnostics.map(formatDiagnostic).join('\n'));
  const api = r.config.api!;
  assert.equal(api.enabled, true);
  assert.deepEqual(api.listen, [
    { host: '127.0.0.1', port: 9700 },
    { host: '::1', port: 9701 },
  ]);
  assert.equal(api.socket, '/tmp/x/floatd.sock');
  assert.equal(api.tokenFile, '/etc/floatd/api.token');
  assert.equal(api.dashboard, false);
  assert.deepEqual(r.diagnostics, []);
});

test('floatd_api: defaults inside an empty block, `off`, `listen off`, `socket off`', () => {
  const empty = parseConfigText(`floatd_api {\n}\n${INSTANCE}`, 'a.conf').config!.api!;
  assert.deepEqual(empty.listen, [{ host: '127.0.0.1', port: 9610 }]);
  assert.equal(empty.socket, '/run/floatd/floatd.sock');
  assert.equal(empty.dashboard, true);
  assert.equal(parseConfigText(`floatd_api {\n  off\n}\n${INSTANCE}`, 'a.conf').config!.api!.enabled, false);
  const only = parseConfigText(`floatd_api {\n  listen off\n  socket off\n}\n${INSTANCE}`, 'a.conf').config!.api!;
  assert.deepEqual(only.listen, []);
  assert.equal(only.socket, undefined);
});

test('floatd_api: an off-host listen is said (info), an inline token is an error with a hint', () => {
  const r = parseConfigText(`floatd_api {\n  listen 192.0.2.10:9610\n}\n${INSTANCE}`, 'a.conf');
  assert.ok(r.config);
  assert.deepEqual(
    r.diagnostics.map((d) => [d.severity, d.line, d.col]),
    [['info', 2, 10]],
  );
  const bad = parseConfigText(`floatd_api {\n  token s3cret\n}\n${INSTANCE}`, 'a.conf');
  assert.equal(bad.config, null);
  const d = bad.diagnostics.find((x) => x.severity === 'error')!;
  assert.equal(d.line, 2);
  assert.match(d.hint ?? '', /token_file/);
  assert.ok(!formatDiagnostic(d).includes('s3cret'));
});

test('floatd_api: positioned errors for bad addresses, values and misspellings', () => {
  const r = parseConfigText(
    `floatd_api {
  listen localhost:9610
  listen 127.0.0.1:70000
  socket relative.sock
  dashboard maybe
  tokn_file /x
}
floatd_api {
}
${INSTANCE}`,
    'a.conf',
  );
  assert.equal(r.config, null);
  const got = r.diagnostics.map((d) => `${d.severity} ${d.line}:${d.col} ${d.keyword}`);
  assert.deepEqual(got, [
    'error 2:10 listen',
    'error 3:10 listen',
    'error 4:10 socket',
    'error 5:13 dashboard',
    'warning 6:3 tokn_file',
    'error 8:1 floatd_api',
  ]);
  assert.match(r.diagnostics[4]!.hint ?? '', /token_file/);
});

test('parseListen: host:port, [v6]:port, bare port', () => {
  assert.deepEqual(parseListen('9610'), { host: '127.0.0.1', port: 9610 });
  assert.deepEqual(parseListen('[2001:db8::1]:80'), { host: '2001:db8::1', port: 80 });
  assert.equal(typeof parseListen('127.0.0.1'), 'string');
  assert.equal(typeof parseListen('127.0.0.1:0'), 'string');
});

test('floatd_api: socket_group and max_connections; bad values are positioned errors', () => {
  const r = parseConfigText(
    `floatd_api {\n  socket_group floatd-readers\n  max_connections 32\n}\n${INSTANCE}`,
    'a.conf',
  );
  assert.ok(r.config, r.diagnostics.map(formatDiagnostic).join('\n'));
  assert.equal(r.config.api!.socketGroup, 'floatd-readers');
  assert.equal(r.config.api!.maxConnections, 32);
  const bad = parseConfigText(`floatd_api {\n  socket_group "a b"\n  max_connections 1\n}\n${INSTANCE}`, 'a.conf');
  const errs = bad.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
  assert.equal(errs.length, 2, errs.join('\n'));
  assert.match(errs[0]!, /a\.conf:2:\d+/);
  assert.match(errs[1]!, /a\.conf:3:\d+.*4\.\.4096/);
});
