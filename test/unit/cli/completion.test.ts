/** The bash completion (packaging/bash-completion/floatd) in a real bash, with a stub floatd for instance names. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../../../src/lab/seed-lab.js';
import { sampleStatus } from '../api/status-fixture.js';

const FILE = join(REPO_ROOT, 'packaging/bash-completion/floatd');
const skip = spawnSync('bash', ['-c', 'true']).status === 0 ? false : 'bash missing';

function complete(words: string[]): string[] {
  const status = JSON.stringify(sampleStatus(), null, 2);
  const script =
    `source "$1"; floatd() { printf '%s\\n' "$STATUS"; }; ` +
    `COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _floatd; printf ` +
    `'%s\\n' "\${COMPREPLY[@]}"`;
  const r = spawnSync('bash', ['-c', script, 'bash', FILE], {
    encoding: 'utf8',
    env: { ...process.env, STATUS: status },
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean);
}

test('commands, keepalived options, facilities, maintenance states and instance names', { skip }, () => {
  assert.deepEqual(complete(['floatd', 's']), ['status', 'switchover']);
  assert.ok(complete(['floatd', '-']).includes('--dont-fork'));
  assert.deepEqual(complete(['floatd', '-S', '']), ['0', '1', '2', '3', '4', '5', '6', '7']);
  assert.deepEqual(complete(['floatd', 'maintenance', '']), ['on', 'off', 'status']);
  assert.deepEqual(complete(['floatd', 'maintenance', 'on', 'VI']), ['VI_1', 'VI_6']);
  assert.deepEqual(complete(['floatd', 'switchover', 'VI_']), ['VI_1', 'VI_6']);
});
