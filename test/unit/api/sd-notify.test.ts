import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { SdNotify, statusLine } from '../../../src/daemon/sd-notify.js';
import { nativeAvailable } from '../../../src/net/native.js';
import { createLogger } from '../../../src/util/log.js';
import { sampleStatus } from './status-fixture.js';

const log = createLogger({ level: 'silent' });
const hasPython = spawnSync('python3', ['-c', 'pass']).status === 0;
const skip = !nativeAvailable() ? 'native addon not built (scripts/build.sh)' : !hasPython ? 'python3 (the test receiver) is missing' : false;

// A real AF_UNIX SOCK_DGRAM receiver, standing in for systemd: prints each datagram as JSON.
const RECEIVER = `
import socket, sys, json
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path.replace('@', '\\0', 1) if path.startswith('@') else path)
s.settimeout(5)
print('ready', flush=True)
while True:
    try: m = s.recv(4096).decode()
    except socket.timeout: break
    print(json.dumps(m), flush=True)
    if 'STOPPING=1' in m: break
`;

async function receive(path: string, drive: () => Promise<void>): Promise<string[]> {
  const py = spawn('python3', ['-c', RECEIVER, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: py.stdout })[Symbol.asyncIterator]();
  assert.equal((await lines.next()).value, 'ready');
  const got: string[] = [];
  const done = (async () => { for (let r = await lines.next(); !r.done; r = await lines.next()) got.push(JSON.parse(r.value as string) as string); })();
  await drive();
  await done;
  return got;
}

test('READY with STATUS, WATCHDOG at half WATCHDOG_USEC, STATUS on a state change, STOPPING', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'floatd-sd-'));
  try {
    const path = join(dir, 'notify');
    let state = 'VI_1 BACKUP (prio 100)';
    const msgs = await receive(path, async () => {
      const env: NodeJS.ProcessEnv = { NOTIFY_SOCKET: path, WATCHDOG_USEC: '200000', WATCHDOG_PID: String(process.pid) };
      const sd = new SdNotify({ log, env });
      assert.equal(sd.watchdogIntervalMs, 100);
      assert.equal(env.NOTIFY_SOCKET, undefined, 'children must not inherit NOTIFY_SOCKET');
      sd.ready(() => state);
      await new Promise((r) => setTimeout(r, 250));
      state = 'VI_1 MASTER (prio 100)';
      await new Promise((r) => setTimeout(r, 250));
      sd.stopping();
    });
    assert.match(msgs[0]!, /^READY=1\nSTATUS=VI_1 BACKUP \(prio 100\)\nMAINPID=\d+$/);
    assert.ok(msgs.filter((m) => m.includes('WATCHDOG=1')).length >= 3, msgs.join(' | '));
    assert.equal(msgs.filter((m) => m.includes('STATUS=VI_1 MASTER')).length, 1);
    assert.equal(msgs.at(-1), 'STOPPING=1\nSTATUS=stopping');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an abstract-namespace NOTIFY_SOCKET (@name) works too', { skip }, async () => {
  const path = `@floatd-test-${process.pid}`;
  const msgs = await receive(path, async () => {
    const sd = new SdNotify({ log, env: { NOTIFY_SOCKET: path } });
    sd.ready(() => 'x');
    sd.stopping();
  });
  assert.equal(msgs[0]?.split('\n')[0], 'READY=1');
  assert.equal(msgs.length, 2);
});

test('without NOTIFY_SOCKET nothing is sent; WATCHDOG_PID for another process means no watchdog', () => {
  const sent: string[] = [];
  const off = new SdNotify({ log, env: {}, send: (_p, d) => sent.push(d.toString()) });
  off.ready(() => 'x');
  off.stopping();
  assert.equal(off.enabled, false);
  assert.deepEqual(sent, []);
  const other = new SdNotify({ log, env: { NOTIFY_SOCKET: '/x', WATCHDOG_USEC: '1000000', WATCHDOG_PID: '1' }, send: () => {} });
  assert.equal(other.watchdogIntervalMs, undefined);
});

test('statusLine names each instance with its state and priority', () => {
  assert.equal(statusLine(sampleStatus()), 'VI_1 MASTER (prio 100), VI_6 FAULT (prio 90)');
  assert.equal(statusLine({ instances: [] }), 'running, no vrrp_instance');
});
