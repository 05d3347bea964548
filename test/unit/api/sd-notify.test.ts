import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SdNotify, statusLine } from '../../../src/daemon/sd-notify.js';
import { nativeAvailable } from '../../../src/native/addon.js';
import { createLogger } from '../../../src/util/log.js';
import { sampleStatus } from './status-fixture.js';
import { hasPython, notifyReceiver } from './notify-receiver.js';

const log = createLogger({ level: 'silent' });
const skip = !nativeAvailable()
  ? 'native addon not built (scripts/build.sh)'
  : !hasPython
    ? 'python3 (the test receiver) is missing'
    : false;

/** Starts a receiver, runs `drive`, and returns every datagram up to STOPPING=1. */
async function receive(path: string, drive: () => Promise<void>): Promise<string[]> {
  const r = await notifyReceiver(path, 5);
  try {
    await drive();
    await r.waitFor((m) => m.includes('STOPPING=1'), 5000);
    return [...r.messages];
  } finally {
    r.close();
  }
}

test('READY with STATUS, WATCHDOG at half WATCHDOG_USEC, STATUS on a state change, STOPPING', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'floatd-sd-'));
  try {
    const path = join(dir, 'notify');
    let state = 'VI_1 BACKUP (prio 100)';
    const msgs = await receive(path, async () => {
      const env: NodeJS.ProcessEnv = {
        NOTIFY_SOCKET: path,
        WATCHDOG_USEC: '200000',
        WATCHDOG_PID: String(process.pid),
      };
      const sd = new SdNotify({ log, env });
      assert.equal(sd.watchdogIntervalUs, 100_000);
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
  const other = new SdNotify({
    log,
    env: { NOTIFY_SOCKET: '/x', WATCHDOG_USEC: '1000000', WATCHDOG_PID: '1' },
    send: () => {},
  });
  assert.equal(other.watchdogIntervalUs, undefined);
});

test('statusLine names each instance with its state and priority', () => {
  assert.equal(statusLine(sampleStatus()), 'VI_1 MASTER (prio 100), VI_6 FAULT (prio 90)');
  assert.equal(statusLine({ instances: [] }), 'running, no vrrp_instance');
});

test('a reload sends RELOADING=1 with MONOTONIC_USEC (CLOCK_MONOTONIC µs), then READY=1 with the status', () => {
  const sent: string[] = [];
  const sd = new SdNotify({
    log,
    env: { NOTIFY_SOCKET: '/run/systemd/notify' },
    send: (_p, d) => {
      sent.push(d.toString());
    },
  });
  const before = process.hrtime.bigint() / 1000n;
  sd.reloading();
  const after = process.hrtime.bigint() / 1000n;
  sd.reloaded('VI_1 MASTER (prio 200)');
  assert.equal(sent.length, 2);
  const lines = sent[0]!.split('\n');
  assert.equal(lines[0], 'RELOADING=1');
  const us = BigInt(/^MONOTONIC_USEC=(\d+)$/.exec(lines[1] ?? '')?.[1] ?? '-1');
  assert.ok(us >= before && us <= after, `MONOTONIC_USEC ${us} not in [${before}, ${after}]`);
  assert.deepEqual(sent[1]!.split('\n'), ['READY=1', 'STATUS=VI_1 MASTER (prio 200)']);
  // The value is injectable (tests, and where the monotonic source differs).
  const fixed: string[] = [];
  new SdNotify({
    log,
    env: { NOTIFY_SOCKET: '/x' },
    send: (_p, d) => {
      fixed.push(d.toString());
    },
    monotonicUs: () => 42n,
  }).reloading();
  assert.match(fixed[0]!, /^RELOADING=1\nMONOTONIC_USEC=42\n/);
});
