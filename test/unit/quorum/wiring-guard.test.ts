/**
 * The wiring with a fence guard (docs/quorum.md, "Fence guard"): the guard is told each deadline
 * before the FSM hears `held`; a guard that is not running means no hold (never weaker than
 * without it); a running guard that stops fences the holder; `fence_guard off` uses none.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../../src/config/index.js';
import { createLogger } from '../../../src/util/log.js';
import type { LeaseBackend } from '../../../src/quorum/etcd.js';
import type { FenceGuardPort } from '../../../src/quorum/fence-guard.js';
import type { GuardVip } from '../../../src/quorum/guard-machine.js';
import { QuorumWiring } from '../../../src/quorum/wiring.js';
import { VirtualUsClock } from '../../../test/support/virtual-us-clock.js';

/** A lease store that grants at once and answers every keepalive (the guard is what is tested). */
function grantingBackend(): LeaseBackend {
  return {
    acquire: async () => ({ ok: true, leaseId: 'L1', epoch: 7, ttlS: 1 }),
    keepAlive: (_id, onReply) => ({ send: () => queueMicrotask(() => onReply(1)), close: () => undefined }),
    revoke: async () => undefined,
    watch: () => ({ close: () => undefined }),
    confirm: async () => true,
    close: () => undefined,
  };
}

class FakeGuard implements FenceGuardPort {
  up = true;
  readonly said: string[] = [];
  readonly deadlines: number[] = [];
  private cb: ((running: boolean) => void)[] = [];
  removed: ((holder: string) => void)[] = [];
  onRemoved(cb: (holder: string) => void): void {
    this.removed.push(cb);
  }
  running(): boolean {
    return this.up;
  }
  hold(holder: string, deadlineUs: number, vips: GuardVip[]): void {
    this.deadlines.push(deadlineUs);
    this.said.push(`hold ${holder} ${vips.map((v) => `${v.address}/${v.prefix} ${v.ifname}`).join(',')}`);
  }
  release(holder: string): void {
    this.said.push(`release ${holder}`);
  }
  onChange(cb: (running: boolean) => void): void {
    this.cb.push(cb);
  }
  set(up: boolean): void {
    this.up = up;
    for (const c of this.cb) c(up);
  }
}

const conf = (extra = ''): string =>
  `floatd_quorum main {\n  backend etcd\n  endpoints http://198.51.100.1:2379\n  key /floatd/t\n  ttl 1\n${extra}}
vrrp_instance VI_1 {\n  interface eth1\n  virtual_router_id 1\n  priority 100\n  quorum main\n` +
  `  virtual_ipaddress {\n    192.0.2.10/24\n  }\n}\n`;

function wiring(clock: VirtualUsClock, guard: FakeGuard, events: string[], extra = ''): QuorumWiring {
  const cfg = parseConfigText(conf(extra), 'q.conf').config!;
  return new QuorumWiring(cfg, {
    clock,
    log: createLogger({ level: 'silent' }),
    nodeName: 'lb1',
    backendFor: grantingBackend,
    guardFor: () => guard,
    hooks: {
      lease: (i, status, text) => {
        const e = `${status} ${i}${status === 'held' ? '' : `: ${text}`}`;
        if (events.at(-1) !== e) events.push(e);
        if (status === 'held' && events.at(-2) !== 'guard told') events.push('(held before the guard was told)');
      },
      vipSpecs: () => [{ ifname: 'eth1', address: '192.0.2.10', prefix: 24 }],
      vipsUp: () => false,
      enqueue: async (job) => job(),
    },
  });
}

test('the guard hears each deadline (before the FSM hears held) and the release', async () => {
  const clock = new VirtualUsClock();
  const g = new FakeGuard();
  const ev: string[] = [];
  const hold = g.hold.bind(g);
  g.hold = (h, d, v) => {
    hold(h, d, v);
    if (ev.at(-1) !== 'guard told') ev.push('guard told');
  };
  const w = wiring(clock, g, ev);
  w.want('VI_1');
  await clock.runUntil(1_000_000);
  assert.equal(ev[0], 'guard told');
  assert.equal(ev[1], 'held VI_1');
  assert.ok(!ev.includes('(held before the guard was told)'), ev.join('\n'));
  assert.equal(g.said[0], 'hold VI_1 192.0.2.10/24 eth1');
  assert.ok(g.deadlines.length >= 4, `renewals every 0.2 s extend the guard's deadline: ${g.deadlines.length}`);
  assert.ok(
    g.deadlines.every((d, i) => i === 0 || d > g.deadlines[i - 1]!),
    'deadlines only move forward',
  );
  assert.ok(g.deadlines.at(-1)! > clock.nowUs() && g.deadlines.at(-1)! <= clock.nowUs() + 700_000);
  w.release('VI_1', 'left MASTER');
  await clock.runUntil(1_100_000);
  assert.equal(g.said.at(-1), 'release VI_1');
  await w.stop('test');
});

test('a guard that is not running: no hold, no VIPs, no cloud permit — it is denied instead', async () => {
  const clock = new VirtualUsClock();
  const g = new FakeGuard();
  g.up = false;
  const ev: string[] = [];
  const w = wiring(clock, g, ev);
  w.want('VI_1');
  await clock.runUntil(500_000);
  assert.ok(!ev.some((e) => e.startsWith('held')), ev.join('\n'));
  assert.match(ev.join('\n'), /denied VI_1: the fence guard is not running \(QUORUM_GUARD_DOWN\)/);
  assert.equal(w.mayAddVips('VI_1'), false);
  // once it runs, the next ask is granted
  g.set(true);
  w.want('VI_1');
  await clock.runUntil(1_000_000);
  assert.ok(ev.includes('held VI_1'), ev.join('\n'));
  assert.equal(w.mayAddVips('VI_1'), true);
  await w.stop('test');
});

/** A node holding VI_1 with a running guard, 0.3 s in. */
async function holding(): Promise<{ clock: VirtualUsClock; g: FakeGuard; ev: string[]; w: QuorumWiring }> {
  const clock = new VirtualUsClock();
  const g = new FakeGuard();
  const ev: string[] = [];
  const w = wiring(clock, g, ev);
  w.want('VI_1');
  await clock.runUntil(300_000);
  assert.equal(w.mayAddVips('VI_1'), true);
  return { clock, g, ev, w };
}

test('a running guard that stops: the holder fences (lost), and may not add VIPs', async () => {
  const { clock, g, ev, w } = await holding();
  g.set(false);
  assert.match(ev.at(-1) ?? '', /^lost VI_1: the fence guard stopped/);
  assert.equal(w.mayAddVips('VI_1'), false);
  await clock.runUntil(600_000);
  assert.ok(!ev.slice(ev.findIndex((e) => e.startsWith('lost'))).includes('held VI_1'), 'not held again meanwhile');
  await w.stop('test');
});

test('the guard removed the VIPs at a deadline since extended: the node fences (nothing re-adds them)', async () => {
  const { clock, g, ev, w } = await holding();
  for (const r of g.removed) r('VI_1');
  assert.match(ev.at(-1) ?? '', /^lost VI_1: the fence guard removed the VIPs at the deadline/);
  await w.stop('test');
});

test('fence_guard off: no guard asked for, holds as before', async () => {
  const clock = new VirtualUsClock();
  const g = new FakeGuard();
  g.up = false;
  const ev: string[] = [];
  const w = wiring(clock, g, ev, '  fence_guard off\n');
  w.want('VI_1');
  await clock.runUntil(300_000);
  assert.ok(ev.includes('held VI_1'), ev.join('\n'));
  assert.deepEqual(g.said, []);
  await w.stop('test');
});
