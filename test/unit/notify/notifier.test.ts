import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chmodSync,
  closeSync,
  constants,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterUs } from '../../../src/util/clock.js';
import { MS, VirtualClock } from '../../support/virtual-clock.js';
import type { RunRequest, RunResult, ScriptRunner } from '../../../src/util/run-script.js';
import { fifoLine } from '../../../src/notify/fifo.js';
import { Notifier, type NotifyLog } from '../../../src/notify/notifier.js';
import { deliver, safeUrl } from '../../../src/notify/webhook.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'floatd-notify-'));

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A runner on a virtual clock that records when each run starts and ends. */
function recordingRunner(clock: VirtualClock, durationMs: number) {
  const runs: Array<{ argv: readonly string[]; timeoutMs: number; start: number; end?: number }> = [];
  const runner: ScriptRunner = (req: RunRequest) => {
    const rec: { argv: readonly string[]; timeoutMs: number; start: number; end?: number } = {
      argv: req.argv,
      timeoutMs: req.timeoutUs / MS,
      start: clock.nowUs() / MS,
    };
    runs.push(rec);
    return new Promise<RunResult>((resolve) =>
      afterUs(clock, durationMs * MS, () => {
        rec.end = clock.nowUs() / MS;
        resolve({ ok: true, detail: 'exited with status 0', durationMs: durationMs });
      }),
    );
  };
  return { runner, runs };
}

test("FIFO lines use keepalived's exact format; groups report priority 0", () => {
  assert.equal(fifoLine('INSTANCE', 'VI_1', 'MASTER', 200), 'INSTANCE "VI_1" MASTER 200\n');
  assert.equal(fifoLine('GROUP', 'G1', 'BACKUP', 150), 'GROUP "G1" BACKUP 0\n');
  assert.equal(fifoLine('INSTANCE', 'VI_1', 'MASTER_RX_LOWER_PRI', 100), 'INSTANCE "VI_1" MASTER_RX_LOWER_PRI 100\n');
});

test("scripts run in keepalived's order, one at a time per instance, events in the order raised", async () => {
  const clock = new VirtualClock();
  const { runner, runs } = recordingRunner(clock, 100);
  const n = new Notifier(
    {
      instances: {
        VI_1: {
          master: { argv: ['/m.sh', 'x'] },
          backup: { argv: ['/b.sh'] },
          stop: { argv: ['/s.sh'] },
          generic: { argv: ['/g.sh'] },
        },
        VI_2: { master: { argv: ['/m2.sh'] } },
      },
    },
    { clock, runner },
  );
  void n.notify({ kind: 'INSTANCE', name: 'VI_1', from: 'INIT', to: 'BACKUP', priority: 100, reason: 'start' });
  void n.notify({ kind: 'INSTANCE', name: 'VI_1', from: 'BACKUP', to: 'MASTER', priority: 100, reason: 'timeout' });
  void n.notify({ kind: 'INSTANCE', name: 'VI_2', from: 'BACKUP', to: 'MASTER', priority: 90, reason: 'timeout' });
  void n.notify({ kind: 'INSTANCE', name: 'VI_1', from: 'MASTER', to: 'STOP', priority: 100, reason: 'shutdown' });
  await clock.advance(1000 * MS);
  await n.drain();
  const vi1 = runs.filter((r) => r.argv[0] !== '/m2.sh');
  assert.deepEqual(
    vi1.map((r) => r.argv.join(' ')),
    [
      '/b.sh',
      '/g.sh INSTANCE VI_1 BACKUP 100',
      '/m.sh x',
      '/g.sh INSTANCE VI_1 MASTER 100',
      '/s.sh',
      '/g.sh INSTANCE VI_1 STOP 100',
    ],
  );
  for (let i = 1; i < vi1.length; i++)
    assert.ok(vi1[i]!.start >= vi1[i - 1]!.end!, 'no two scripts of one instance overlap');
  assert.deepEqual(
    vi1.map((r) => r.timeoutMs),
    [30_000, 30_000, 30_000, 30_000, 1000, 1000],
  );
  assert.equal(runs.find((r) => r.argv[0] === '/m2.sh')?.start, 0, 'another instance does not wait');
  assert.equal(n.runs, 7);
});

