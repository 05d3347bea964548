/**
 * A vrrp_script on its interval: the command as written (see src/util/run-script.ts), at most one run in
 * flight, a run past its timeout is killed (SIGTERM to its group, SIGKILL 2 s later) and counts
 * as a failure. With enable_script_security a root script that non-root users could modify is
 * refused on every run (a failure with the reason) instead of being silently dropped.
 */
import { realClock, type Clock } from '../util/clock.js';
import { PeriodicCheck, type Probe, type ProbeResult } from './periodic.js';
import { runScript, type RunResult, type ScriptRunner } from '../util/run-script.js';
import { runsAsRoot, scriptSecurityProblem } from './script-security.js';

export type ScriptResult = ProbeResult & Partial<Pick<RunResult, 'exitCode' | 'signal' | 'timedOut' | 'notRun'>>;

export interface ScriptCheckOptions {
  name: string;
  argv: string[];
  intervalUs: number;
  /** Default: intervalUs (keepalived). */
  timeoutUs?: number;
  uid?: number;
  gid?: number;
  /** enable_script_security */
  scriptSecurity?: boolean;
  clock?: Clock;
  runner?: ScriptRunner;
  onResult(r: ScriptResult): void;
  onSkip?(): void;
}

/** One run of a script with the security gate; usable for notify scripts too. */
export function scriptProbe(
  o: Pick<
    ScriptCheckOptions,
    'argv' | 'timeoutUs' | 'intervalUs' | 'uid' | 'gid' | 'scriptSecurity' | 'clock' | 'runner'
  > & { env?: NodeJS.ProcessEnv },
): (signal: AbortSignal) => Promise<ScriptResult> {
  const runner = o.runner ?? runScript;
  return async (signal) => {
    if (o.scriptSecurity && runsAsRoot(o.uid, o.gid)) {
      const problem = scriptSecurityProblem(o.argv);
      if (problem) return { ok: false, detail: `refused: ${problem}`, durationMs: 0, notRun: true };
    }
    return runner({
      argv: o.argv,
      timeoutUs: o.timeoutUs ?? o.intervalUs,
      signal,
      ...(o.uid !== undefined ? { uid: o.uid } : {}),
      ...(o.gid !== undefined ? { gid: o.gid } : {}),
      ...(o.clock ? { clock: o.clock } : {}),
      ...(o.env ? { env: o.env } : {}),
    });
  };
}

export class ScriptCheck {
  private readonly p: PeriodicCheck;

  constructor(o: ScriptCheckOptions) {
    const probe: Probe = scriptProbe(o);
    this.p = new PeriodicCheck({
      intervalUs: o.intervalUs,
      clock: o.clock ?? realClock,
      probe,
      onResult: (r) => o.onResult(r),
      ...(o.onSkip ? { onSkip: o.onSkip } : {}),
    });
  }

  get running(): boolean {
    return this.p.running;
  }
  get skipped(): number {
    return this.p.skipped;
  }
  start(): void {
    this.p.start();
  }
  stop(): Promise<void> {
    return this.p.stop();
  }
}
