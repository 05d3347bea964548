import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../../src/config/index.js';
import { trackingConfig, SCRIPT_FIELDS } from '../../../src/daemon/mapping.js';

const CONF = `
vrrp_script web {
  http_get http://127.0.0.1:8080/health
  http_host www.example.test
  interval 1
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  virtual_ipaddress { 192.0.2.100/24 }
  track_script { web }
}
`;

test('http_host reaches the HTTP check (issue 12: the runtime dropped it)', () => {
  const r = parseConfigText(CONF, 'test.conf');
  assert.ok(r.config, JSON.stringify(r.diagnostics));
  const tc = trackingConfig(r.config, undefined);
  const web = tc.checks.find((c) => c.name === 'web');
  assert.equal(web?.kind, 'http');
  assert.equal(web?.kind === 'http' ? web.host : undefined, 'www.example.test');
});

test('every vrrp_script field has a stated destination', () => {
  assert.equal(SCRIPT_FIELDS.host, 'http Host header / tcp host');
});