test('notify_master_rx_lower_pri gets the script timeout, in µs like the state scripts', async () => {
  const clock = new VirtualClock();
  const { runner, runs } = recordingRunner(clock, 10);
  const rx = { masterRxLowerPri: { argv: ['/rx.sh'] } };
  const n = new Notifier({ instances: { VI_1: rx } }, { clock, runner });
  const t = new Notifier({ instances: { VI_1: rx }, scriptTimeoutUs: 7000 * MS }, { clock, runner });
  void n.event('VI_1', 'MASTER_RX_LOWER_PRI', 100);
  void t.event('VI_1', 'MASTER_RX_LOWER_PRI', 100);
  await clock.advance(100 * MS);
  assert.deepEqual(
    runs.map((r) => [r.argv[0], r.timeoutMs]),
    [
      ['/rx.sh', 30_000],
      ['/rx.sh', 7000],
    ],
  );
});

test('a deleted instance is reported as FAULT unless notify_deleted is set', async () => {
  const clock = new VirtualClock();
  const { runner, runs } = recordingRunner(clock, 1);
  const n = new Notifier(
    {
      instances: {
        A: { fault: { argv: ['/f.sh'] }, generic: { argv: ['/g.sh'] } },
        B: { deleted: { argv: ['/d.sh'] } },
      },
    },
    { clock, runner },
  );
  void n.notify({ kind: 'INSTANCE', name: 'A', from: 'BACKUP', to: 'DELETED', priority: 100, reason: 'reload' });
  void n.notify({ kind: 'INSTANCE', name: 'B', from: 'BACKUP', to: 'DELETED', priority: 100, reason: 'reload' });
  await clock.advance(10 * MS);
  assert.deepEqual(
    runs.map((r) => r.argv.join(' ')),
    ['/f.sh', '/d.sh', '/g.sh INSTANCE A FAULT 100'],
  );
});

test("real scripts: state script, then generic notify, keepalived's arguments, in order, as script user", async () => {
  const dir = tmp();
  const log = join(dir, 'log');
  const script = join(dir, 'rec.sh');
  writeFileSync(script, `#!/bin/sh\nsleep 0.05\necho "$(id -u) $*" >> ${log}\n`);
  chmodSync(script, 0o755);
  chmodSync(dir, 0o777);
  const asRoot = process.getuid?.() === 0;
  const n = new Notifier({
    instances: {
      VI_1: { backup: { argv: [script, 'backup'] }, master: { argv: [script, 'master'] }, generic: { argv: [script] } },
    },
    ...(asRoot ? { scriptUser: { uid: 65534, gid: 65534 } } : {}),
  });
  void n.notify({ kind: 'INSTANCE', name: 'VI_1', from: 'INIT', to: 'BACKUP', priority: 100, reason: 'start' });
  void n.notify({ kind: 'INSTANCE', name: 'VI_1', from: 'BACKUP', to: 'MASTER', priority: 200, reason: 'timeout' });
  await n.drain();
  const uid = asRoot ? 65534 : process.getuid?.();
  assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), [
    `${uid} backup`,
    `${uid} INSTANCE VI_1 BACKUP 100`,
    `${uid} master`,
    `${uid} INSTANCE VI_1 MASTER 200`,
  ]);
  assert.equal(n.failures, 0);
});

test('a hung notify script is killed at its timeout and the queue moves on', async () => {
  const dir = tmp();
  const out = join(dir, 'after');
  const n = new Notifier({
    scriptTimeoutUs: 200 * MS,
    instances: { VI_1: { master: { argv: ['sleep', '30'] }, generic: { argv: ['sh', '-c', 'touch "$0"', out] } } },
  });
  const t0 = Date.now();
  await n.notify({ kind: 'INSTANCE', name: 'VI_1', from: 'BACKUP', to: 'MASTER', priority: 100, reason: 'x' });
  assert.ok(Date.now() - t0 < 2000);
  assert.equal(n.failures, 1);
  assert.equal(existsSync(out), true);
});

