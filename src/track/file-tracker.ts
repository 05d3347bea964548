/**
 * track_file: an integer in a file, re-read when the file changes. The directory is watched
 * (so create, replace-by-rename and delete are all seen) and the file is also re-read every
 * pollUs (µs) as a safety net for filesystems without change events. A missing or empty file reads
 * as 0, like keepalived; unparsable numbers are ignored (the previous value stays).
 */
import { watch, type FSWatcher } from 'node:fs';
import { open, writeFile, access } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { afterUs, realClock, US_PER_MS, US_PER_S, type Clock, type TimerHandle } from '../util/clock.js';

const INT32_MIN = -(2 ** 31);
/** The safety-net re-read period without a `pollUs`. */
const DEFAULT_POLL_US = 2 * US_PER_S;
const INT32_MAX = 2 ** 31 - 1;

/**
 * C strtol(text, NULL, 0): leading blanks, optional sign, 0x hex / leading-0 octal / decimal,
 * stops at the first non-digit; no digits gives 0. Out of 32-bit range (keepalived's check)
 * gives undefined: the value is ignored.
 */
export function parseTrackFileValue(text: string): number | undefined {
  const m = /^[ \t\n\v\f\r]*([+-]?)(0[xX](?=[0-9a-fA-F])[0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)?/.exec(text);
  const digits = m?.[2];
  if (!digits) return 0;
  const n =
    digits.length > 1 && /^0[xX]/.test(digits)
      ? BigInt(digits)
      : digits.length > 1 && digits.startsWith('0')
        ? BigInt(`0o${digits.slice(1)}`)
        : BigInt(digits);
  const v = m?.[1] === '-' ? -n : n;
  if (v < BigInt(INT32_MIN) || v > BigInt(INT32_MAX) + 1n) return undefined;
  return Number(v);
}

export interface FileTrackerOptions {
  path: string;
  clock?: Clock;
  pollUs?: number;
  initFile?: { value: number; overwrite: boolean };
  /** Called when the value changes (not for the initial read, see `value`). */
  onValue(value: number, detail: string): void;
  onWarn?(msg: string): void;
  /** Test hook: the file's text (undefined = missing); when set (and no `watch`), nothing is watched, only polled. */
  read?: (path: string) => Promise<string | undefined>;
  /** Test hook: watches a directory, calling back with the changed entry's name (default: fs.watch). */
  watch?: DirWatch;
}

/** Watches `dir`; `onEvent` gets the name of the entry that changed (null: unknown). */
export type DirWatch = (dir: string, onEvent: (name: string | null) => void) => { close(): void };

/** fs.watch on the directory; a watcher that errors is closed (the poll goes on). */
const fsWatch: DirWatch = (dir, onEvent) => {
  const w: FSWatcher = watch(dir, { persistent: false }, (_ev, name) => onEvent(name));
  w.on('error', () => w.close());
  return w;
};

export class FileTracker {
  value = 0;
  private watcher: { close(): void } | undefined;
  private timer: TimerHandle | undefined;
  private reading = false;
  private again = false;
  private stopped = true;
  private readonly clock: Clock;

  constructor(private readonly o: FileTrackerOptions) {
    this.clock = o.clock ?? realClock;
  }

  /**
   * Writes init_file if asked, watches, then reads the current value. Watching first: a write
   * landing between the first read and the watch would otherwise go unseen until the next poll
   * (a FILE_CHECK written while a reload starts it once kept a server in rotation ~2 s).
   */
  async start(): Promise<void> {
    this.stopped = false;
    if (this.o.initFile) await this.writeInit(this.o.initFile);
    // A change reported during the first read is one more read after it (refresh() sees `reading`).
    this.reading = true;
    this.watchDir();
    const v = await this.read();
    this.reading = false;
    if (v !== undefined) this.value = v;
    if (this.stopped) return;
    this.arm();
    if (this.again) {
      this.again = false;
      this.refresh();
    }
  }

  private watchDir(): void {
    const watchFn = this.o.watch ?? (this.o.read ? undefined : fsWatch);
    if (!watchFn) return;
    const base = basename(this.o.path);
    try {
      this.watcher = watchFn(dirname(this.o.path), (name) => {
        if (name === null || name === base) this.refresh();
      });
    } catch (e) {
      this.o.onWarn?.(
        `cannot watch ${dirname(this.o.path)} (${(e as NodeJS.ErrnoException).code ?? String(e)}); polling ` +
          `${this.o.path} every ${(this.o.pollUs ?? DEFAULT_POLL_US) / US_PER_MS} ms`,
      );
    }
  }

  stop(): void {
    this.stopped = true;
    this.watcher?.close();
    this.watcher = undefined;
    if (this.timer !== undefined) this.clock.cancel(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    if (this.stopped) return;
    const pollUs = this.o.pollUs ?? DEFAULT_POLL_US;
    this.timer = afterUs(
      this.clock,
      pollUs,
      () => {
        this.refresh();
        this.arm();
      },
      { weak: true },
    );
  }

  /** Re-reads now; concurrent requests collapse into one extra read. */
  refresh(): void {
    if (this.stopped) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = true;
    void this.read().then((v) => {
      this.reading = false;
      if (this.stopped) return;
      if (v !== undefined && v !== this.value) {
        this.value = v;
        this.o.onValue(v, `${this.o.path} now ${v}`);
      }
      if (this.again) {
        this.again = false;
        this.refresh();
      }
    });
  }

  private async read(): Promise<number | undefined> {
    if (this.o.read) return this.parse((await this.o.read(this.o.path)) ?? '');
    let fh;
    try {
      fh = await open(this.o.path, 'r');
    } catch {
      return 0; // missing or unreadable: keepalived treats it as 0
    }
    try {
      const buf = Buffer.alloc(127); // keepalived reads at most 127 bytes
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      return this.parse(buf.subarray(0, bytesRead).toString('latin1'));
    } catch {
      return 0;
    } finally {
      await fh.close();
    }
  }

  private parse(text: string): number | undefined {
    const v = parseTrackFileValue(text.slice(0, 127));
    if (v === undefined) this.o.onWarn?.(`invalid number read from ${this.o.path} - ignoring`);
    return v;
  }

  private async writeInit(init: { value: number; overwrite: boolean }): Promise<void> {
    if (!init.overwrite) {
      try {
        await access(this.o.path);
        return;
      } catch {
        /* missing: create it */
      }
    }
    try {
      await writeFile(this.o.path, `${init.value}\n`);
    } catch (e) {
      this.o.onWarn?.(`cannot write init_file ${this.o.path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  }
}
