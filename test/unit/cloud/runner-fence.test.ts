/**
 * The runner's hooks: the quorum's fencing check is asked right before every assign (a refusal
 * means no assign request at all, phase fenced, looked at again when the permit changes), and
 * every HTTP request a driver reports is counted in the status (calls, errors, latency).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { FloatingIpRunner, type AssignPermit } from '../../../src/cloud/runner.js';
import { realClock } from '../../../src/util/clock.js';
import type { CloudProvider, ProviderSettings } from '../../../src/cloud/types.js';
import type { FloatingIpConfig } from '../../../src/config/model.js';

const cfg: FloatingIpConfig = {
  name: 'web',
  provider: 'fake',
  address: '203.0.113.10',
  tokenEnv: 'T',
  instanceId: '101',
  options: { reconcile_interval: '60' },
  pos: { file: 'f', line: 1, col: 1 },
};

function fake(): { provider: (s: ProviderSettings) => CloudProvider; assigns: string[]; holder: { v: string | null } } {
  const assigns: string[] = [];
  const holder = { v: '102' as string | null };
  return {
    assigns,
    holder,
    provider: (s) => ({
      name: 'fake',
      needsLocalAddress: false,
      whoAmI: () => Promise.resolve('101'),
      holder: () => {
        s.onCall?.({ method: 'GET', path: '/ip', status: 200, ms: 7 });
        return Promise.resolve(holder.v);
      },
      assign: (self) => {
        s.onCall?.({ method: 'POST', path: '/ip/actions', status: 500, ms: 11 });
        s.onCall?.({ method: 'POST', path: '/ip/actions', status: 201, ms: 13 });
        assigns.push(self);
        holder.v = self;
        return Promise.resolve();
      },
    }),
  };
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 30));

test('fencing check before each assign: refused → no request, phase fenced; allowed → under its epoch', async () => {
  const f = fake();
  let permit: AssignPermit = { ok: false, reason: 'quorum main: lease held by 198.51.100.2' };
  const asked: string[] = [];
  const lines: string[] = [];
  const r = new FloatingIpRunner(cfg, {
    log: pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) }),
    clock: realClock,
    factories: { fake: f.provider },
    env: { T: 'x' },
    mayAssign: (n) => {
      asked.push(n);
      return permit;
    },
  });
  try {
    r.setDesire('hold', 'test');
    await settle();
    assert.deepEqual(f.assigns, []);
    assert.deepEqual(asked, ['web']);
    assert.equal(r.status().phase, 'fenced');
    assert.match(r.status().lastError ?? '', /fencing check refused the assign: quorum main: lease held/);
    assert.equal(r.status().errorCode, 'CLOUD_FENCED');
    const fenced = lines.map((l) => JSON.parse(l) as { event: string; code?: string; msg: string });
    const line = fenced.find((l) => l.event === 'cloud.fenced');
    assert.equal(line?.code, 'CLOUD_FENCED', lines.join(''));
    assert.match(line?.msg ?? '', /^E_CLOUD_FENCED: /);
    permit = { ok: true, epoch: 7 };
    r.permitChanged();
    await settle();
    assert.deepEqual(f.assigns, ['101']);
    assert.equal(r.status().phase, 'held');
    assert.equal(r.status().epoch, '7');
  } finally {
    r.stop();
  }
});

test('status counts HTTP requests (not reconciler steps), failed ones, and the last latency', async () => {
  const f = fake();
  const r = new FloatingIpRunner(cfg, {
    log: pino({ level: 'silent' }),
    clock: realClock,
    factories: { fake: f.provider },
    env: { T: 'x' },
  });
  try {
    r.setDesire('hold', 'test');
    await settle();
    const s = r.status();
    assert.equal(s.phase, 'held');
    assert.equal(s.steps, 3, 'holder, assign, holder');
    assert.equal(s.calls, 4, 'GET, POST 500, POST 201, GET');
    assert.equal(s.errors, 1);
    assert.equal(s.lastLatencyMs, 7);
  } finally {
    r.stop();
  }
});

test('a token file group/others can read is warned about once (security.secret_file), not each failover', async () => {
  const { mkdtempSync, writeFileSync, chmodSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'floatd-token-'));
  const file = join(dir, 'do.token');
  writeFileSync(file, 'dop_v1_secret_value_0123\n');
  chmodSync(file, 0o644);
  const lines: string[] = [];
  const f = fake();
  const r = new FloatingIpRunner({ ...cfg, tokenEnv: undefined, tokenFile: file } as FloatingIpConfig, {
    log: pino(
      { level: 'info' },
      {
        write: (l: string) => {
          lines.push(l);
        },
      },
    ),
    clock: realClock,
    factories: { fake: f.provider },
  });
  try {
    r.setDesire('hold', 'one');
    await settle();
    r.setDesire('release', 'two');
    r.setDesire('hold', 'three');
    await settle();
    const warned = lines.filter((l) => l.includes('security.secret_file'));
    assert.equal(warned.length, 1, lines.join(''));
    assert.match(
      warned[0]!,
      /fake token \(floating_ip web\) file .*do\.token is readable by everyone \(mode 0644; chmod 600 it\)/,
    );
    assert.ok(!lines.join('').includes('dop_v1_secret_value_0123'));
  } finally {
    r.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
