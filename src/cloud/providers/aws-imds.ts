/**
 * The AWS driver's instance metadata (IMDSv2: a session token from PUT /latest/api/token, kept
 * for hours and shared by concurrent reads) and its credentials: static keys from the token, or
 * the instance role's from iam/security-credentials/, fetched again before they expire.
 */
import { CloudError, type ProviderSettings } from '../types.js';
import { bodyDetail, httpRequest, type ProviderDialect } from '../http.js';
import { realClock } from '../../util/clock.js';

export const AWS_METADATA_URL = 'http://169.254.169.254';
/** Lifetime asked for an IMDSv2 token (the maximum, 6 h); it is used for 5 h. */
const IMDS_TOKEN_TTL_S = 21_600;
const IMDS_TOKEN_USE_MS = 5 * 3600_000;
/** Role credentials are fetched again this long before they expire. */
const ROLE_MARGIN_MS = 5 * 60_000;

export const RE = {
  region: /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/,
  instance: /^i-[0-9a-f]{8,17}$/,
  eni: /^eni-[0-9a-f]{8,17}$/,
  alloc: /^eipalloc-[0-9a-f]{8,17}$/,
  rtb: /^rtb-[0-9a-f]{8,17}$/,
  mac: /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/,
  role: /^[\w+=,.@-]{1,128}$/,
  accessKey: /^[A-Z0-9]{16,128}$/,
};

/** IMDS answers errors as plain text (or a small HTML page). */
const metaDialect: ProviderDialect = {
  name: 'aws metadata',
  errorDetail: (body) => bodyDetail(body, () => undefined),
};

export interface Creds {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

/** `ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN]`; '' is the instance role; anything else is refused. */
export function parseAwsToken(token: string): Creds | 'role' | undefined {
  if (token === '') return 'role';
  const parts = token.split(':');
  if (parts.length < 2 || parts.length > 3 || !RE.accessKey.test(parts[0]!) || !parts[1]) return undefined;
  return { accessKeyId: parts[0]!, secretAccessKey: parts[1], ...(parts[2] ? { sessionToken: parts[2] } : {}) };
}

/** IMDSv2 reads and the instance role's credentials, for one driver. */
export class AwsMetadata {
  private imdsToken: { value: string; until: number } | undefined;
  private imdsTokenP: Promise<string> | undefined;
  private role: { creds: Creds; refreshAt: number } | undefined;
  private roleP: Promise<Creds> | undefined;

  constructor(
    private readonly s: ProviderSettings,
    private readonly meta: string,
  ) {}

  private wallMs(): number {
    return (this.s.clock ?? realClock).wallMs();
  }

  /** The role's credentials last fetched, if any (for scrubbing messages). */
  get roleCreds(): Creds | undefined {
    return this.role?.creds;
  }

  /** One IMDSv2 GET. A cached token the service no longer takes (401) is replaced once. */
  async imds(path: string): Promise<string> {
    const cached = this.imdsToken !== undefined && this.wallMs() < this.imdsToken.until;
    const get = async (token: string): Promise<string> =>
      (
        await httpRequest({ ...this.s, token }, metaDialect, {
          method: 'GET',
          base: this.meta,
          path,
          headers: { accept: 'text/plain', 'x-aws-ec2-metadata-token': token },
        })
      ).text;
    const token = await this.imdsSession();
    try {
      return await get(token);
    } catch (e) {
      if (!cached || !(e instanceof CloudError) || e.status !== 401) throw e;
      if (this.imdsToken?.value === token) this.imdsToken = undefined;
      return get(await this.imdsSession());
    }
  }

  /** The IMDSv2 session token, shared by concurrent reads and kept for hours. */
  private imdsSession(): Promise<string> {
    if (this.imdsToken !== undefined && this.wallMs() < this.imdsToken.until)
      return Promise.resolve(this.imdsToken.value);
    this.imdsTokenP ??= (async () => {
      try {
        const r = await httpRequest({ ...this.s, token: '' }, metaDialect, {
          method: 'PUT',
          base: this.meta,
          path: '/latest/api/token',
          headers: { accept: 'text/plain', 'x-aws-ec2-metadata-token-ttl-seconds': String(IMDS_TOKEN_TTL_S) },
        });
        const value = r.text.trim();
        if (!value) throw new CloudError('server', 'aws metadata PUT /latest/api/token: empty token');
        this.imdsToken = { value, until: this.wallMs() + IMDS_TOKEN_USE_MS };
        return value;
      } finally {
        this.imdsTokenP = undefined;
      }
    })();
    return this.imdsTokenP;
  }

  /** The instance role's credentials, refreshed before they expire. */
  roleCredentials(): Promise<Creds> {
    if (this.role !== undefined && this.wallMs() < this.role.refreshAt) return Promise.resolve(this.role.creds);
    this.roleP ??= this.fetchRole().finally(() => {
      this.roleP = undefined;
    });
    return this.roleP;
  }

  private async fetchRole(): Promise<Creds> {
    const base = '/latest/meta-data/iam/security-credentials/';
    let names: string;
    try {
      names = await this.imds(base);
    } catch (e) {
      if (e instanceof CloudError && e.status === 404)
        throw new CloudError(
          'auth',
          'aws: no token and no instance role (the metadata service lists no iam/security-credentials); ' +
            'attach an instance profile or set token_file',
        );
      throw e;
    }
    const role =
      names
        .split('\n')
        .map((x) => x.trim())
        .find(Boolean) ?? '';
    if (!RE.role.test(role)) throw new CloudError('auth', 'aws: the metadata service names no usable instance role');
    let j: { Code?: unknown; AccessKeyId?: unknown; SecretAccessKey?: unknown; Token?: unknown; Expiration?: unknown };
    try {
      j = JSON.parse(await this.imds(base + role)) as typeof j;
    } catch (e) {
      if (e instanceof CloudError) throw e;
      throw new CloudError('server', `aws metadata: the credentials of role ${role} are not JSON`);
    }
    if (j.Code !== 'Success' || typeof j.AccessKeyId !== 'string' || typeof j.SecretAccessKey !== 'string') {
      throw new CloudError(
        'auth',
        `aws metadata: role ${role} has no usable credentials (Code ${typeof j.Code === 'string' ? j.Code : '?'})`,
      );
    }
    const exp = typeof j.Expiration === 'string' ? Date.parse(j.Expiration) : NaN;
    const creds: Creds = {
      accessKeyId: j.AccessKeyId,
      secretAccessKey: j.SecretAccessKey,
      ...(typeof j.Token === 'string' ? { sessionToken: j.Token } : {}),
      ...(Number.isNaN(exp) ? {} : { expiration: new Date(exp) }),
    };
    this.role = {
      creds,
      refreshAt: Number.isNaN(exp) ? this.wallMs() + ROLE_MARGIN_MS : Math.max(this.wallMs(), exp - ROLE_MARGIN_MS),
    };
    return creds;
  }
}
