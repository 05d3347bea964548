import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { VrrpInstance, type Action, type Event, type InstanceParams } from '../../../src/vrrp/fsm.js';
import { VrrpNode } from '../../../src/vrrp/node.js';
import { compareAddresses, effectivePriority, masterDownUs, skewUs } from '../../../src/vrrp/timers.js';

const P = (over: Partial<InstanceParams> = {}): InstanceParams => ({
  name: 'VI_1',
  vrid: 33,
  version: 2,
  family: 4,
  priority: 100,
  initialState: 'BACKUP',
  advertIntervalCs: 100,
  preempt: true,
  preemptDelayUs: 0,
  downTimerAdverts: 3,
  myAddress: '192.0.2.5',
  lowerPrioNoAdvert: false,
  higherPrioSendAdvert: false,
  garpMasterDelayUs: 5_000_000,
  garpMasterRefreshUs: 0,
  ...over,
});
const adv = (from: string, priority: number, advertIntervalCs = 100) => ({
  type: 'advert' as const,
  from,
  priority,
  advertIntervalCs,
});
const types = (as: Action[]) =>
  as.map((a) =>
    a.type === 'garp'
      ? `garp:${a.burst}`
      : a.type === 'sendAdvert'
        ? `advert:${a.priority}`
        : a.type === 'transition'
          ? `${a.from}->${a.to}`
          : a.type === 'setTimer' || a.type === 'cancelTimer'
            ? `${a.type}:${a.timer}`
            : a.type,
  );
const fire = (i: VrrpInstance) => {
  const at = i.nextDeadline()!;
  const t = [...i.timers].find(([, v]) => v === at)![0];
  return { at, out: i.step(at, { type: 'timer', timer: t }) };
};
const started = (over: Partial<InstanceParams> = {}, now = 0) => {
  const i = new VrrpInstance(P(over));
  i.step(now, { type: 'start' });
  return i;
};
const toMaster = (over: Partial<InstanceParams> = {}) => {
  const i = started(over);
  const { at } = fire(i);
  assert.equal(i.state, 'MASTER');
  return { i, at };
};

test('skew and Master_Down_Interval match keepalived (µs, truncated)', () => {
  assert.equal(skewUs(2, 100, 100), 609_375);
  assert.equal(skewUs(3, 100, 100), 609_375);
  assert.equal(masterDownUs(2, 100, 100, 3), 3_609_375);
  assert.equal(skewUs(2, 200, 300), 218_750); // v2 ignores the interval
  assert.equal(skewUs(3, 200, 300), 656_250);
  assert.equal(skewUs(3, 1, 7), Math.floor((255 * 7 * 625) / 16)); // 69726.5625 -> truncated
  assert.equal(skewUs(2, 255, 100), 3_906);
});

test('effective priority clamps to 1..254 and owners ignore weights', () => {
  assert.equal(effectivePriority(100, -200), 1);
  assert.equal(effectivePriority(100, 200), 254);
  assert.equal(effectivePriority(255, -50), 255);
  assert.equal(effectivePriority(254, 1), 254);
});

test('addresses compare as unsigned big-endian integers (v4 and v6), never throw', () => {
  assert.ok(compareAddresses('192.0.2.10', '192.0.2.9') > 0);
  assert.ok(compareAddresses('198.51.100.1', '192.0.2.200') > 0);
  assert.ok(compareAddresses('2001:db8::1:0', '2001:db8::ffff') > 0);
  assert.equal(compareAddresses('2001:db8:0:0::1', '2001:db8::1'), 0);
  assert.equal(compareAddresses('::ffff:192.0.2.1', '::ffff:c000:201'), 0);
  assert.ok(compareAddresses('garbage', '192.0.2.1') < 0);
  fc.assert(
    fc.property(fc.ipV4(), fc.ipV4(), (a, b) => {
      const n = (s: string) => s.split('.').reduce((x, o) => x * 256 + Number(o), 0);
      assert.equal(Math.sign(compareAddresses(a, b)), Math.sign(n(a) - n(b)));
    }),
  );
});

test('start: owner with state MASTER is MASTER at once; others BACKUP with the full down timer', () => {
  const o = new VrrpInstance(P({ priority: 255, initialState: 'MASTER' }));
  assert.deepEqual(types(o.step(0, { type: 'start' })), [
    'advert:255',
    'addVips',
    'garp:master',
    'INIT->MASTER',
    'setTimer:garpDelayed',
    'setTimer:advert',
  ]);
  const b = new VrrpInstance(P({ priority: 150, initialState: 'MASTER' }));
  assert.deepEqual(types(b.step(0, { type: 'start' })), ['removeVips', 'INIT->BACKUP', 'setTimer:masterDown']);
  assert.equal(b.nextDeadline(), 3_414_062);
  assert.equal(b.state, 'BACKUP');
});

