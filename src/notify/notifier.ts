/**
 * Notifications for instance and sync-group state changes, in keepalived's order: the state's
 * own script (notify_master/backup/fault/stop/deleted, its own args), then the generic `notify`
 * with `INSTANCE|GROUP name STATE priority` appended, then the FIFO line, then webhooks.
 *
 * Where keepalived forks and forgets (scripts can overlap and finish out of order, #1055 #996),
 * floatd keeps one queue per instance/group: its scripts run one at a time, in event order,
 * each with a timeout (notify_stop and the STOP generic notify get 1 s, as keepalived kills
 * them). The FIFO line is written as soon as the event is raised, in event order, so a slow
 * notify_master (a cloud API call) never delays FIFO readers. Webhooks have their own
 * per-instance queue with retries, so they keep event order without holding up scripts.
 */
import { hostname } from 'node:os';
import { afterUs, realClock, US_PER_S, type Clock, type TimerHandle } from '../util/clock.js';
import type { ScriptRunner } from '../util/run-script.js';
import { fifoLine, NotifyFifo } from './fifo.js';
import { deliver, safeUrl, type WebhookPoster } from './webhook.js';
import { ScriptQueue, type ScriptJob } from './script-queue.js';
import { identity, runNotifyScript } from './run-notify-script.js';
import {
  scriptFor,
  type NotifierConfig,
  type NotifyEvent,
  type NotifyLog,
  type NotifyScript,
  type NotifyState,
} from './types.js';

export type { NotifierConfig, NotifyEvent, NotifyLog, NotifyScript, NotifyState, NotifyTargets } from './types.js';

export interface NotifierOptions {
  clock?: Clock;
  log?: NotifyLog;
  runner?: ScriptRunner;
  post?: WebhookPoster;
  /** Wall clock for the webhook `time` field. */
  wallMs?: () => number;
  /**
   * After a reload: what the previous notifier handed over (its handOver()). An instance that
   * comes back in the state last announced (a kept MASTER: INIT → MASTER "was MASTER before
   * reload") does not run its scripts, webhooks or FIFO line again; scripts still running
   * go on, and this notifier's events queue behind them (and supersede them) as before.
   */
  previous?: NotifierHandOver;
}

export interface NotifierHandOver {
  states: ReadonlyMap<string, NotifyState>;
  queues?: ReadonlyMap<string, ScriptQueue>;
}

/** A notify script's default limit (notify_script_timeout's default). */
const SCRIPT_TIMEOUT_US = 30 * US_PER_S;

const silent: NotifyLog = { info: () => undefined, warn: () => undefined };

export class Notifier {
  /** Script runs and failed runs, webhook deliveries and final failures. */
  runs = 0;
  failures = 0;
  webhooksSent = 0;
  webhooksFailed = 0;
  private readonly scriptQueues = new Map<string, ScriptQueue>();
  private readonly announced = new Map<string, NotifyState>();
  private readonly previous: Map<string, NotifyState>;
  private readonly hookQueues = new Map<string, Promise<void>>();
  private readonly fifos: NotifyFifo[] = [];
  private readonly clock: Clock;
  private readonly log: NotifyLog;
  private readonly abort = new AbortController();

  constructor(
    private readonly cfg: NotifierConfig,
    private readonly o: NotifierOptions = {},
  ) {
    this.clock = o.clock ?? realClock;
    this.log = o.log ?? silent;
    this.previous = new Map(o.previous?.states ?? []);
    for (const [k, q] of o.previous?.queues ?? []) this.scriptQueues.set(k, q);
  }

  /** The last state announced per `KIND:name`. */
  lastStates(): Map<string, NotifyState> {
    return new Map([...this.previous, ...this.announced]);
  }

  /**
   * Reload without waiting: the last announced states and the script queues (running scripts
   * go on) pass to the next Notifier (`previous`); this one closes its FIFOs and takes no more
   * events. Webhook deliveries in flight finish on their own.
   */
  handOver(): NotifierHandOver {
    const h: NotifierHandOver = { states: this.lastStates(), queues: new Map(this.scriptQueues) };
    this.scriptQueues.clear();
    for (const f of this.fifos) f.close();
    this.fifos.length = 0;
    return h;
  }

  /** Creates and opens the FIFOs and starts their scripts. Throws a plain message on a bad path. */
  open(): void {
    for (const f of this.cfg.fifos ?? []) {
      const id = f.script ? identity(f.script, this.cfg.scriptUser) : undefined;
      const fifo = new NotifyFifo({
        path: f.path,
        ...(f.script && typeof id !== 'string' ? { script: { argv: f.script.argv, ...(id ? { id } : {}) } } : {}),
        onWarn: (msg) => this.log.warn({ event: 'notify.fifo' }, msg),
      });
      fifo.open();
      this.fifos.push(fifo);
    }
  }

