/**
 * The imperative shell around one floating IP: reads the secret, builds the driver, runs the
 * reconciler's calls one at a time and its timer on the daemon's clock, and keeps the status
 * the API shows. The secret is read from a file or the environment at each new failover (so a
 * rotated token is picked up without a reload) and never reaches a log line or the status.
 */
import { withCode } from '../errors.js';
import { readFileSync } from 'node:fs';
import { warnIfWorldReadable } from '../util/secret-file.js';
import { registerSecret } from '../util/redact.js';
import type { Logger } from '../util/log.js';
import { US_PER_S, type Clock, type TimerHandle } from '../util/clock.js';
import type { FloatingIpConfig } from '../config/model.js';
import type { FloatingIpStatus } from '../model/status-types.js';
import { CloudError, type CloudProvider, type ProviderFactory } from './types.js';
import {
  DEFAULT_RECONCILER,
  Reconciler,
  type CallError,
  type Desire,
  type ReconcilerAction,
  type ReconcilerSettings,
} from './reconciler.js';

export interface AssignPermit {
  ok: boolean;
  epoch?: number | string;
  reason?: string;
}

/** Providers whose SDK has its own credential chain (instance roles): a token is optional. */
const TOKEN_OPTIONAL = new Set(['aws', 'gcp']);

export interface RunnerDeps {
  log: Logger;
  clock: Clock;
  factories: Record<string, ProviderFactory>;
  /** Environment for token_env (defaults to process.env). */
  env?: NodeJS.ProcessEnv;
  /** Seeded randomness for tests. */
  random?: () => number;
  /**
   * The quorum's fencing check, asked right before every assign request (helper "quorum";
   * /work/coord/notes/cloud-api.md): `ok` false stops the assign (phase fenced, no retry storm);
   * the epoch of an allowed assign is shown in the status and logged. Default: always ok.
   */
  mayAssign?: (floatingIp: string) => AssignPermit;
  /** Contested / no longer contested (webhooks): the address, and the reason or undefined. */
  onContest?: (name: string, reason: string | undefined) => void;
}

/** Reconciler settings from the floating_ip block's options (validated by the config parser): seconds → µs. */
export function reconcilerSettings(cfg: FloatingIpConfig): ReconcilerSettings {
  const num = (k: string, scale: number, d: number): number => {
    const v = cfg.options[k];
    return v === undefined ? d : Math.round(Number(v) * scale);
  };
  return {
    reconcileUs: num('reconcile_interval', 1e6, DEFAULT_RECONCILER.reconcileUs),
    maxAttempts: num('max_calls', 1, DEFAULT_RECONCILER.maxAttempts),
    budgetUs: num('retry_budget', 1e6, DEFAULT_RECONCILER.budgetUs),
    backoffBaseUs: num('backoff_base', 1e6, DEFAULT_RECONCILER.backoffBaseUs),
    backoffMaxUs: num('backoff_max', 1e6, DEFAULT_RECONCILER.backoffMaxUs),
    errorRetryUs: num('error_retry', 1e6, DEFAULT_RECONCILER.errorRetryUs),
    peers: cfg.peers ?? [],
    // An assign a peer issued may land this late: its action's limit plus one request timeout.
    claimWindowUs: num('action_timeout', 1e6, 60_000_000) + num('timeout', 1e6, 10_000_000),
    ...(cfg.options.contest_timeout !== undefined ? { contestTimeoutUs: num('contest_timeout', 1e6, 0) } : {}),
  };
}

export class FloatingIpRunner {
  private readonly rec: Reconciler;
  private readonly log: Logger;
  private timer: TimerHandle | undefined;
  private readonly abort = new AbortController();
  private provider: CloudProvider | undefined;
  private providerToken: string | undefined;
  private lastChange: string | undefined;
  /** The token last checked for its file's mode (and registered for redaction). */
  private checkedToken: string | undefined;
  private stopped = false;
  /** HTTP requests (not reconciler steps), failed ones, and the last one's duration. */
  private http = { requests: 0, errors: 0, lastMs: undefined as number | undefined };
  /** The fencing token of the last assign the quorum allowed. */
  private epoch: number | string | undefined;
  readonly needsLocalAddress: boolean;

