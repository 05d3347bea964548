/**
 * Seeing and operating floatd on real kernels: the seed pair with a floatd_api block, a
 * failover (nginx stops on the MASTER), then the API (TCP inside each host's namespace and the
 * unix socket from outside), /metrics and `floatd status` on both hosts show the transition and
 * its reason; an API hand-over moves the VIP back only with the token. Needs root.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { appendFileSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { REPO_ROOT, SeedLab, SEED_VIP, type Server } from '../../src/lab/seed-lab.js';
import { labUnavailable } from '../../src/lab/prerequisites.js';
import type { DaemonStatus, InstanceStatus } from '../../src/model/status-types.js';
import { hasPython, notifyReceiver, type NotifyReceiver } from '../unit/api/notify-receiver.js';

const skip = labUnavailable() ?? (hasPython ? false : 'python3 (the sd_notify receiver) is missing');
const TOKEN = 'lab-token-0123456789abcdef';
const isTs = import.meta.url.endsWith('.ts');
const MAIN = join(REPO_ROOT, isTs ? 'src/cli/main.ts' : 'dist/src/cli/main.js');

let s: SeedLab;
/** lb2 runs as systemd would start it: NOTIFY_SOCKET and WATCHDOG_USEC (1 s pings). */
let systemd: NotifyReceiver;
const sock = (h: Server): string => join(s.dir(h), 'api', 'floatd.sock');

before(async () => {
  if (skip) return;
  s = new SeedLab();
  systemd = await notifyReceiver(join(s.dir('lb2'), 'notify.sock'));
  for (const h of ['lb1', 'lb2'] as const) {
    const tok = join(s.dir(h), 'api.token');
    writeFileSync(tok, `${TOKEN}\n`);
    chmodSync(tok, 0o600);
    appendFileSync(
      join(s.dir(h), 'keepalived.conf'),
      `\nfloatd_api {\n    listen 127.0.0.1:9610\n    socket ${sock(h)}\n    token_file ${tok}\n}\n`,
    );
    s.startFloatd(h, h === 'lb2' ? { NOTIFY_SOCKET: join(s.dir('lb2'), 'notify.sock'), WATCHDOG_USEC: '2000000' } : {});
  }
});

after(() => {
  if (!skip) {
    systemd.close();
    s.destroy();
  }
});

/** GET over the host's unix socket, from outside its namespaces. */
function viaSocket(h: Server, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: sock(h), path, timeout: 3000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** curl on 127.0.0.1:9610 inside the host's network namespace; prints the body then the HTTP code. */
function curl(h: Server, path: string, ...extra: string[]): { code: number; body: string } {
  const out = s.lab.exec(
    h,
    ['curl', '-s', '--max-time', '3', '-w', '\n%{http_code}', ...extra, `http://127.0.0.1:9610${path}`],
    true,
  );
  const i = out.lastIndexOf('\n');
  return { code: Number(out.slice(i + 1)), body: out.slice(0, i) };
}

const status = async (h: Server): Promise<DaemonStatus> =>
  JSON.parse((await viaSocket(h, '/api/v1/status')).body) as DaemonStatus;
const vi1 = (st: DaemonStatus): InstanceStatus => st.instances.find((i) => i.name === 'VI_1')!;

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms: number): Promise<T> {
  const t0 = Date.now();
  let last: unknown;
  while (Date.now() - t0 < ms) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    `timed out after ${ms} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}\n--- lb1\n` +
      `${s.log('lb1').split('\n').slice(-20).join('\n')}\n--- lb2\n${s.log('lb2').split('\n').slice(-20).join('\n')}`,
  );
}

function floatdStatus(h: Server, ...args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...(isTs ? ['--import', 'tsx'] : []), MAIN, 'status', '--socket', sock(h), ...args],
      { encoding: 'utf8', timeout: 15_000 },
      (err, stdout) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout });
      },
    );
  });
}

