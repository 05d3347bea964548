/**
 * `floatd switchover [INSTANCE]`, `floatd maintenance on|off|status [INSTANCE]`, `floatd reload`:
 * clients of the running daemon's API (the actions need its bearer token). A refusal is printed as
 * `floatd VERB: E_CODE: message` (codes: docs/errors.md). Exit codes: 0 done, 1 refused (not MASTER,
 * no such instance, a reload's file refused: its diagnostics on stderr, one per line), 3 not running
 * or not reachable, 4 not authorised (E_UNAUTHORIZED, E_ACTIONS_DISABLED, or the token unreadable).
 */
import { existsSync } from 'node:fs';
import { answerError, apiRequest, apiTarget, apiToken, Unreachable, type TargetOptions } from './api-client.js';
import { FloatdError, withCode } from '../errors.js';

export const EXIT_REFUSED = 1;
export const EXIT_UNREACHABLE = 3;
export const EXIT_UNAUTHORISED = 4;

export interface VerbOptions extends TargetOptions {
  tokenFile?: string;
  json?: boolean;
  out?: NodeJS.WritableStream;
  err?: NodeJS.WritableStream;
}

type Verb =
  | { kind: 'switchover'; instance?: string; holdS?: number }
  | { kind: 'maintenance'; state: 'on' | 'off' | 'status'; instance?: string }
  | { kind: 'reload' }
  | { kind: 'lb-add'; vs: string; rs: string; weight?: number; checksFrom?: string; body?: string }
  | { kind: 'lb-remove'; vs: string; rs: string }
  | { kind: 'lb-drain'; rs: string; state: 'on' | 'off'; timeoutS?: number };

/** The request a verb makes (pure). */
export function verbRequest(v: Verb): { method: 'GET' | 'POST' | 'DELETE'; path: string; body?: string } {
  const q = (p: Record<string, string | undefined>): string => {
    const s = new URLSearchParams(
      Object.entries(p).filter((e): e is [string, string] => e[1] !== undefined),
    ).toString();
    return s ? `?${s}` : '';
  };
  if (v.kind === 'reload') return { method: 'POST', path: '/api/v1/reload' };
  if (v.kind === 'lb-add') {
    const query = q({ vs: v.vs, rs: v.rs, weight: v.weight?.toString(), checks_from: v.checksFrom });
    return {
      method: 'POST',
      path: `/api/v1/lb/real-servers${query}`,
      ...(v.body !== undefined ? { body: v.body } : {}),
    };
  }
  if (v.kind === 'lb-remove') return { method: 'DELETE', path: `/api/v1/lb/real-servers${q({ vs: v.vs, rs: v.rs })}` };
  if (v.kind === 'lb-drain')
    return {
      method: 'POST',
      path: `/api/v1/lb/drain${q({ rs: v.rs, state: v.state, timeout: v.timeoutS?.toString() })}`,
    };
  if (v.kind === 'switchover')
    return { method: 'POST', path: `/api/v1/switchover${q({ instance: v.instance, hold: v.holdS?.toString() })}` };
  if (v.state === 'status') return { method: 'GET', path: '/api/v1/maintenance' };
  return { method: 'POST', path: `/api/v1/maintenance${q({ state: v.state, instance: v.instance })}` };
}

export async function runVerb(v: Verb, o: VerbOptions): Promise<number> {
  const out = o.out ?? process.stdout;
  const err = o.err ?? process.stderr;
  const name =
    v.kind === 'maintenance' ? `maintenance ${v.state}` : v.kind.startsWith('lb-') ? v.kind.replace('-', ' ') : v.kind;
  // The configuration names the socket and the token file; the default one only when it is there.
  const file =
    o.file ?? (existsSync('/etc/keepalived/keepalived.conf') ? '/etc/keepalived/keepalived.conf' : undefined);
  const { method, path, body: sent } = verbRequest(v);
  let token: string | undefined;
  if (method !== 'GET') {
    try {
      token = await apiToken({ tokenFile: o.tokenFile, file });
    } catch (e) {
      err.write(`floatd ${name}: ${e instanceof FloatdError ? withCode(e.code, e.message) : (e as Error).message}\n`);
      return EXIT_UNAUTHORISED;
    }
  }
  let r;
  try {
    r = await apiRequest(await apiTarget({ ...o, file }), method, path, {
      token,
      timeoutMs: 15_000,
      ...(sent !== undefined ? { body: sent } : {}),
    });
  } catch (e) {
    if (!(e instanceof Unreachable)) throw e;
    err.write(`floatd ${name}: ${e.message}\n`);
    return EXIT_UNREACHABLE;
  }
  let body: {
    ok?: boolean;
    message?: string;
    instances?: Record<string, { since: string; by: string }>;
  } = {};
  try {
    body = JSON.parse(r.body) as typeof body;
  } catch {
    /* not JSON: said below */
  }
  if (o.json) out.write(r.body.endsWith('\n') ? r.body : r.body + '\n');
  const e = answerError(r);
  // `E_CODE: message`; a refused reload's message is the file's diagnostics, one per line.
  const why = (text: string): string =>
    (e ? withCode(e.code, text) : `HTTP ${r.status}${text ? `: ${text}` : ''}`).split('; ').join('\n');
  if (r.status === 401 || r.status === 403) {
    if (!o.json)
      err.write(
        `floatd ${name}: ${why(e?.message ?? '')}` +
          `${token ? '' : ' (give --token-file FILE or $FLOATD_API_TOKEN)'}\n`,
      );
    return EXIT_UNAUTHORISED;
  }
  if (r.status === 200) {
    if (!o.json) {
      if (v.kind === 'maintenance' && v.state === 'status') {
        const e = Object.entries(body.instances ?? {});
        out.write(
          e.length
            ? e.map(([n, m]) => `${n}: in maintenance since ${m.since} (by ${m.by})`).join('\n') + '\n'
            : 'no instance is in maintenance\n',
        );
      } else out.write(`${body.message ?? 'done'}\n`);
    }
    return 0;
  }
  if (!o.json) err.write(`floatd ${name}: ${why(body.message ?? e?.message ?? '')}\n`);
  return EXIT_REFUSED;
}
