import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText, formatDiagnostic } from '../../../src/config/index.js';
import { notifierConfig } from '../../../src/daemon/mapping.js';

const INSTANCE =
  'vrrp_instance VI_1 {\n  interface eth1\n  virtual_router_id 33\n  priority 200\n  notify_master /bin/true\n}\n';

test('global_defs notify_script_timeout / notify_supersede_delay reach the notifier (fractional seconds)', () => {
  const r = parseConfigText(
    `global_defs {\n  notify_script_timeout 5\n  notify_supersede_delay 0.25\n}\n${INSTANCE}`,
    'a.conf',
  );
  assert.ok(r.config, r.diagnostics.map(formatDiagnostic).join('\n'));
  assert.deepEqual(
    r.diagnostics.filter((d) => d.severity !== 'info'),
    [],
  );
  const nc = notifierConfig(r.config, undefined, () => '').config;
  assert.equal(nc.scriptTimeoutUs, 5_000_000);
  assert.equal(nc.supersedeUs, 250_000);
  // Without them: the notifier's defaults (30 s, 1 s).
  const d = notifierConfig(parseConfigText(INSTANCE, 'b.conf').config!, undefined, () => '').config;
  assert.equal(d.scriptTimeoutUs, undefined);
  assert.equal(d.supersedeUs, undefined);
  const bad = parseConfigText(
    `global_defs {\n  notify_script_timeout 0\n  notify_supersede_delay 999\n}\n${INSTANCE}`,
    'c.conf',
  );
  assert.equal(
    bad.diagnostics.filter((x) => x.severity === 'error').length,
    2,
    bad.diagnostics.map(formatDiagnostic).join('\n'),
  );
});