test('start while faulted enters FAULT; adverts before start are ignored', () => {
  const i = new VrrpInstance(P());
  assert.deepEqual(i.step(0, adv('192.0.2.9', 200)), []);
  i.step(0, { type: 'tracking', priorityDelta: 0, faults: ['chk_nginx'], reason: '' });
  const out = i.step(0, { type: 'start' });
  assert.equal(i.state, 'FAULT');
  const t = out.find((a) => a.type === 'transition');
  assert.ok(t && t.type === 'transition' && t.reason.kind === 'fault' && t.reason.tracker === 'chk_nginx');
  assert.equal(i.nextDeadline(), undefined);
});

test('BACKUP: lower priority advert is discarded and does not refresh the timer', () => {
  const i = started();
  const before = i.nextDeadline();
  const out = i.step(1_000_000, adv('192.0.2.9', 50));
  assert.deepEqual(types(out), ['log']);
  assert.equal(i.nextDeadline(), before);
  const { out: o2 } = fire(i);
  const t = o2.find((a) => a.type === 'transition');
  assert.ok(t?.type === 'transition' && t.reason.kind === 'preempt' && t.reason.peer === '192.0.2.9');
});

test('BACKUP: equal or higher priority advert is accepted and refreshes the timer', () => {
  const i = started();
  i.step(1_000_000, adv('192.0.2.1', 100)); // equal, lower address: still accepted in BACKUP
  assert.equal(i.nextDeadline(), 1_000_000 + 3_609_375);
  assert.equal(i.masterAddress, '192.0.2.1');
  assert.equal(i.masterPriority, 100);
});

test('BACKUP: priority 0 advert -> MASTER after Skew_Time', () => {
  const i = started();
  i.step(2_000_000, adv('192.0.2.9', 0));
  assert.equal(i.nextDeadline(), 2_609_375);
  const { out } = fire(i);
  assert.equal(i.state, 'MASTER');
  assert.ok(out.some((a) => a.type === 'transition' && a.reason.kind === 'priority_zero'));
});

test('BACKUP: nopreempt accepts a lower master; preempt_delay accepts until the delay ends', () => {
  const np = started({ priority: 200, preempt: false });
  np.step(1_000_000, adv('192.0.2.9', 10));
  assert.equal(np.nextDeadline(), 1_000_000 + masterDownUs(2, 200, 100, 3));
  const pd = started({ priority: 200, preemptDelayUs: 2_000_000 });
  pd.step(1_000_000, adv('192.0.2.9', 10)); // starts the delay (until 3 s), accepted
  pd.step(2_000_000, adv('192.0.2.9', 10)); // still accepted
  assert.equal(pd.nextDeadline(), 2_000_000 + masterDownUs(2, 200, 100, 3));
  pd.step(3_000_000, adv('192.0.2.9', 10)); // delay over: discarded
  assert.equal(pd.nextDeadline(), 2_000_000 + masterDownUs(2, 200, 100, 3));
});

test('becoming MASTER: advert first, then VIPs, GARP, notify, delayed GARP and advert timer', () => {
  const i = started({ garpMasterRefreshUs: 10_000_000 });
  const { at, out } = fire(i);
  assert.deepEqual(types(out), [
    'advert:100',
    'addVips',
    'garp:master',
    'BACKUP->MASTER',
    'setTimer:garpDelayed',
    'setTimer:garpRefresh',
    'setTimer:advert',
  ]);
  assert.deepEqual(out.at(-1), { type: 'setTimer', timer: 'advert', at: at + 1_000_000 });
  assert.equal(i.masterAddress, '192.0.2.5');
});

test('MASTER: higher priority, or equal priority with higher address -> BACKUP without priority 0', () => {
  const { i } = toMaster();
  const out = i.step(5_000_000, adv('192.0.2.6', 100));
  assert.deepEqual(types(out), [
    'cancelTimer:garpDelayed',
    'cancelTimer:advert',
    'removeVips',
    'MASTER->BACKUP',
    'setTimer:masterDown',
  ]);
  const t = out.find((a) => a.type === 'transition');
  assert.ok(t?.type === 'transition' && t.reason.text.includes('same priority 100 but higher IP address'));
  const { i: j } = toMaster();
  j.step(5_000_000, adv('192.0.2.1', 101));
  assert.equal(j.state, 'BACKUP');
});