/** The value of one sample, by name and a label subset. */
function metric(text: string, name: string, labels: Record<string, string>): number | undefined {
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test(
  'after a failover both hosts show the transition and its reason: API, /metrics, floatd status',
  { skip, timeout: 60_000 },
  async () => {
    await until(
      'lb1 MASTER and holding the VIP',
      async () => (s.holds('lb1') && vi1(await status('lb1')).state === 'MASTER' ? true : undefined),
      12_000,
    );
    const ready = await status('lb2');
    assert.equal(vi1(ready).state, 'BACKUP');
    assert.equal(vi1(ready).master?.priority, 200, 'lb2 knows lb1 as master with its priority');

    s.stopNginx('lb1');
    await s.waitFor('lb2 holds the VIP', () => s.holds('lb2') && !s.holds('lb1'), 10_000);
    const st2 = await until(
      'lb2 reports MASTER',
      async () => {
        const st = await status('lb2');
        return vi1(st).state === 'MASTER' ? st : undefined;
      },
      5_000,
    );
    const st1 = await until(
      'lb1 reports FAULT',
      async () => {
        const st = await status('lb1');
        return vi1(st).state === 'FAULT' ? st : undefined;
      },
      5_000,
    );

    // The reason, on both sides: lb1 faulted on chk_nginx and resigned; lb2 took over on its priority-0 advert.
    const t1 = st1.transitions.at(-1)!;
    assert.deepEqual([t1.instance, t1.from, t1.to, t1.reasonKind], ['VI_1', 'MASTER', 'FAULT', 'fault']);
    assert.match(t1.reason, /chk_nginx/);
    assert.match(vi1(st1).lastReason, /chk_nginx/);
    assert.equal(vi1(st1).trackers.find((t) => t.name === 'chk_nginx')?.status, 'down');
    const t2 = st2.transitions.at(-1)!;
    assert.deepEqual([t2.instance, t2.from, t2.to, t2.reasonKind], ['VI_1', 'BACKUP', 'MASTER', 'priority_zero']);
    assert.ok(vi1(st2).vips.some((v) => v.address.startsWith(`${SEED_VIP}/`) && v.present));
    assert.ok(vi1(st2).counters.priorityZeroReceived >= 1);
    assert.ok(vi1(st1).counters.priorityZeroSent >= 1);

    // The same through TCP on loopback inside each host's namespace.
    const overTcp = JSON.parse(curl('lb2', '/api/v1/transitions?limit=1').body) as DaemonStatus['transitions'];
    assert.equal(overTcp[0]?.reasonKind, 'priority_zero');
    assert.equal((JSON.parse(curl('lb1', '/api/v1/instances/VI_1').body) as InstanceStatus).state, 'FAULT');

    // /metrics: keepalived_exporter's state numbers and floatd's transitions by reason.
    const m1 = curl('lb1', '/metrics').body;
    const m2 = (await viaSocket('lb2', '/metrics')).body;
    const state = { iname: 'VI_1', vrid: '33', ip_address: SEED_VIP };
    assert.equal(metric(m1, 'keepalived_vrrp_state', state), 3);
    assert.equal(metric(m2, 'keepalived_vrrp_state', state), 2);
    assert.equal(metric(m2, 'floatd_transitions_total', { iname: 'VI_1', to: 'MASTER', reason: 'priority_zero' }), 1);
    assert.equal(metric(m1, 'floatd_transitions_total', { iname: 'VI_1', to: 'FAULT', reason: 'fault' }), 1);
    assert.equal(metric(m1, 'keepalived_script_status', { name: 'chk_nginx' }), 0);
    assert.ok((metric(m2, 'keepalived_advertisements_sent_total', { iname: 'VI_1' }) ?? 0) >= 1);
    assert.match(m2, /^process_resident_memory_bytes \d+/m);

    // floatd status: exit 1 on the FAULT host, 0 on the healthy one; the JSON carries the reason.
    const j1 = await floatdStatus('lb1', '--json');
    assert.equal(j1.code, 1);
    assert.equal((JSON.parse(j1.stdout) as DaemonStatus).transitions.at(-1)?.reasonKind, 'fault');
    const j2 = await floatdStatus('lb2', '--json');
    assert.equal(j2.code, 0);
    assert.equal(vi1(JSON.parse(j2.stdout) as DaemonStatus).state, 'MASTER');
    const table = await floatdStatus('lb2');
    assert.match(
      table.stdout,
      new RegExp(`^VI_1 +MASTER .*${SEED_VIP.replace(/\./g, '\\.')}.* this node .*priority 0 advertisement`, 'm'),
    );
    assert.match(table.stdout, /BACKUP → MASTER +priority_zero/);

    // systemd saw lb2 become ready as BACKUP, then its STATUS line follow the failover.
    assert.match(systemd.messages[0] ?? '', /^READY=1\nSTATUS=VI_1 BACKUP \(prio 100\)\nMAINPID=\d+$/);
    await systemd.waitFor((m) => m.includes('STATUS=VI_1 MASTER (prio 100)'), 3_000);
    assert.ok(
      systemd.messages.filter((m) => m.includes('WATCHDOG=1')).length >= 2,
      'watchdog pings at half of WATCHDOG_USEC',
    );
  },
);

test(
  'hand-over through the API: refused without the token; with it the MASTER resigns and stays out for the hold',
  { skip, timeout: 40_000 },
  async () => {
    s.startNginx('lb1');
    await s.waitFor('lb1 preempts back once nginx is up', () => s.holds('lb1') && !s.holds('lb2'), 15_000);
    await until(
      'lb1 reports MASTER',
      async () => (vi1(await status('lb1')).state === 'MASTER' ? true : undefined),
      5_000,
    );

    assert.equal(curl('lb1', '/api/v1/instances/VI_1/handover', '-X', 'POST').code, 401);
    assert.equal(
      curl('lb1', '/api/v1/instances/VI_1/handover', '-X', 'POST', '-H', 'Authorization: Bearer wrong-token-xxxxxxxx')
        .code,
      401,
    );
    assert.equal(curl('lb1', '/api/v1/reload', '-X', 'POST', '-H', `Authorization: Bearer ${TOKEN}`).code, 200);
    assert.ok(s.holds('lb1'), 'nothing moved');

    const r = curl(
      'lb1',
      '/api/v1/instances/VI_1/handover?hold=20',
      '-X',
      'POST',
      '-H',
      `Authorization: Bearer ${TOKEN}`,
    );
    assert.equal(r.code, 200, r.body);
    const took = await s.waitFor(
      'lb2 holds the VIP after the hand-over',
      () => s.holds('lb2') && !s.holds('lb1'),
      5_000,
    );
    assert.ok(took < 2500, `hand-over took ${took} ms`);
    const st1 = await status('lb1');
    assert.equal(vi1(st1).state, 'BACKUP');
    assert.equal(vi1(st1).effectivePriority, 1);
    assert.equal(st1.transitions.at(-1)?.reasonKind, 'handover');
    // lb1 has priority 200 and preempts, yet it stays out for the hold.
    for (let i = 0; i < 40; i++) {
      assert.ok(s.holds('lb2') && !s.holds('lb1'), 'lb2 keeps the VIP during the hold');
      await new Promise((r2) => setTimeout(r2, 100));
    }
    assert.equal(curl('lb2', '/api/v1/instances/VI_1/handover', '-X', 'POST').code, 401);

    // docs/dashboard.png is this: lb1's dashboard after the failover and the hand-over.
    if (process.env.FLOATD_SCREENSHOT) {
      const { screenshotDashboard } = await import('../browser/browser.js');
      await screenshotDashboard(await status('lb1'), process.env.FLOATD_SCREENSHOT);
    }
  },
);

test('SIGTERM: systemd hears STOPPING=1 and the API socket goes away', { skip, timeout: 20_000 }, async () => {
  assert.ok(existsSync(sock('lb2')));
  s.signalFloatd('lb2', 'TERM');
  await systemd.waitFor((m) => m.startsWith('STOPPING=1'), 5_000);
  await s.waitFor('lb2 stopped', () => !s.floatdRunning('lb2'), 10_000);
  assert.equal(existsSync(sock('lb2')), false);
});
