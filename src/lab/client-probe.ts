/**
 * The seed's `while true; do curl …; sleep 0.02; done`, made into an instrument: one process
 * on the client host starts a request through the VIP every `intervalMs` on a fresh
 * connection, without waiting for the previous one, and logs one JSON line per request (when
 * it was sent, when it was answered and by whom, or that it failed). A sequential curl loop
 * spends a process spawn and a whole timeout on every unanswered request, which hides
 * differences below ~150 ms; this one resolves the gap to one interval.
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Lab } from './netns-lab.js';
import { PROBE_SCRIPT } from './client-probe-script.js';

export interface ProbeRecord {
  sent: number;
  recv?: number;
  body?: string;
  error?: string;
}

/** Numbers the probes' log files (several probes may run on one lab). */
let probeSeq = 0;

export class ClientProbe {
  private readonly child: ChildProcess;
  private readonly logFile: string;

  constructor(lab: Lab, host: string, url: string, intervalMs = 20, timeoutMs = 1000) {
    const dir = lab.host(host).dir;
    const script = join(dir, 'probe.mjs');
    writeFileSync(script, PROBE_SCRIPT);
    const name = `probe-${host}-${++probeSeq}.log`; // unique within this test process's labs
    this.logFile = join(lab.dir, name);
    this.child = lab.spawn(host, [process.execPath, script, url, String(intervalMs), String(timeoutMs)], name);
  }

  records(): ProbeRecord[] {
    if (!existsSync(this.logFile)) return [];
    // The probe may be half-way through writing its last line: only whole lines count.
    const out: ProbeRecord[] = [];
    for (const l of readFileSync(this.logFile, 'utf8').split('\n')) {
      if (!l.startsWith('{') || !l.endsWith('}')) continue;
      try {
        out.push(JSON.parse(l) as ProbeRecord);
      } catch {
        /* a torn line */
      }
    }
    return out;
  }

  /** The first answer received after `since` (ms epoch) whose body matches. */
  firstAnswer(since: number, body: RegExp): ProbeRecord | undefined {
    return this.records()
      .filter((r) => r.recv !== undefined && r.sent >= since && body.test(r.body ?? ''))
      .sort((a, b) => a.recv! - b.recv!)[0];
  }

  /** Requests sent in [from, to) that got no answer. */
  lost(from: number, to: number): number {
    return this.records().filter((r) => r.sent >= from && r.sent < to && r.recv === undefined).length;
  }

  stop(): void {
    this.child.kill('SIGTERM');
  }
}
