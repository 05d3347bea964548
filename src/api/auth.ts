/**
 * The bearer token that guards API actions: where it comes from (a file or an environment
 * variable, never the config text) and a constant-time comparison. The token is never logged.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ApiConfig } from '../config/model.js';
import { registerSecret } from '../util/redact.js';
import { secretFileProblem } from '../util/secret-file.js';
import { FloatdError } from '../errors.js';

/** The token source is configured but unusable (unreadable, unset, too short): E_API_TOKEN_UNUSABLE. */
export class TokenError extends FloatdError {
  constructor(message: string) {
    super('API_TOKEN_UNUSABLE', message);
    this.name = 'TokenError';
  }
}

export interface TokenSource {
  token?: string;
  /** Said once at start (e.g. a token file others can read). */
  warnings: string[];
}

/** Reads the token named by the config; no source configured = actions disabled. */
export function loadToken(
  api: Pick<ApiConfig, 'tokenFile' | 'tokenEnv'>,
  env: NodeJS.ProcessEnv = process.env,
): TokenSource {
  const warnings: string[] = [];
  let raw: string | undefined;
  if (api.tokenFile) {
    try {
      raw = readFileSync(api.tokenFile, 'utf8');
      const why = secretFileProblem(api.tokenFile);
      if (why) warnings.push(`API token file ${api.tokenFile} is ${why}`);
    } catch (e) {
      throw new TokenError(
        `cannot read the API token file ${api.tokenFile}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
      );
    }
  } else if (api.tokenEnv) {
    raw = env[api.tokenEnv];
    if (raw === undefined) throw new TokenError(`the API token variable ${api.tokenEnv} is not set`);
  } else {
    return { warnings };
  }
  const token = raw.trim();
  registerSecret(token);
  if (token.length < 16)
    throw new TokenError(`the API token from ${api.tokenFile ?? `$${api.tokenEnv}`} is shorter than 16 characters`);
  return { token, warnings };
}

export type AuthResult = 'ok' | 'disabled' | 'missing' | 'mismatch';

/** Checks an Authorization header against the token; hashing first makes the compare length-blind. */
export function checkBearer(header: string | undefined, token: string | undefined): AuthResult {
  if (token === undefined) return 'disabled';
  const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!m) return 'missing';
  const a = createHash('sha256').update(m[1]!).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b) ? 'ok' : 'mismatch';
}