test('notify_fifo: created 0644, lines in event order, fifo script given its path, removed at close', async () => {
  const dir = tmp();
  const path = join(dir, 'fifo');
  const got = join(dir, 'got');
  const reader = join(dir, 'reader.sh');
  writeFileSync(
    reader,
    `#!/bin/sh\necho "args: $*" > ${got}\nwhile read -r line; do echo "$line" >> ${got}; done < "$1"\n`,
  );
  chmodSync(reader, 0o755);
  const n = new Notifier({ fifos: [{ path, script: { argv: [reader] } }], instances: {}, groups: {} });
  n.open();
  try {
    assert.equal(statSync(path).mode & 0o777, 0o644);
    assert.ok(statSync(path).isFIFO());
    void n.notify({ kind: 'INSTANCE', name: 'VI_1', from: 'INIT', to: 'BACKUP', priority: 100, reason: 'start' });
    void n.notify({ kind: 'GROUP', name: 'G1', from: 'BACKUP', to: 'MASTER', priority: 100, reason: 'sync' });
    void n.event('VI_1', 'MASTER_RX_LOWER_PRI', 120);
    await until(() => existsSync(got) && readFileSync(got, 'utf8').split('\n').length >= 5);
    assert.deepEqual(readFileSync(got, 'utf8').trim().split('\n'), [
      `args: ${path}`,
      'INSTANCE "VI_1" BACKUP 100',
      'GROUP "G1" MASTER 0',
      'INSTANCE "VI_1" MASTER_RX_LOWER_PRI 120',
    ]);
  } finally {
    await n.close();
  }
  assert.equal(existsSync(path), false);
});

test('notify_fifo never blocks: without a reader lines queue in the pipe; a non-FIFO path: clear error', async () => {
  const dir = tmp();
  const path = join(dir, 'fifo');
  const n = new Notifier({ fifos: [{ path }] });
  n.open();
  void n.notify({ kind: 'INSTANCE', name: 'VI_1', from: 'BACKUP', to: 'MASTER', priority: 200, reason: 'x' });
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const buf = Buffer.alloc(100);
  const len = readSync(fd, buf);
  closeSync(fd);
  assert.equal(buf.subarray(0, len).toString(), 'INSTANCE "VI_1" MASTER 200\n');
  await n.close();
  const file = join(dir, 'plain');
  writeFileSync(file, '');
  assert.throws(() => new Notifier({ fifos: [{ path: file }] }).open(), {
    message: `notify_fifo ${file} exists and is not a FIFO`,
  });
});

