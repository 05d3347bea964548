/**
 * The operator verbs' shapes (switchover, maintenance), shared by the API that serves them and
 * cli/operator-verbs.ts that implements them. Types only.
 */
import type { DaemonStatus } from './status-types.js';
import type { ErrorCode } from '../errors.js';

/** One instance's persisted maintenance mark (cli/maintenance-store.ts keeps the set). */
export interface MaintenanceEntry {
  since: string;
  by: string;
}

export interface VerbResult {
  ok: boolean;
  message: string;
  /** The HTTP status the API answers with. */
  code: 200 | 404 | 409 | 500 | 501;
  /** The stable error code of a refusal (docs/errors.md). */
  error?: ErrorCode;
}

/** A runtime verb's answer; `code` is set on a refusal. */
export interface Verdict {
  ok: boolean;
  message: string;
  code?: ErrorCode;
}

/** What the verbs need from the runtime (RuntimeLike's optional members). */
export interface VerbRuntime {
  status(): DaemonStatus;
  handover?(instance: string, holdS: number): Verdict;
  switchover?(instance: string, holdS: number): Verdict;
  holdChanged?(instance: string, reason: string): Verdict;
}

export interface Verbs {
  switchover(instance: string | undefined, holdS: number): VerbResult;
  maintenance(instance: string | undefined, on: boolean, by: string): VerbResult;
  maintained(): Record<string, MaintenanceEntry>;
}
