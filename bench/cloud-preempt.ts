/**
 * Issue 15 item 21 as a measurement: DigitalOcean actions that take seconds, the old MASTER's
 * assign still in flight when a preempt makes the other node MASTER. Reports how long the new
 * MASTER took to hold the address (assigned and verified), how many HTTP requests that took,
 * and how long after that the address pointed at the old MASTER (a late landing), sampled
 * every 50 ms for `watchS` seconds. Emulator in-process on loopback.
 *
 * Usage: node dist/bench/cloud-preempt.js [actionMs=8000] [watchS=40]
 */
import { pino } from 'pino';
import { FloatingIpRunner } from '../src/cloud/runner.js';
import { providers } from '../src/cloud/providers/index.js';
import { realClock } from '../src/util/clock.js';
import type { FloatingIpConfig } from '../src/config/model.js';
import { startDigitalOceanEmulator, type DigitalOceanEmulator } from '../test/emulators/digitalocean.js';
import { sleep } from './stats.js';

const IP = '203.0.113.10';
const TOKEN = 'bench-preempt-token-0123';
const actionMs = Number(process.argv[2] ?? '8000');
const watchS = Number(process.argv[3] ?? '40');

function runner(emu: DigitalOceanEmulator, node: string): FloatingIpRunner {
  const cfg: FloatingIpConfig = {
    name: 'web',
    provider: 'digitalocean',
    address: IP,
    tokenEnv: 'T',
    apiUrl: emu.apiUrl,
    metadataUrl: emu.metadataUrl(node),
    options: { poll_interval: '1', timeout: '10' },
    pos: { file: 'bench', line: 1, col: 1 },
  };
  return new FloatingIpRunner(cfg, {
    log: pino({ level: 'silent' }),
    clock: realClock,
    factories: providers,
    env: { T: TOKEN },
  });
}

const emu = await startDigitalOceanEmulator({
  token: TOKEN,
  actionDelayMs: actionMs,
  droplets: [{ id: 101 }, { id: 102 }],
  reservedIps: [{ ip: IP, dropletId: null }],
});
const a = runner(emu, '101');
const b = runner(emu, '102');
a.setDesire('hold', 'old MASTER');
while (!emu.snapshot().log.some((l) => l.method === 'POST')) await sleep(10);
a.setDesire('release', 'preempted');
const t0 = Date.now();
const before = emu.snapshot().requests;
b.setDesire('hold', 'preempt');
let heldAt: number | undefined;
let onOld = 0;
for (let t = 0; t < watchS * 1000; t += 50) {
  await sleep(50);
  if (heldAt === undefined && b.status().phase === 'held') heldAt = Date.now() - t0;
  if (heldAt !== undefined && emu.holder(IP) === '101') onOld += 50;
}
const s = b.status();
console.log(
  JSON.stringify({
    actionMs,
    convergeMs: heldAt ?? null,
    reportedConvergeMs: s.lastConvergeMs ?? null,
    requests: emu.snapshot().requests - before,
    steps: s.callsThisFailover,
    busyWaits: s.busyWaits ?? 0,
    msOnOldMasterAfterHold: onOld,
    finalHolder: emu.holder(IP),
  }),
);
a.stop();
b.stop();
await emu.close();