async function hookServer(statuses: number[]) {
  const bodies: Array<{ body: string; headers: http.IncomingHttpHeaders }> = [];
  const srv = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      bodies.push({ body, headers: req.headers });
      res.statusCode = statuses.shift() ?? 200;
      res.end();
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/hook`;
  return { url, bodies, close: () => new Promise<void>((r) => srv.close(() => r())) };
}

test('webhook: JSON body, retries with backoff on 5xx, HMAC signature, nothing secret in the logs', async () => {
  const s = await hookServer([500, 503, 200]);
  const logs: unknown[] = [];
  const log: NotifyLog = { info: (o, m) => logs.push(o, m), warn: (o, m) => logs.push(o, m) };
  try {
    const n = new Notifier(
      {
        host: 'lb1',
        instances: { VI_1: { generic: { argv: ['true', 'TOKEN=s3cr3t-arg'] } } },
        webhooks: [
          {
            url: `${s.url}?token=s3cr3t-q`,
            headers: { authorization: 'Bearer s3cr3t-h' },
            secret: 's3cr3t-k',
            backoffUs: 20 * MS,
          },
        ],
      },
      { log, wallMs: () => Date.UTC(2026, 0, 2, 3, 4, 5) },
    );
    await n.notify({
      kind: 'INSTANCE',
      name: 'VI_1',
      from: 'BACKUP',
      to: 'MASTER',
      priority: 150,
      basePriority: 100,
      group: 'G1',
      reason: 'chk_nginx succeeded',
    });
    await n.drain();
    assert.equal(s.bodies.length, 3);
    const last = s.bodies[2]!;
    assert.deepEqual(JSON.parse(last.body), {
      kind: 'INSTANCE',
      instance: 'VI_1',
      group: 'G1',
      from: 'BACKUP',
      to: 'MASTER',
      reason: 'chk_nginx succeeded',
      priority: 100,
      effectivePriority: 150,
      host: 'lb1',
      time: '2026-01-02T03:04:05.000Z',
    });
    assert.equal(last.headers.authorization, 'Bearer s3cr3t-h');
    assert.match(String(last.headers['x-floatd-signature']), /^sha256=[0-9a-f]{64}$/);
    assert.equal(n.webhooksSent, 1);
    const text = JSON.stringify(logs);
    assert.doesNotMatch(text, /s3cr3t/);
    assert.match(text, /webhook http:\/\/127\.0\.0\.1:\d+\/hook delivered/);
  } finally {
    await s.close();
  }
});

test('webhook: a floating IP contested and no longer contested (issue 13), filtered by only', async () => {
  const s = await hookServer([200, 200, 200]);
  const log: NotifyLog = { info: () => undefined, warn: () => undefined };
  try {
    const n = new Notifier(
      {
        host: 'lb1',
        webhooks: [
          { url: s.url, backoffUs: 1 * MS },
          { url: s.url, backoffUs: 1 * MS, only: ['VI_9'] },
        ],
      },
      { log, wallMs: () => Date.UTC(2026, 0, 2, 3, 4, 5) },
    );
    await n.floatingIp(
      'web',
      'CONTESTED',
      'contested: the provider shows 102 as holder; this node cannot hear its peer',
    );
    await n.floatingIp('web', 'UNCONTESTED', 'the address is claimed again');
    await n.drain();
    assert.deepEqual(
      s.bodies.map((b) => JSON.parse(b.body) as unknown),
      [
        {
          kind: 'FLOATING_IP',
          floatingIp: 'web',
          to: 'CONTESTED',
          reason: 'contested: the provider shows 102 as holder; this node cannot hear its peer',
          host: 'lb1',
          time: '2026-01-02T03:04:05.000Z',
        },
        {
          kind: 'FLOATING_IP',
          floatingIp: 'web',
          to: 'UNCONTESTED',
          reason: 'the address is claimed again',
          host: 'lb1',
          time: '2026-01-02T03:04:05.000Z',
        },
      ],
    );
  } finally {
    await s.close();
  }
});

test('webhook delivery is bounded: a 4xx is final, 5xx stop after retries+1 attempts, timeouts count', async () => {
  const s = await hookServer([400, 500, 500, 500, 500]);
  try {
    assert.deepEqual(await deliver({ url: s.url, backoffUs: 1 * MS }, '{}'), {
      ok: false,
      attempts: 1,
      detail: 'HTTP 400',
    });
    assert.deepEqual(await deliver({ url: s.url, backoffUs: 1 * MS, retries: 2 }, '{}'), {
      ok: false,
      attempts: 3,
      detail: 'HTTP 500',
    });
  } finally {
    await s.close();
  }
  const hang = http.createServer(() => undefined);
  await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(hang.address() as AddressInfo).port}/`;
  try {
    const t0 = Date.now();
    assert.deepEqual(await deliver({ url, timeoutUs: 100 * MS, retries: 1, backoffUs: 10 * MS }, '{}'), {
      ok: false,
      attempts: 2,
      detail: 'timed out after 100 ms',
    });
    assert.ok(Date.now() - t0 < 1500);
  } finally {
    hang.closeAllConnections();
    await new Promise<void>((r) => hang.close(() => r()));
  }
  assert.equal(safeUrl('https://user:pw@hooks.example.test/x?token=1'), 'https://hooks.example.test/x');
});

test('webhook backoff doubles up to the cap and honours Retry-After, on a virtual clock', async () => {
  const clock = new VirtualClock();
  const at: number[] = [];
  const answers = [{ retryAfterUs: 3000 * MS }, {}, {}, {}];
  const p = deliver({ url: 'http://192.0.2.1/', retries: 3, backoffUs: 500 * MS, maxBackoffUs: 1500 * MS }, '{}', {
    clock,
    post: async () => {
      at.push(clock.nowUs() / MS);
      return { ok: false, retry: true, detail: 'HTTP 503', ...answers.shift() };
    },
  });
  await clock.advance(10_000 * MS);
  assert.deepEqual(await p, { ok: false, attempts: 4, detail: 'HTTP 503' });
  assert.deepEqual(at, [0, 1500, 2500, 4000]);
});
