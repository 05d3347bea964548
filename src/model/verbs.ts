/**
 * The operator verbs' shapes (switchover, maintenance), shared by the API that serves them and
 * cli/operator-verbs.ts that implements them. Types only.
 */
import type { DaemonStatus } from './status-types.js';

/** One instance's persisted maintenance mark (cli/maintenance-store.ts keeps the set). */
export interface MaintenanceEntry {
  since: string;
  by: string;
}

export interface VerbResult {
  ok: boolean;
  message: string;
  code: 200 | 404 | 409 | 500 | 501;
}

/** What the verbs need from the runtime (RuntimeLike's optional members). */
export interface VerbRuntime {
  status(): DaemonStatus;
  handover?(instance: string, holdS: number): { ok: boolean; message: string };
  switchover?(instance: string, holdS: number): { ok: boolean; message: string };
  holdChanged?(instance: string, reason: string): { ok: boolean; message: string };
}

export interface Verbs {
  switchover(instance: string | undefined, holdS: number): VerbResult;
  maintenance(instance: string | undefined, on: boolean, by: string): VerbResult;
  maintained(): Record<string, MaintenanceEntry>;
}
