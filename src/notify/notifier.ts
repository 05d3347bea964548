/**
 * Notify scripts in keepalived's order (digest §4.2): the state's own script, then the generic
 * `notify` with `INSTANCE|GROUP name STATE priority` appended. Unlike keepalived (fire and
 * forget), one queue per instance runs them one at a time, in order, each with a timeout.
 */
import { runOnce } from '../track/script-check.js';

export interface NotifyScript { argv: string[]; uid?: number; gid?: number }

export interface NotifyRequest {
  kind: 'INSTANCE' | 'GROUP';
  name: string;
  state: 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP';
  priority: number;
  specific?: NotifyScript;
  generic?: NotifyScript;
  timeoutMs: number;
}

export interface NotifyOutcome { script: string[]; ok: boolean; detail: string }

export class Notifier {
  private readonly queues = new Map<string, Promise<void>>();
  runs = 0;
  failures = 0;

  constructor(private readonly onOutcome: (req: NotifyRequest, out: NotifyOutcome) => void) {}

  notify(req: NotifyRequest): Promise<void> {
    const key = `${req.kind}:${req.name}`;
    const prev = this.queues.get(key) ?? Promise.resolve();
    const next = prev.then(async () => {
      const jobs: string[][] = [];
      if (req.specific) jobs.push(req.specific.argv);
      if (req.generic) jobs.push([...req.generic.argv, req.kind, req.name, req.state, String(req.priority)]);
      for (const argv of jobs) {
        const s = argv === req.specific?.argv ? req.specific : req.generic;
        const r = await runOnce({ argv, timeoutMs: req.timeoutMs, uid: s?.uid, gid: s?.gid });
        this.runs++;
        if (!r.ok) this.failures++;
        this.onOutcome(req, { script: argv, ok: r.ok, detail: r.detail });
      }
    });
    this.queues.set(key, next);
    return next;
  }

  /** Waits for every queued notify (shutdown). */
  async drain(): Promise<void> {
    await Promise.all(this.queues.values());
  }
}