  /** Raises one state change. Resolves when this event's scripts have finished. */
  notify(ev: NotifyEvent): Promise<void> {
    const targets = (ev.kind === 'GROUP' ? this.cfg.groups : this.cfg.instances)?.[ev.name] ?? {};
    // keepalived reports a deleted instance as FAULT unless notify_deleted is configured.
    const state: NotifyState = ev.to === 'DELETED' && !targets.deleted && !targets.notifyDeleted ? 'FAULT' : ev.to;
    const prio = ev.kind === 'GROUP' ? 0 : ev.priority;
    const key = `${ev.kind}:${ev.name}`;
    const before = this.previous.get(key);
    this.previous.delete(key);
    if (ev.from === 'INIT' && before === state) {
      // A reload kept this state (keepalived's reload_master): nothing changed for the scripts.
      this.announced.set(key, state);
      this.log.info(
        {
          event: 'notify.unchanged',
          instance: ev.kind === 'INSTANCE' ? ev.name : undefined,
          group: ev.kind === 'GROUP' ? ev.name : undefined,
          state,
        },
        `(${ev.name}) still ${state} after the reload: notify scripts not run again`,
      );
      return Promise.resolve();
    }
    this.announced.set(key, state);
    this.writeFifo(fifoLine(ev.kind, ev.name, state, prio));
    const jobs: Array<{ script: NotifyScript; argv: string[] }> = [];
    const specific = scriptFor(targets, state);
    if (specific) jobs.push({ script: specific, argv: specific.argv });
    if (targets.generic)
      jobs.push({ script: targets.generic, argv: [...targets.generic.argv, ev.kind, ev.name, state, String(prio)] });
    const timeoutUs =
      state === 'STOP' ? (this.cfg.stopTimeoutUs ?? US_PER_S) : (this.cfg.scriptTimeoutUs ?? SCRIPT_TIMEOUT_US);
    const done = this.queue(key).push(
      state,
      jobs.map(
        (j): ScriptJob =>
          (signal) =>
            this.runScript(ev, state, j.script, j.argv, timeoutUs, signal),
      ),
    );
    if (this.cfg.webhooks?.length) this.enqueue(this.hookQueues, key, () => this.sendWebhooks(ev, state));
    return done;
  }

  /**
   * Events that are not state changes: MASTER_RX_LOWER_PRI runs notify_master_rx_lower_pri and
   * writes the FIFO line; MASTER_PRIORITY / BACKUP_PRIORITY (notify_priority_changes) only the line.
   */
  event(
    name: string,
    state: 'MASTER_RX_LOWER_PRI' | 'MASTER_PRIORITY' | 'BACKUP_PRIORITY',
    priority: number,
  ): Promise<void> {
    this.writeFifo(fifoLine('INSTANCE', name, state, priority));
    const script = state === 'MASTER_RX_LOWER_PRI' ? this.cfg.instances?.[name]?.masterRxLowerPri : undefined;
    if (!script) return Promise.resolve();
    const ev: NotifyEvent = {
      kind: 'INSTANCE',
      name,
      from: 'MASTER',
      to: 'MASTER',
      priority,
      reason: 'received an advert with lower priority',
    };
    return this.queue(`INSTANCE:${name}`).push(
      state,
      [
        (signal) =>
          this.runScript(ev, state, script, script.argv, this.cfg.scriptTimeoutUs ?? SCRIPT_TIMEOUT_US, signal),
      ],
      false,
    );
  }

  private queue(key: string): ScriptQueue {
    let q = this.scriptQueues.get(key);
    if (!q) {
      const [kind, ...rest] = key.split(':');
      const name = rest.join(':');
      const who = kind === 'GROUP' ? { group: name } : { instance: name };
      q = new ScriptQueue(this.clock, this.cfg.supersedeUs ?? US_PER_S, {
        skipped: (item, by) =>
          this.log.warn(
            { event: 'notify.skipped', ...who, state: item.label, by },
            `notify ${item.label} scripts for ${name} skipped: superseded by ${by} before they could start`,
          ),
        cut: (item, remaining, why) =>
          this.log.warn(
            { event: 'notify.skipped', ...who, state: item.label, remaining, why },
            `notify ${item.label}: ${remaining} script(s) for ${name} not run (${why})`,
          ),
      });
      this.scriptQueues.set(key, q);
    }
    return q;
  }

  /** Waits until every queued script and webhook has finished, or until `timeoutUs` has passed. */
  async drain(timeoutUs?: number): Promise<void> {
    const all = Promise.all([
      ...[...this.scriptQueues.values()].map((q) => q.idle()),
      ...this.hookQueues.values(),
    ]).then(() => undefined);
    if (timeoutUs === undefined) {
      await all;
      return;
    }
    let t: TimerHandle | undefined;
    await Promise.race([
      all,
      new Promise<void>((r) => {
        t = afterUs(this.clock, timeoutUs, r, { weak: true });
      }),
    ]);
    if (t) this.clock.cancel(t);
  }