test('MASTER: lower priority -> advert now (unless lower_prio_no_advert) and lower-prio GARP', () => {
  const { i } = toMaster({ garpLowerPrioDelayUs: 5_000_000 });
  assert.deepEqual(types(i.step(5_000_000, adv('192.0.2.4', 100))), [
    'log',
    'advert:100',
    'garp:lowerPrio',
    'setTimer:garpLowerPrio',
    'masterRxLowerPri',
  ]);
  const { i: q } = toMaster({ lowerPrioNoAdvert: true });
  assert.deepEqual(types(q.step(5_000_000, adv('192.0.2.9', 20))), ['log', 'garp:lowerPrio', 'masterRxLowerPri']);
  assert.equal(q.state, 'MASTER');
});

test('MASTER: priority 0 -> advert at once; equal priority from our own address -> warning only', () => {
  const { i } = toMaster();
  assert.deepEqual(types(i.step(4_000_000, adv('192.0.2.9', 0))), ['log', 'advert:100']);
  const out = i.step(4_100_000, adv('192.0.2.5', 100));
  assert.deepEqual(types(out), ['log']);
  assert.equal(i.state, 'MASTER');
});

test('MASTER: both address owners -> reduce to 254 with an error, then yield to the owner advert', () => {
  const i = new VrrpInstance(P({ priority: 255, initialState: 'MASTER' }));
  i.step(0, { type: 'start' });
  const out = i.step(100, adv('192.0.2.1', 255));
  assert.ok(out.some((a) => a.type === 'log' && a.level === 'error' && a.text.includes('CONFIGURATION ERROR')));
  assert.ok(out.some((a) => a.type === 'priorityChanged' && a.from === 255 && a.to === 254));
  assert.equal(i.basePriority, 254);
  assert.equal(i.state, 'BACKUP');
});

test('v3 BACKUP adopts the master interval; MASTER uses its own again', () => {
  const i = started({ version: 3 });
  i.step(1_000_000, adv('192.0.2.9', 200, 50));
  assert.equal(i.masterAdverIntCs, 50);
  assert.equal(i.nextDeadline(), 1_000_000 + masterDownUs(3, 100, 50, 3));
  const { at } = fire(i);
  assert.equal(i.masterAdverIntCs, 100);
  assert.equal(i.timers.get('advert'), at + 1_000_000);
});

test('priority change in BACKUP shifts the pending down timer by the skew difference', () => {
  const i = started();
  const out = i.step(1_000_000, { type: 'tracking', priorityDelta: 100, faults: [], reason: 'chk up' });
  assert.deepEqual(types(out), ['priorityChanged', 'setTimer:masterDown']);
  assert.equal(i.nextDeadline(), 3_609_375 - 609_375 + 218_750);
  assert.equal(i.effectivePriority, 200);
});

test('FAULT: from MASTER one priority-0 advert and VIPs removed; adverts ignored; leave -> BACKUP full timer', () => {
  const { i } = toMaster();
  const out = i.step(5_000_000, {
    type: 'tracking',
    priorityDelta: 0,
    faults: ['chk_nginx'],
    reason: 'VRRP_Script(chk_nginx) failed',
  });
  assert.deepEqual(types(out), [
    'cancelTimer:garpDelayed',
    'cancelTimer:advert',
    'advert:0',
    'removeVips',
    'MASTER->FAULT',
  ]);
  assert.equal(out.filter((a) => a.type === 'sendAdvert').length, 1);
  assert.deepEqual(i.step(5_500_000, adv('192.0.2.9', 0)), []);
  assert.deepEqual(i.step(5_500_000, adv('192.0.2.9', 200)), []);
  i.step(6_000_000, { type: 'tracking', priorityDelta: 0, faults: [], reason: 'ok' });
  assert.equal(i.state, 'BACKUP');
  assert.equal(i.nextDeadline(), 6_000_000 + 3_609_375);
});

test('VIP removed externally while MASTER: resign, re-take after Skew_Time', () => {
  const { i } = toMaster();
  const out = i.step(5_000_000, { type: 'vipRemovedExternally' });
  assert.ok(types(out).includes('advert:0'));
  assert.equal(i.state, 'BACKUP');
  assert.equal(i.nextDeadline(), 5_000_000 + 609_375);
});

test('shutdown: MASTER sends priority 0 and removes VIPs, every state ends in STOP', () => {
  const { i } = toMaster();
  assert.deepEqual(types(i.step(9_000_000, { type: 'shutdown' })), [
    'cancelTimer:garpDelayed',
    'cancelTimer:advert',
    'advert:0',
    'removeVips',
    'MASTER->STOP',
  ]);
  const b = started();
  assert.deepEqual(types(b.step(1, { type: 'shutdown' })), ['cancelTimer:masterDown', 'BACKUP->STOP']);
  assert.deepEqual(b.step(2, { type: 'shutdown' }), []);
});