  constructor(
    readonly cfg: FloatingIpConfig,
    private readonly deps: RunnerDeps,
  ) {
    this.log = deps.log.child({ floating_ip: cfg.name });
    // Built once with a placeholder secret just to learn static traits; rebuilt with the token.
    const probe = this.build('');
    this.needsLocalAddress = probe?.needsLocalAddress ?? false;
    const settings = reconcilerSettings(cfg);
    // A provider that shows pending actions leaves only an assign still in transit to land late.
    if (probe?.reportsPending) settings.claimWindowUs = Math.round(Number(cfg.options.timeout ?? '10') * 1e6);
    this.rec = new Reconciler(settings, deps.random, cfg.instanceId);
  }

  /** The wish from VRRP: hold while any instance using this address is MASTER. */
  setDesire(want: Desire, reason: string): void {
    if (this.stopped) return;
    this.lastChange = new Date(this.deps.clock.wallMs()).toISOString();
    this.apply(this.rec.step(this.deps.clock.nowUs(), { type: 'desire', want, reason }));
  }

  /** A reload: the previous runner of the same address hands over what it knew about claims. */
  inheritFrom(prev: FloatingIpRunner): void {
    if (prev.cfg.provider !== this.cfg.provider || prev.cfg.address !== this.cfg.address) return;
    this.rec.inheritFrom(prev.rec);
  }

  /** The fencing check may answer differently now (quorum acquired): a fenced address is looked at again at once. */
  permitChanged(): void {
    if (this.rec.view().phase === 'fenced') this.feed({ type: 'timer' });
  }

  /** A valid VRRP advert from a peer of an instance that uses this address. */
  heard(): void {
    this.feed({ type: 'heard' });
  }

  status(): FloatingIpStatus {
    const v = this.rec.view();
    const s: FloatingIpStatus = {
      name: this.cfg.name,
      provider: this.cfg.provider,
      address: this.cfg.address,
      desired: v.desired,
      phase: v.phase,
      calls: this.http.requests,
      steps: v.calls,
      callsThisFailover: v.callsThisFailover,
      errors: this.http.errors,
    };
    if (this.http.lastMs !== undefined) s.lastLatencyMs = this.http.lastMs;
    if (v.contested !== undefined) s.contested = v.contested;
    if (this.epoch !== undefined) s.epoch = String(this.epoch);
    if (v.busyWaits !== undefined) s.busyWaits = v.busyWaits;
    if (v.lastFailoverCalls !== undefined) s.lastFailoverCalls = v.lastFailoverCalls;
    if (v.self !== undefined) s.self = v.self;
    if (v.holder !== undefined) s.holder = v.holder ?? '';
    if (v.lastResult !== undefined) s.lastResult = v.lastResult;
    if (v.lastError !== undefined) s.lastError = v.lastError;
    const code = v.contested !== undefined ? 'CLOUD_CONTESTED' : v.lastErrorCode;
    if (code !== undefined) s.errorCode = code;
    if (this.lastChange !== undefined) s.lastChange = this.lastChange;
    if (v.lastConvergeUs !== undefined) s.lastConvergeMs = Math.round(v.lastConvergeUs / 1000);
    return s;
  }

  stop(): void {
    this.stopped = true;
    this.abort.abort();
    if (this.timer) this.deps.clock.cancel(this.timer);
    this.timer = undefined;
  }

  private apply(actions: ReconcilerAction[]): void {
    for (const a of actions) {
      switch (a.type) {
        case 'log':
          this.log[a.level](
            {
              event: a.event,
              provider: this.cfg.provider,
              address: this.cfg.address,
              ...(a.code ? { code: a.code } : {}),
            },
            a.code ? withCode(a.code, a.msg) : a.msg,
          );
          if (a.event === 'cloud.contested') this.deps.onContest?.(this.cfg.name, this.rec.view().contested);
          if (a.event === 'cloud.contest_ended') this.deps.onContest?.(this.cfg.name, undefined);
          break;
        case 'clearTimer':
          if (this.timer) this.deps.clock.cancel(this.timer);
          this.timer = undefined;
          break;
        case 'setTimer':
          if (this.timer) this.deps.clock.cancel(this.timer);
          this.timer = this.deps.clock.at(a.at, () => {
            this.timer = undefined;
            this.feed({ type: 'timer' });
          });
          break;
        case 'call':
          void this.call(a.op, a.gen, a.self);
          break;
      }
    }
  }

  private feed(ev: Parameters<Reconciler['step']>[1]): void {
    if (this.stopped) return;
    this.apply(this.rec.step(this.deps.clock.nowUs(), ev));
  }