  /**
   * Shutdown or reload: lets queued work finish (bounded), then kills what still runs (logged
   * as `killed: <why>`, not as a timeout), stops webhook retries, closes FIFOs.
   */
  async close(timeoutUs = 5 * US_PER_S, why = 'floatd is stopping'): Promise<void> {
    await this.drain(timeoutUs);
    // Killed scripts log their end when they exit (SIGKILL within the kill grace); not awaited.
    for (const q of this.scriptQueues.values()) q.close(why);
    this.abort.abort(why);
    for (const f of this.fifos) f.close();
    this.fifos.length = 0;
  }

  get fifoDropped(): number {
    return this.fifos.reduce((n, f) => n + f.dropped, 0);
  }

  private writeFifo(line: string): void {
    for (const f of this.fifos) f.write(line);
  }

  private enqueue(queues: Map<string, Promise<void>>, key: string, job: () => Promise<void>): Promise<void> {
    const prev = queues.get(key) ?? Promise.resolve();
    const next = prev.then(job).catch((e: unknown) => {
      this.log.warn({ event: 'notify.error', target: key }, `notify for ${key} failed: ${String(e)}`);
    });
    queues.set(key, next);
    void next.then(() => {
      if (queues.get(key) === next) queues.delete(key);
    });
    return next;
  }

  private runScript(
    ev: NotifyEvent,
    state: string,
    s: NotifyScript,
    argv: string[],
    timeoutUs: number,
    signal: AbortSignal,
  ): Promise<void> {
    this.runs++;
    return runNotifyScript(
      { ev, state, script: s, argv, timeoutUs, signal },
      {
        clock: this.clock,
        log: this.log,
        ...(this.cfg.scriptUser ? { scriptUser: this.cfg.scriptUser } : {}),
        ...(this.cfg.scriptSecurity ? { scriptSecurity: true } : {}),
        ...(this.o.runner ? { runner: this.o.runner } : {}),
      },
    ).then((ok) => {
      if (!ok) this.failures++;
    });
  }

  private async sendWebhooks(ev: NotifyEvent, state: NotifyState): Promise<void> {
    const body = JSON.stringify({
      kind: ev.kind,
      instance: ev.kind === 'INSTANCE' ? ev.name : undefined,
      group: ev.kind === 'GROUP' ? ev.name : ev.group,
      from: ev.from,
      to: state,
      reason: ev.reason,
      priority: ev.basePriority ?? ev.priority,
      effectivePriority: ev.priority,
      ...(ev.epoch !== undefined ? { epoch: ev.epoch } : {}),
      host: this.cfg.host ?? hostname(),
      time: this.wallIso(),
    });
    const wanted = (only: string[]): boolean =>
      only.includes(ev.name) || (ev.group !== undefined && only.includes(ev.group));
    await this.postAll(body, `${ev.name} ${state}`, wanted);
  }

  /** Wall time for event bodies, from the injected clock (or the test's wallMs). */
  private wallIso(): string {
    return new Date(this.o.wallMs ? this.o.wallMs() : this.clock.wallMs()).toISOString();
  }

  /**
   * A floating IP became contested (issue 13: a peer holds it and this MASTER does not fight)
   * or stopped being so: webhooks only, `{"kind":"FLOATING_IP","floatingIp",
   * "to":"CONTESTED"|"UNCONTESTED","reason",…}`, in order per address.
   */
  floatingIp(name: string, to: 'CONTESTED' | 'UNCONTESTED', reason: string): Promise<void> {
    if (!this.cfg.webhooks?.length) return Promise.resolve();
    const body = JSON.stringify({
      kind: 'FLOATING_IP',
      floatingIp: name,
      to,
      reason,
      host: this.cfg.host ?? hostname(),
      time: this.wallIso(),
    });
    return this.enqueue(this.hookQueues, `FLOATING_IP:${name}`, () =>
      this.postAll(body, `floating_ip ${name} ${to}`, (only) => only.includes(name)),
    );
  }

  private async postAll(body: string, what: string, wanted: (only: string[]) => boolean): Promise<void> {
    for (const hook of this.cfg.webhooks ?? []) {
      if (hook.only && !wanted(hook.only)) continue;
      const r = await deliver(hook, body, {
        clock: this.clock,
        signal: this.abort.signal,
        ...(this.o.post ? { post: this.o.post } : {}),
      });
      const fields = { event: 'notify.webhook', target: safeUrl(hook.url), attempts: r.attempts, result: r.detail };
      if (r.ok) {
        this.webhooksSent++;
        this.log.info(fields, `webhook ${safeUrl(hook.url)} delivered (${what})`);
      } else {
        this.webhooksFailed++;
        this.log.warn(fields, `webhook ${safeUrl(hook.url)} failed after ${r.attempts} attempt(s): ${r.detail}`);
      }
    }
  }
}
