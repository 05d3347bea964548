/** The state machine's side of the API hand-over (src/vrrp/fsm.ts `handover` event). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VrrpInstance, type Action, type InstanceParams } from '../../../src/vrrp/fsm.js';
import { masterDownUs } from '../../../src/vrrp/timers.js';

const P: InstanceParams = {
  name: 'VI_1',
  vrid: 33,
  version: 2,
  family: 4,
  priority: 150,
  initialState: 'BACKUP',
  advertIntervalCs: 100,
  preempt: true,
  preemptDelayUs: 0,
  downTimerAdverts: 3,
  myAddress: '192.0.2.5',
  lowerPrioNoAdvert: false,
  higherPrioSendAdvert: false,
  garpMasterDelayUs: 0,
  garpMasterRefreshUs: 0,
};

function master(): { i: VrrpInstance; at: number } {
  const i = new VrrpInstance(P);
  i.step(0, { type: 'start' });
  const at = i.nextDeadline()!;
  i.step(at, { type: 'timer', timer: 'masterDown' });
  assert.equal(i.state, 'MASTER');
  return { i, at };
}

test('a MASTER hands over: priority-0 advert, VIPs removed, BACKUP with a full down timer, reason "handover"', () => {
  const { i, at } = master();
  const out = i.step(at + 10, { type: 'handover', text: 'requested through the API' });
  const kinds = out.map((a) => a.type);
  assert.deepEqual(
    out.filter((a): a is Extract<Action, { type: 'sendAdvert' }> => a.type === 'sendAdvert').map((a) => a.priority),
    [0],
  );
  assert.ok(kinds.indexOf('sendAdvert') < kinds.indexOf('removeVips'));
  const t = out.find((a): a is Extract<Action, { type: 'transition' }> => a.type === 'transition')!;
  assert.deepEqual([t.from, t.to, t.reason.kind], ['MASTER', 'BACKUP', 'handover']);
  assert.match(t.reason.text, /requested through the API/);
  assert.equal(i.state, 'BACKUP');
  assert.equal(i.timers.get('masterDown'), at + 10 + masterDownUs(2, 150, 100, 3));
  assert.equal(i.masterAddress, undefined);
});

test('hand-over is a no-op outside MASTER', () => {
  const i = new VrrpInstance(P);
  i.step(0, { type: 'start' });
  assert.deepEqual(i.step(5, { type: 'handover' }), []);
  assert.equal(i.state, 'BACKUP');
});

test('a handed-over BACKUP at the lowest priority does not preempt the new MASTER back', () => {
  const { i, at } = master();
  i.step(at + 1, { type: 'tracking', priorityDelta: -254, faults: [], reason: 'hand-over' });
  assert.equal(i.effectivePriority, 1);
  i.step(at + 2, { type: 'handover' });
  // The peer (priority 100) now advertises; each advert refreshes our down timer.
  let now = at + 2;
  for (let k = 0; k < 10; k++) {
    now += 1_000_000;
    i.step(now, { type: 'advert', from: '192.0.2.6', priority: 100, advertIntervalCs: 100 });
    const due = i.nextDeadline()!;
    assert.ok(due > now + 1_000_000, 'down timer pushed past the next advert');
  }
  assert.equal(i.state, 'BACKUP');
});
