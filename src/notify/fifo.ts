/**
 * notify_fifo / vrrp_notify_fifo: keepalived's line protocol on a named pipe. The FIFO is created
 * with mode 0644 if missing (and removed at close only if we created it), opened read-write and
 * non-blocking so writing never waits for a reader, and an optional fifo script is started once
 * with the FIFO's path as its last argument. A full pipe drops the line (counted), never blocks.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, constants, lstatSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { resolveCommand } from '../util/run-script.js';
import type { ScriptIdentity } from '../track/types.js';

export type FifoState =
  'MASTER' | 'BACKUP' | 'FAULT' | 'STOP' | 'DELETED' | 'MASTER_RX_LOWER_PRI' | 'MASTER_PRIORITY' | 'BACKUP_PRIORITY';

/** keepalived's exact line: `INSTANCE "VI_1" MASTER 200\n`; groups always report priority 0. */
export function fifoLine(kind: 'INSTANCE' | 'GROUP', name: string, state: FifoState, priority: number): string {
  return `${kind} "${name}" ${state} ${kind === 'GROUP' ? 0 : priority}\n`;
}

export interface FifoOptions {
  path: string;
  /** Started once with the FIFO path appended; stopped (SIGTERM to its group) at close. */
  script?: { argv: string[]; id?: ScriptIdentity };
  onWarn?(msg: string): void;
}

export class NotifyFifo {
  private fd: number | undefined;
  private created = false;
  private child: ChildProcess | undefined;
  dropped = 0;
  written = 0;

  constructor(private readonly o: FifoOptions) {}

  /** Creates/opens the FIFO and starts its script; throws a plain message on a user mistake. */
  open(): void {
    let st;
    try {
      st = lstatSync(this.o.path);
    } catch {
      st = undefined;
    }
    if (st && !st.isFIFO()) throw new Error(`notify_fifo ${this.o.path} exists and is not a FIFO`);
    if (!st) {
      const r = spawnSync('mkfifo', ['-m', '0644', this.o.path], { encoding: 'utf8' });
      if (r.status !== 0)
        throw new Error(
          `cannot create notify_fifo ${this.o.path}: ${(r.stderr || r.error?.message || 'mkfifo failed').trim()}`,
        );
      this.created = true;
    }
    this.fd = openSync(this.o.path, constants.O_RDWR | constants.O_NONBLOCK);
    if (this.o.script) this.startScript(this.o.script);
  }

  private startScript(s: { argv: string[]; id?: ScriptIdentity }): void {
    const r = resolveCommand([...s.argv, this.o.path]);
    if (!r.ok) {
      this.o.onWarn?.(`notify_fifo_script not started: ${r.error}`);
      return;
    }
    const child = spawn(r.file, r.args, {
      argv0: r.argv0,
      stdio: 'ignore',
      detached: true,
      ...(s.id ? { uid: s.id.uid, gid: s.id.gid } : {}),
    });
    child.on('error', (e) => this.o.onWarn?.(`notify_fifo_script ${s.argv[0] ?? ''} failed to start: ${e.message}`));
    child.on('exit', (code, sig) => {
      if (this.child === child)
        this.o.onWarn?.(`notify_fifo_script ${s.argv[0] ?? ''} exited (${sig ?? `status ${code}`})`);
      this.child = undefined;
    });
    this.child = child;
  }

  /** Writes one line (lines under PIPE_BUF are atomic); false when dropped. */
  write(line: string): boolean {
    if (this.fd === undefined) return false;
    try {
      writeSync(this.fd, line);
      this.written++;
      return true;
    } catch (e) {
      this.dropped++;
      this.o.onWarn?.(`notify_fifo ${this.o.path}: line dropped (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
      return false;
    }
  }

  close(): void {
    const c = this.child;
    this.child = undefined;
    if (c?.pid) {
      try {
        process.kill(-c.pid, 'SIGTERM');
      } catch {
        /* gone */
      }
    }
    if (this.fd !== undefined) {
      try {
        closeSync(this.fd);
      } catch {
        /* closed */
      }
    }
    this.fd = undefined;
    if (this.created) {
      try {
        unlinkSync(this.o.path);
      } catch {
        /* gone */
      }
    }
    this.created = false;
  }
}
