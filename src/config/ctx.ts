/**
 * The parse context every block reader gets: positioned diagnostics and the shared value
 * parsers (integers, seconds, booleans, addresses, weights), so a value is read one way everywhere.
 */
import { isIP } from 'node:net';
import type { Diagnostic, DiagnosticCode } from './diagnostics.js';
import type { Node, Token } from './lexer.js';
import type { Pos } from './model.js';
import { Suggester } from './suggest.js';

/** A number of the right form outside its range, or a value of the wrong form. */
export const rangeOr = (text: string, form: RegExp): DiagnosticCode =>
  form.test(text) ? 'CONFIG_OUT_OF_RANGE' : 'CONFIG_BAD_VALUE';

export const NOT_YET_MSG = 'parsed but not yet supported by floatd';

/** Weight ranges (keepalived 2.2.7): scripts and interfaces -253..253 (±254 is clamped, with an error
 * in keepalived's log); files and processes -254..254. */
export type WeightKind = 'script' | 'file';

export class Ctx {
  readonly diags: Diagnostic[] = [];
  private readonly suggester = new Suggester();

  at(t: Token): Pos {
    return { file: t.file, line: t.line, col: t.col };
  }
  private add(
    severity: Diagnostic['severity'],
    t: Token | Pos,
    keyword: string,
    message: string,
    hint: string | undefined,
    code: DiagnosticCode,
  ): void {
    this.diags.push({
      severity,
      file: t.file,
      line: t.line,
      col: t.col,
      keyword,
      message,
      ...(hint ? { hint } : {}),
      code,
    });
  }
  /** An error; its code says the kind of mistake (docs/errors.md), a value of the wrong form unless told. */
  err(
    t: Token | Pos,
    keyword: string,
    message: string,
    hint?: string,
    code: DiagnosticCode = 'CONFIG_BAD_VALUE',
  ): void {
    this.add('error', t, keyword, message, hint, code);
  }
  /** A warning; something written that has no effect unless the code says otherwise. */
  warn(t: Token | Pos, keyword: string, message: string, hint?: string, code: DiagnosticCode = 'CONFIG_IGNORED'): void {
    this.add('warning', t, keyword, message, hint, code);
  }
  info(t: Token | Pos, keyword: string, message: string, code: DiagnosticCode = 'CONFIG_NOTICE'): void {
    this.add('info', t, keyword, message, undefined, code);
  }
  /** A keyword floatd reads but does not act on: a positioned warning (check and the daemon's log), never "unknown". */
  notYet(n: Node, what = NOT_YET_MSG): void {
    this.add('warning', n.key, n.key.text, what, undefined, 'CONFIG_NOT_HONOURED');
  }
  unknown(n: Node, where: string, known: Iterable<string>, fate = 'ignored'): void {
    const k = n.key.text;
    const near = this.suggester.hint(where, k, known);
    this.warn(
      n.key,
      k,
      `unknown keyword in ${where}, ${fate}`,
      near ? `did you mean '${near}'?` : undefined,
      'CONFIG_UNKNOWN_KEYWORD',
    );
  }

  arg(n: Node, i = 0, what = 'a value'): Token | undefined {
    const a = n.args[i];
    if (!a) this.err(n.key, n.key.text, `expected ${what}`, undefined, 'CONFIG_MISSING_VALUE');
    return a;
  }
  /** A whole number min..max: digits only (an optional minus), nothing else (no 1e1, 0x18, 24.0). */
  intTok(a: Token, keyword: string, min: number, max: number): number | undefined {
    const v = Number(a.text);
    if (!/^-?\d+$/.test(a.text) || v < min || v > max) {
      this.err(
        a,
        keyword,
        `expected an integer ${min}..${max}, got "${a.text}"`,
        undefined,
        rangeOr(a.text, /^-?\d+$/),
      );
      return undefined;
    }
    return v;
  }
  int(n: Node, min: number, max: number, i = 0): number | undefined {
    const a = this.arg(n, i, `an integer ${min}..${max}`);
    return a && this.intTok(a, n.key.text, min, max);
  }
  /** Seconds, fractions allowed (floatd); returns milliseconds (or `perSecond` units). */
  secsTok(a: Token, keyword: string, min: number, max: number, perSecond = 1000): number | undefined {
    const v = Number(a.text);
    if (!/^\d+(\.\d+)?$/.test(a.text) || v < min || v > max) {
      const code = rangeOr(a.text, /^\d+(\.\d+)?$/);
      this.err(a, keyword, `expected seconds ${min}..${max}, got "${a.text}"`, undefined, code);
      return undefined;
    }
    return Math.round(v * perSecond);
  }
  secs(n: Node, min: number, max: number, perSecond = 1000): number | undefined {
    const a = this.arg(n, 0, 'a number of seconds');
    return a && this.secsTok(a, n.key.text, min, max, perSecond);
  }
  /** keepalived's optional <BOOL>: absent means true; on/true/yes or off/false/no. */
  bool(n: Node): boolean | undefined {
    const a = n.args[0];
    if (!a) return true;
    if (['on', 'true', 'yes'].includes(a.text)) return true;
    if (['off', 'false', 'no'].includes(a.text)) return false;
    this.err(a, n.key.text, `expected on|off|true|false|yes|no (or nothing, meaning on), got "${a.text}"`);
    return undefined;
  }
  ip(n: Node, i = 0, family?: 4 | 6): string | undefined {
    const a = this.arg(n, i, 'an IP address');
    if (!a) return undefined;
    const f = isIP(a.text);
    if (!f || (family && f !== family)) {
      this.err(a, n.key.text, `expected an IPv${family ?? '4 or IPv6'} address, got "${a.text}"`);
      return undefined;
    }
    return a.text;
  }
  /** `weight N`: the one weight reader (vrrp_script, track_* entries, track files and processes). */
  weightTok(a: Token | undefined, at: Token, keyword: string, kind: WeightKind): number | undefined {
    const lim = kind === 'script' ? 253 : 254;
    const text = a?.text ?? '';
    const v = Number(text);
    if (!a || !/^-?\d+$/.test(text) || Math.abs(v) > 254) {
      const code = a ? rangeOr(text, /^-?\d+$/) : 'CONFIG_MISSING_VALUE';
      this.err(a ?? at, keyword, `weight must be an integer -${lim}..${lim}, got "${text}"`, undefined, code);
      return undefined;
    }
    if (Math.abs(v) > lim) {
      const w = Math.sign(v) * lim;
      const text = `weight must be -${lim}..${lim}: ${v} is used as ${w}, as keepalived does`;
      this.warn(a, keyword, text, undefined, 'CONFIG_ADJUSTED');
      return w;
    }
    return v;
  }
}
