/**
 * Value-based redaction: every secret floatd reads (API token, cloud tokens, webhook keys) is
 * registered here, and every log line is scrubbed of it before it leaves the process, whatever
 * field or message carries it: a provider that echoes the token back in an error body, a URL,
 * an exception text. pino's path redaction (log.ts) only covers fields named `token` etc.
 *
 * What is caught, case-insensitively: any run of WINDOW or more characters taken from the
 * secret (so the exact token, its prefixes, suffixes and inner substrings), and the same for
 * its base64 (standard and URL alphabets, at each of the three byte alignments), hex and
 * %-encoded forms. Shorter fragments pass: a 7-character piece of a 32+ character random token
 * does not make it guessable, and shorter windows would start eating ordinary words.
 */

/** Shortest run of secret characters that is redacted. */
export const WINDOW = 8;
/** Secrets shorter than this are matched only whole (a short value would match too much). */
const MIN_SECRET = 6;
const MAX_SECRETS = 64;
export const REDACTED = '[redacted]';

const secrets: string[] = [];
/** Lower-cased WINDOW-long pieces of every variant of every secret. */
let windows = new Set<string>();
/** Lower-cased short secrets, matched whole. */
let wholes: string[] = [];

function variants(s: string): string[] {
  const out = new Set<string>([s]);
  for (let k = 0; k < 3 && k < s.length; k++) {
    const b64 = Buffer.from(s.slice(k), 'utf8').toString('base64').replace(/=+$/, '');
    out.add(b64);
    out.add(b64.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  out.add(Buffer.from(s, 'utf8').toString('hex'));
  out.add(encodeURIComponent(s));
  return [...out];
}

function rebuild(): void {
  const w = new Set<string>();
  const short: string[] = [];
  for (const s of secrets) {
    if (s.length < WINDOW) {
      short.push(s.toLowerCase());
      continue;
    }
    for (const v of variants(s)) {
      const lv = v.toLowerCase();
      for (let i = 0; i + WINDOW <= lv.length; i++) w.add(lv.slice(i, i + WINDOW));
    }
  }
  windows = w;
  wholes = short;
}

/** Registers a secret; from now on no log line carries it. Blank or tiny values are ignored. */
export function registerSecret(value: string | undefined): void {
  const s = value?.trim();
  if (!s || s.length < MIN_SECRET || secrets.includes(s)) return;
  secrets.push(s);
  if (secrets.length > MAX_SECRETS) secrets.shift();
  rebuild();
}

/** Tests: forget every registered secret. */
export function clearSecrets(): void {
  secrets.length = 0;
  rebuild();
}

/** `text` with every run of secret material replaced by [redacted]. */
export function redactSecrets(text: string): string {
  if (secrets.length === 0) return text;
  const lower = text.toLowerCase();
  // Marks: the ranges covered by some WINDOW-long piece of a secret.
  let out = '';
  let last = 0;
  let i = 0;
  if (windows.size > 0) {
    while (i + WINDOW <= lower.length) {
      if (!windows.has(lower.slice(i, i + WINDOW))) {
        i++;
        continue;
      }
      let end = i + WINDOW;
      // Extend while the next window still belongs to a secret.
      while (end < lower.length && windows.has(lower.slice(end - WINDOW + 1, end + 1))) end++;
      out += text.slice(last, i) + REDACTED;
      last = end;
      i = end;
    }
  }
  out += text.slice(last);
  for (const w of wholes) {
    let at = out.toLowerCase().indexOf(w);
    while (at >= 0) {
      out = out.slice(0, at) + REDACTED + out.slice(at + w.length);
      at = out.toLowerCase().indexOf(w, at + REDACTED.length);
    }
  }
  return out;
}

/**
 * Control characters (C0, DEL, C1, U+2028/2029) as visible escapes: CR/LF in a provider's
 * reply or any untrusted string can then never split or forge a log line.
 */
export function escapeControl(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    switch (c) {
      case '\n':
        return '\\n';
      case '\r':
        return '\\r';
      case '\t':
        return '\\t';
      default:
        return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
    }
  });
}
