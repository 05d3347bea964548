/**
 * The maintenance set, persisted: /var/lib/floatd/maintenance.json (or $FLOATD_STATE_DIR) holds
 * the instances an operator put in maintenance, so the hold survives a reload and a restart
 * (the runtime reads the set before its first election). Written aside and renamed; an
 * unreadable file is reported and treated as empty (a daemon must start).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { MaintenanceEntry } from '../model/verbs.js';

export const DEFAULT_STATE_DIR = '/var/lib/floatd';

interface FileShape {
  version: 1;
  instances: Record<string, MaintenanceEntry>;
}

export function maintenancePath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.FLOATD_STATE_DIR || DEFAULT_STATE_DIR, 'maintenance.json');
}

export class MaintenanceStore {
  private entries = new Map<string, MaintenanceEntry>();
  /** Set when the file existed but could not be read (said once, in the log). */
  readonly loadError?: string;

  constructor(readonly path: string) {
    try {
      const j = JSON.parse(readFileSync(path, 'utf8')) as Partial<FileShape>;
      for (const [k, v] of Object.entries(j.instances ?? {})) {
        if (v && typeof v.since === 'string')
          this.entries.set(k, { since: v.since, by: typeof v.by === 'string' ? v.by : '?' });
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
        this.loadError = `${path}: ${(e as Error).message}; no instance is in maintenance`;
    }
  }

  names(): ReadonlySet<string> {
    return new Set(this.entries.keys());
  }
  list(): Record<string, MaintenanceEntry> {
    return Object.fromEntries(this.entries);
  }
  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** Changes the set and writes it; returns false when nothing changed. Throws when it cannot write. */
  set(name: string, on: boolean, entry: MaintenanceEntry): boolean {
    if (on === this.entries.has(name)) return false;
    const before = new Map(this.entries);
    if (on) this.entries.set(name, entry);
    else this.entries.delete(name);
    try {
      this.save();
    } catch (e) {
      this.entries = before;
      throw e;
    }
    return true;
  }

  private save(): void {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o755 });
    const tmp = `${this.path}.${process.pid}.tmp`;
    const body: FileShape = { version: 1, instances: Object.fromEntries(this.entries) };
    writeFileSync(tmp, JSON.stringify(body, null, 2) + '\n', { mode: 0o644 });
    renameSync(tmp, this.path);
  }
}
