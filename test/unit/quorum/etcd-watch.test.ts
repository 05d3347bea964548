/**
 * The etcd adapter's key watch follows endpoint failover (src/quorum/etcd-watch.ts): fake etcd3
 * clients, one per endpoint, whose watchers are driven by hand the way the etcd3 client drives its
 * own (a response's put/delete events first, then 'data'; 'disconnected' when the stream breaks,
 * after which the client would retry the same member forever).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Etcd3 } from 'etcd3';
import { EtcdBackend, type KeyEvent } from '../../../src/quorum/etcd.js';
import { VirtualUsClock } from '../../support/virtual-us-clock.js';

class FakeWatcher extends EventEmitter {
  cancelled = false;
  constructor(
    readonly endpoint: number,
    readonly start: string | undefined,
  ) {
    super();
  }
  cancel(): Promise<void> {
    this.cancelled = true;
    return Promise.resolve();
  }
  connect(rev: number): void {
    this.emit('connected', { header: { revision: String(rev) } });
  }
  /** One watch response: its events, then the response itself (the etcd3 Watcher's order). */
  deliver(rev: number, events: { type: 'put' | 'delete'; mod: number; create?: number; version?: string }[]): void {
    for (const e of events) {
      const kv = {
        mod_revision: String(e.mod),
        create_revision: String(e.create ?? 0),
        version: e.version ?? '0',
        value: Buffer.from('lb1'),
      };
      this.emit(e.type, kv);
    }
    this.emit('data', { header: { revision: String(rev) }, events: [] });
  }
}

function setup(endpoints = 3): { b: EtcdBackend; clock: VirtualUsClock; watchers: FakeWatcher[]; got: KeyEvent[] } {
  const watchers: FakeWatcher[] = [];
  let n = 0;
  const make = (): Etcd3 => {
    const endpoint = n++;
    const client = {
      watch() {
        let start: string | undefined;
        const builder = {
          key: () => builder,
          startRevision: (r: string) => ((start = r), builder),
          watcher: () => {
            const w = new FakeWatcher(endpoint, start);
            watchers.push(w);
            return w;
          },
        };
        return builder;
      },
      close() {},
    };
    return client as unknown as Etcd3;
  };
  const clock = new VirtualUsClock();
  const hosts = Array.from({ length: endpoints }, (_, i) => `http://192.0.2.${10 + i}:2379`);
  const b = new EtcdBackend({ hosts }, clock, 1000, make);
  const got: KeyEvent[] = [];
  b.watch('/floatd/web/VI_1', (e) => got.push(e));
  return { b, clock, watchers, got };
}

test('the watch re-opens on the next endpoint when its stream breaks, from the revision after the last it saw', () => {
  const { watchers, got } = setup();
  assert.equal(watchers.length, 1);
  const w0 = watchers[0]!;
  assert.equal(w0.endpoint, 0);
  assert.equal(w0.start, undefined, 'a fresh watch starts from now');
  w0.connect(10);
  w0.deliver(11, [{ type: 'put', mod: 11, create: 11, version: '1' }]);
  assert.deepEqual(got, [{ type: 'created', epoch: 11, holder: 'lb1' }]);
  // The member under the watch dies: the etcd3 client would retry it forever.
  w0.emit('disconnected', new Error('14 UNAVAILABLE'));
  assert.equal(watchers.length, 2, 're-opened at once');
  const w1 = watchers[1]!;
  assert.equal(w1.endpoint, 1, 'on the next endpoint');
  assert.equal(w1.start, '12', 'from the revision after the last seen');
  assert.ok(w0.cancelled, 'the old watcher is cancelled (no retry on the dead member)');
  // What happened while it was away is replayed there (the holder's key expired at 12).
  w1.connect(14);
  w1.deliver(14, [{ type: 'delete', mod: 12 }]);
  assert.deepEqual(got[1], { type: 'deleted', revision: 12 });
  // A late event from the abandoned watcher is not reported.
  w0.deliver(15, [{ type: 'delete', mod: 15 }]);
  assert.equal(got.length, 2);
});

test('failover() (a stalled keepalive, a failed request) moves the watch on the endpoint the adapter leaves', () => {
  const { b, watchers } = setup();
  const w0 = watchers[0]!;
  w0.connect(5);
  w0.deliver(7, []); // a progress notification moves the revision too
  b.failover();
  assert.equal(watchers.length, 2);
  assert.equal(watchers[1]!.endpoint, 1);
  assert.equal(watchers[1]!.start, '8');
  assert.ok(w0.cancelled);
  // A resumed watch is about to replay from its start: its created header does not skip that.
  watchers[1]!.connect(20);
  b.failover();
  assert.equal(watchers[2]!.endpoint, 2);
  assert.equal(watchers[2]!.start, '8', 'nothing seen since revision 7');
});

test('a re-open that never connected waits 250 ms before the next (every member down: no busy loop)', async () => {
  const { watchers, clock } = setup(2);
  watchers[0]!.connect(3);
  watchers[0]!.emit('disconnected', new Error('down'));
  assert.equal(watchers.length, 2);
  watchers[1]!.emit('disconnected', new Error('down too')); // never connected
  assert.equal(watchers.length, 2, 'not at once');
  await clock.runUntil(249_000);
  assert.equal(watchers.length, 2);
  await clock.runUntil(250_000);
  assert.equal(watchers.length, 3);
  assert.equal(watchers[2]!.endpoint, 0, 'round the endpoints');
  assert.equal(watchers[2]!.start, '4');
});

test('a watch cancelled for a compacted revision re-opens from now; close() stops it for good', async () => {
  const { b, watchers, clock } = setup();
  watchers[0]!.connect(3);
  watchers[0]!.emit('error', new Error('Watcher canceled: mvcc: required revision has been compacted'));
  await clock.runUntil(250_000);
  assert.equal(watchers.length, 2);
  assert.equal(watchers[1]!.start, undefined);
  b.close();
  assert.ok(watchers[1]!.cancelled);
  b.failover();
  await clock.runUntil(1_000_000);
  assert.equal(watchers.length, 2);
});
