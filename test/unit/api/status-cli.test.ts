import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { ApiServer } from '../../../src/api/server.js';
import { formatStatus, runStatus, EXIT_FAULT, EXIT_NOT_RUNNING, EXIT_OK } from '../../../src/cli/status.js';
import { createLogger } from '../../../src/util/log.js';
import type { DaemonStatus } from '../../../src/model/status-types.js';
import { sampleStatus } from './status-fixture.js';

const log = createLogger({ level: 'silent' });
const isTs = import.meta.url.endsWith('.ts');
const MAIN = fileURLToPath(new URL(isTs ? '../../../src/cli/main.ts' : '../../../src/cli/main.js', import.meta.url));

test('the table says who holds which VIP, the master, the reason, checks, cloud holder and recent transitions', () => {
  const now = Date.now();
  const text = formatStatus(sampleStatus(new Date(now)), { now });
  const lines = text.split('\n');
  const vi1 = lines.find((l) => l.startsWith('VI_1 '))!;
  assert.match(
    vi1,
    /MASTER\s+100\s+33\s+eth1\s+192\.0\.2\.100\/24\s+this node\s+30s ago\s+Backup received priority 0 advertisement$/,
  );
  assert.match(
    lines.find((l) => l.startsWith('VI_6 '))!,
    /FAULT\s+100→90/,
  );
  assert.match(text, /^chk_api\s+http\s+VI_6\s+down\s+-10\s+HTTP 503\s+12\.0 ms/m);
  assert.match(text, /^web\s+203\.0\.113\.10\s+digitalocean\s+1001 \(this node\)\s+held/m);
  assert.match(text, /^30s ago\s+VI_1\s+BACKUP → MASTER\s+priority_zero/m);
  assert.ok(lines.length < 40, 'one screen');
  assert.doesNotMatch(text, /\x1b\[/, 'no colour unless asked');
  assert.match(formatStatus(sampleStatus(), { color: true }), /\x1b\[32mMASTER/);
  const denied = sampleStatus(new Date(now));
  Object.assign(denied.instances[0]!, {
    state: 'BACKUP',
    reasonKind: 'quorum_denied',
    quorumReason: 'quorum_denied: lease /floatd/web/VI_1 is held by lb2 (epoch 7)',
  });
  assert.match(
    formatStatus(denied, { now }),
    /^VI_1 .*quorum_denied: lease \/floatd\/web\/VI_1 is held by lb2 \(epoch 7\)$/m,
  );
  // A FAULT instance follows no master, whatever it saw last.
  const stale = sampleStatus(new Date(now));
  stale.instances[1]!.master = { address: '192.0.2.99', priority: 200 };
  assert.doesNotMatch(formatStatus(stale, { now }), /192\.0\.2\.99/);
});

async function withDaemon(
  status: () => DaemonStatus,
  fn: (socket: string, port: number) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'floatd-cli-'));
  const socket = join(dir, 'floatd.sock');
  const srv = new ApiServer({
    config: { enabled: true, listen: [{ host: '127.0.0.1', port: 0 }], socket, dashboard: true },
    provider: { status },
    log,
    processMetrics: false,
  });
  const l = await srv.start();
  try {
    await fn(socket, l.tcp[0]!.port);
  } finally {
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function collect(): { out: PassThrough; text: () => string } {
  const out = new PassThrough();
  let buf = '';
  out.on('data', (c: Buffer) => {
    buf += c.toString();
  });
  return { out, text: () => buf };
}

test('exit codes: 1 with an instance in FAULT, 0 without, 3 with no daemon; --json is the status', async () => {
  let st = sampleStatus();
  await withDaemon(
    () => st,
    async (socket, port) => {
      const a = collect();
      assert.equal(await runStatus({ socket, out: a.out }), EXIT_FAULT);
      assert.match(a.text(), /^VI_1 +MASTER/m);
      st = { ...st, instances: st.instances.filter((i) => i.state !== 'FAULT') };
      const b = collect();
      assert.equal(await runStatus({ url: `http://127.0.0.1:${port}/`, json: true, out: b.out }), EXIT_OK);
      assert.equal((JSON.parse(b.text()) as DaemonStatus).instances[0]?.vips[0]?.address, '192.0.2.100/24');
    },
  );
  const c = collect();
  assert.equal(
    await runStatus({ socket: join(tmpdir(), `floatd-none-${process.pid}.sock`), json: true, out: c.out }),
    EXIT_NOT_RUNNING,
  );
  assert.equal((JSON.parse(c.text()) as { running: boolean }).running, false);
});

test("--watch redraws until interrupted and returns the last refresh's code", async () => {
  let st = sampleStatus();
  await withDaemon(
    () => st,
    async (socket) => {
      const a = collect();
      const running = runStatus({ socket, watch: 0.1, out: a.out, color: false });
      await new Promise((r) => setTimeout(r, 350));
      st = { ...st, instances: st.instances.filter((i) => i.state !== 'FAULT') };
      await new Promise((r) => setTimeout(r, 350));
      process.emit('SIGINT');
      assert.equal(await running, EXIT_OK);
      const frames = a.text().split('(every 0.1s; Ctrl-C to stop)').length - 1;
      assert.ok(frames >= 4, `${frames} refreshes`);
      assert.match(a.text(), /^VI_6 +FAULT/m, 'the early frames had the FAULT instance');
    },
  );
});

/** The CLI as a child process; asynchronous, since this process serves the API it asks. */
function cli(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...(isTs ? ['--import', 'tsx'] : []), MAIN, ...args],
      { encoding: 'utf8', timeout: 20_000 },
      (err, stdout, stderr) => {
        resolve({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
      },
    );
  });
}

test('`floatd status` end to end through the command line: table, exit code, not-running message', async () => {
  await withDaemon(sampleStatus, async (socket) => {
    const r = await cli('status', '--socket', socket);
    assert.equal(r.status, EXIT_FAULT, r.stderr);
    assert.match(r.stdout, /192\.0\.2\.100\/24/);
  });
  const r = await cli('status', '--socket', '/nonexistent/floatd.sock');
  assert.equal(r.status, EXIT_NOT_RUNNING);
  assert.match(r.stderr, /floatd is not running or not reachable at \/nonexistent\/floatd\.sock \(no socket there\)/);
  assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace');
  assert.equal((await cli('status', '--bogus')).status, 2, 'a usage error is not "an instance in FAULT"');
});
