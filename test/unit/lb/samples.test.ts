/**
 * keepalived's own sample configs with virtual_server blocks (Debian's keepalived package,
 * /usr/share/doc/keepalived/samples): each is either usable with its virtual servers in the
 * model, or refused with positioned errors that say why (never "configuration OK" with the
 * load balancer dropped).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config/index.js';
import { describeVirtualServers } from '../../../src/lb/status.js';

const DIR = '/usr/share/doc/keepalived/samples';
const files = existsSync(DIR)
  ? readdirSync(DIR).filter(
      (f) => f.startsWith('keepalived.conf') && /^\s*virtual_server\s/m.test(readFileSync(join(DIR, f), 'utf8')),
    )
  : [];
const skip = files.length
  ? false
  : `no keepalived samples in ${DIR} (Debian's keepalived package, installed by scripts/setup.sh)`;

test(
  'every keepalived sample with virtual_server blocks is honoured or refused with a positioned reason',
  { skip },
  async () => {
    let usable = 0;
    for (const f of files) {
      const r = await loadConfig(join(DIR, f));
      const vsCount = (readFileSync(join(DIR, f), 'utf8').match(/^\s*virtual_server\s/gm) ?? []).length;
      if (r.config) {
        usable++;
        assert.equal(r.config.virtualServers?.length, vsCount, `${f}: every virtual_server is in the model`);
        assert.equal(
          describeVirtualServers(r.config.virtualServers!).filter((l) => l.startsWith('virtual_server')).length,
          vsCount,
        );
      } else {
        const errs = r.diagnostics.filter((d) => d.severity === 'error');
        assert.ok(errs.length > 0);
        for (const e of errs) assert.ok(e.line > 0 && e.col > 0, `${f}: positioned: ${e.message}`);
      }
    }
    assert.ok(usable >= 10, `${usable} of ${files.length} samples usable`);
  },
);