test('stale or early timer events are ignored', () => {
  const i = started();
  assert.deepEqual(i.step(1_000, { type: 'timer', timer: 'masterDown' }), []);
  assert.deepEqual(i.step(10_000_000, { type: 'timer', timer: 'advert' }), []);
  assert.equal(i.state, 'BACKUP');
});

test('sync group: members wait for each other, move to MASTER together, fault together', () => {
  const mk = (name: string, vrid: number) => P({ name, vrid });
  const n = new VrrpNode([mk('A', 1), mk('B', 2), mk('C', 3)], [{ name: 'G', members: ['A', 'B', 'nope'] }]);
  n.step(0, { type: 'start' });
  n.step(3_609_375, { type: 'timer', timer: 'masterDown' }, 'A');
  assert.equal(n.instance('A')!.state, 'BACKUP'); // B does not want MASTER yet
  assert.equal(n.instance('A')!.wantState, 'MASTER');
  n.step(3_609_375, { type: 'timer', timer: 'masterDown' }, 'C');
  assert.equal(n.instance('C')!.state, 'MASTER'); // not in the group
  const out = n.step(3_609_375, { type: 'timer', timer: 'masterDown' }, 'B');
  assert.equal(n.instance('A')!.state, 'MASTER');
  assert.equal(n.instance('B')!.state, 'MASTER');
  assert.ok(out.some((a) => 'group' in a && a.action.to === 'MASTER'));
  // A lower MASTER heard on A: lower-prio GARPs for the sibling B too.
  const low = n.step(3_900_000, adv('192.0.2.1', 50), 'A');
  assert.ok(
    low.some(
      (a) => 'instance' in a && a.instance === 'B' && a.action.type === 'garp' && a.action.burst === 'lowerPrio',
    ),
  );
  // One member higher-priority advert -> the whole group BACKUP.
  n.step(4_000_000, adv('192.0.2.9', 200), 'B');
  assert.equal(n.instance('A')!.state, 'BACKUP');
  // A fault on A faults B; clearing it brings both back to BACKUP.
  n.step(5_000_000, { type: 'tracking', priorityDelta: 0, faults: ['eth0'], reason: 'link down' }, 'A');
  assert.equal(n.instance('B')!.state, 'FAULT');
  assert.equal(n.groupStates().get('G'), 'FAULT');
  n.step(6_000_000, { type: 'tracking', priorityDelta: 0, faults: [], reason: 'link up' }, 'A');
  assert.equal(n.instance('A')!.state, 'BACKUP');
  assert.equal(n.instance('B')!.state, 'BACKUP');
  assert.equal(n.instance('C')!.state, 'MASTER');
});

test('sync group: a member faulted at start keeps the whole group in FAULT', () => {
  const n = new VrrpNode([P({ name: 'A', vrid: 1 }), P({ name: 'B', vrid: 2 })], [{ name: 'G', members: ['A', 'B'] }]);
  n.step(0, { type: 'tracking', priorityDelta: 0, faults: ['chk'], reason: '' }, 'B');
  n.step(0, { type: 'start' });
  assert.equal(n.instance('A')!.state, 'FAULT');
  assert.equal(n.instance('B')!.state, 'FAULT');
});

test('random event streams never throw and keep VIPs only while MASTER', () => {
  const ev = fc.oneof(
    fc.record({
      type: fc.constant('advert' as const),
      from: fc.constantFrom('192.0.2.1', '192.0.2.9', 'bad'),
      priority: fc.integer({ min: 0, max: 255 }),
      advertIntervalCs: fc.integer({ min: 1, max: 4095 }),
    }),
    fc.record({
      type: fc.constant('tracking' as const),
      priorityDelta: fc.integer({ min: -300, max: 300 }),
      faults: fc.constantFrom([], ['x']),
      reason: fc.constant(''),
    }),
    fc.constantFrom(
      { type: 'vipRemovedExternally' as const },
      { type: 'start' as const },
      { type: 'timer' as const, timer: 'masterDown' as const },
      { type: 'timer' as const, timer: 'advert' as const },
    ),
  );
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 5_000_000 }), ev), { maxLength: 60 }),
      fc.constantFrom(2, 3),
      (steps, version) => {
        const i = new VrrpInstance(P({ version: version as 2 | 3 }));
        let now = 0;
        let vip = false;
        for (const [dt, e] of steps) {
          now += dt;
          for (const a of i.step(now, e as Event)) {
            if (a.type === 'addVips') vip = true;
            if (a.type === 'removeVips') vip = false;
          }
          assert.equal(vip, i.state === 'MASTER');
          assert.ok(i.effectivePriority >= 1 && i.effectivePriority <= 255);
        }
      },
    ),
  );
});
