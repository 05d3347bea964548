/**
 * What the load balancer's membership events do (shell): a log line each, and the notify_up/down
 * and quorum_up/down scripts, run detached from the apply path.
 */
import type { RealServerConfig, VirtualServerConfig } from '../config/lvs-model.js';
import type { NotifyScript } from '../config/model.js';
import { US_PER_S, type Clock } from '../util/clock.js';
import { runScript, type ScriptRunner } from '../util/run-script.js';
import type { Logger } from '../util/log.js';
import { withCode } from '../errors.js';
import { rsKey, type LbEvent } from './membership.js';

export interface EventDeps {
  log: Logger;
  clock: Clock;
  runner?: ScriptRunner;
}

export function runEvents(o: EventDeps, v: VirtualServerConfig, events: LbEvent[]): void {
  for (const e of events) {
    if ('weight' in e) {
      const up = e.type === 'quorum_up';
      o.log[up ? 'info' : 'warn'](
        { event: `lb.${e.type}`, vs: v.key, weight: e.weight },
        `${v.key}: quorum ${up ? 'gained' : 'lost'} (live weight ${e.weight}, quorum ${v.quorum} ± ${v.hysteresis})` +
          (!up && v.sorry ? ', sorry server in' : ''),
      );
      script(o, up ? v.quorumUp : v.quorumDown, e.type);
      continue;
    }
    const rs: RealServerConfig | undefined = v.realServers.find((r) => rsKey(r) === e.rs);
    const up = e.type === 'rs_up';
    o.log[up ? 'info' : 'warn'](
      { event: `lb.${e.type}`, vs: v.key, rs: e.rs },
      `${v.key}: real server ${e.rs} ${up ? 'up, in rotation' : 'down, out of rotation'}`,
    );
    script(o, up ? rs?.notifyUp : rs?.notifyDown, e.type);
  }
}

function script(o: EventDeps, s: NotifyScript | undefined, why: string): void {
  if (!s) return;
  const runner = o.runner ?? runScript;
  void runner({ argv: s.argv, timeoutUs: 30 * US_PER_S, clock: o.clock }).then((r) => {
    if (!r.ok)
      o.log.warn(
        { event: 'lb.notify_failed', code: 'LB_NOTIFY_FAILED', why, argv: s.argv.join(' ') },
        withCode('LB_NOTIFY_FAILED', `${why} script ${s.argv[0] ?? ''}: ${r.detail}`),
      );
  });
}