  private async call(op: 'whoami' | 'holder' | 'assign', gen: number, self?: string): Promise<void> {
    try {
      const p = this.current();
      let value: string | null | undefined;
      if (op === 'whoami') value = await p.whoAmI();
      else if (op === 'holder') value = await p.holder();
      else {
        const permit = this.deps.mayAssign?.(this.cfg.name) ?? { ok: true };
        if (!permit.ok)
          throw new CloudError(
            'fenced',
            `fencing check refused the assign${permit.reason ? `: ${permit.reason}` : ''}`,
          );
        if (permit.epoch !== undefined) {
          this.epoch = permit.epoch;
          this.log.info(
            { event: 'cloud.assign', epoch: String(permit.epoch) },
            `assigning ${this.cfg.address} to ${self ?? '?'} under epoch ${String(permit.epoch)}`,
          );
        }
        await p.assign(self ?? '');
      }
      this.feed({ type: 'result', gen, op, ok: true, value });
    } catch (e) {
      this.feed({ type: 'result', gen, op, ok: false, error: toCallError(e) });
    }
  }

  /** The driver for the current secret; rebuilt when the secret changed (rotation). */
  private current(): CloudProvider {
    const token = this.readToken();
    if (!this.provider || token !== this.providerToken) {
      const p = this.build(token);
      if (!p) throw new CloudError('invalid', `provider "${this.cfg.provider}" is not available in this build`);
      this.provider = p;
      this.providerToken = token;
    }
    return this.provider;
  }

  private build(token: string): CloudProvider | undefined {
    const f = this.deps.factories[this.cfg.provider];
    if (!f) return undefined;
    const timeoutS = Number(this.cfg.options.timeout ?? '10');
    return f({
      address: this.cfg.address,
      token,
      ...(this.cfg.apiUrl !== undefined ? { apiUrl: this.cfg.apiUrl } : {}),
      ...(this.cfg.metadataUrl !== undefined ? { metadataUrl: this.cfg.metadataUrl } : {}),
      ...(this.cfg.instanceId !== undefined ? { instanceId: this.cfg.instanceId } : {}),
      timeoutUs: Math.round(timeoutS * US_PER_S),
      options: this.cfg.options,
      signal: this.abort.signal,
      // Request timeouts and retry sleeps on the daemon's clock (the one-clock rule).
      clock: this.deps.clock,
      onCall: (c) => {
        this.http.requests += 1;
        if (typeof c.status !== 'number' || c.status >= 400) this.http.errors += 1;
        this.http.lastMs = c.ms;
        this.log.debug(
          { event: 'cloud.call', method: c.method, path: c.path, status: c.status, ms: c.ms },
          `${c.method} ${c.path} → ${c.status} in ${c.ms} ms`,
        );
      },
    });
  }

  private readToken(): string {
    const { tokenFile, tokenEnv } = this.cfg;
    if (tokenFile) {
      try {
        const token = readFileSync(tokenFile, 'utf8').trim();
        // Warned once per token (it is re-read at every failover); registered for redaction.
        if (token !== this.checkedToken) {
          this.checkedToken = token;
          warnIfWorldReadable(tokenFile, this.log, `${this.cfg.provider} token (floating_ip ${this.cfg.name})`, token);
        }
        return token;
      } catch (e) {
        throw new CloudError(
          'auth',
          `cannot read token_file ${tokenFile}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
        );
      }
    }
    if (tokenEnv) {
      const v = (this.deps.env ?? process.env)[tokenEnv];
      if (v) {
        registerSecret(v.trim());
        return v.trim();
      }
      throw new CloudError('auth', `token_env ${tokenEnv} is not set in floatd's environment`);
    }
    if (TOKEN_OPTIONAL.has(this.cfg.provider)) return '';
    throw new CloudError('auth', 'no credentials: set token_file PATH or token_env VAR in the floating_ip block');
  }
}

function toCallError(e: unknown): CallError {
  if (e instanceof CloudError) {
    const c: CallError = { kind: e.kind, message: e.message };
    if (e.retryAfterUs !== undefined) c.retryAfterUs = e.retryAfterUs;
    return c;
  }
  // A driver bug must not stop the daemon; treat it like a server error and keep the message.
  return { kind: 'server', message: e instanceof Error ? e.message : String(e) };
}
