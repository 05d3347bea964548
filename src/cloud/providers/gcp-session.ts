/**
 * The GCP driver's (gcp.ts) way to Compute Engine: the metadata server (instance name, project,
 * zone; the service-account token, kept until shortly before expires_in), authenticated REST
 * calls, and operations followed until DONE.
 */
import { CloudError, type ProviderSettings } from '../types.js';
import { httpRequest, type HttpRequest, type HttpResponse } from '../http.js';
import { realClock } from '../../util/clock.js';
import { followAction } from '../action-poll.js';
import { dialect, metaDialect, OPERATION, opState, PROJECT, segment, ZONE, type Operation } from './gcp-compute.js';

/** Where a GcpSession sends its requests and how it follows operations. */
export interface GcpEndpoints {
  api: string;
  meta: string;
  pollMs: number;
  limitMs: number;
  project: string | undefined;
  zone: string | undefined;
}

export class GcpSession {
  private readonly api: string;
  private readonly meta: string;
  private readonly pollMs: number;
  private readonly limitMs: number;
  private project: string | undefined;
  private zone: string | undefined;
  /** An access token from the metadata server, and until when it is used. */
  private access: { token: string; until: number } | undefined;

  constructor(
    private readonly s: ProviderSettings,
    e: GcpEndpoints,
  ) {
    this.api = e.api;
    this.meta = e.meta;
    this.pollMs = e.pollMs;
    this.limitMs = e.limitMs;
    this.project = e.project;
    this.zone = e.zone;
  }

  private wallMs(): number {
    return (this.s.clock ?? realClock).wallMs();
  }

  /** Follows a zone or global operation until DONE, from the answer that started it. */
  async waitOp(json: unknown, where: string, what: string, opsPath: string): Promise<void> {
    const op = json as Operation | undefined;
    if (!op || typeof op.name !== 'string' || !OPERATION.test(op.name))
      throw new CloudError('server', `gcp ${where}: answer is not an operation`);
    const label = `gcp operation ${op.name} (${what})`;
    const first = opState(op);
    if (first.state === 'failed') throw new CloudError('server', `${label} ended in error: ${first.why}`);
    if (first.state === 'done') return;
    const path = opsPath + op.name;
    await followAction(
      {
        what: label,
        intervalMs: this.pollMs,
        limitMs: this.limitMs,
        ...(this.s.signal ? { signal: this.s.signal } : {}),
      },
      async () => opState((await this.call({ method: 'GET', path })).json as Operation | undefined),
    );
  }

  async base(): Promise<string> {
    return `/compute/v1/projects/${await this.projectId()}`;
  }

  async projectId(): Promise<string> {
    if (this.project === undefined) {
      const v = (await this.metaGet('project/project-id')).text.trim();
      if (!PROJECT.test(v)) {
        throw new CloudError(
          'invalid',
          `gcp: the metadata server project/project-id gave "${v.slice(0, 64)}", not a project id`,
        );
      }
      this.project = v;
    }
    return this.project;
  }

  async selfZone(): Promise<string> {
    if (this.zone === undefined) {
      const v = (await this.metaGet('instance/zone')).text.trim();
      const z = segment(v, 'zones') ?? '';
      if (!ZONE.test(z)) {
        throw new CloudError(
          'invalid',
          `gcp: the metadata server instance/zone gave "${v.slice(0, 64)}", not projects/N/zones/ZONE`,
        );
      }
      this.zone = z;
    }
    return this.zone;
  }

  /** One metadata request; an answer without the Metadata-Flavor header is not Google's server. */
  async metaGet(path: string): Promise<HttpResponse> {
    const full = `/computeMetadata/v1/${path}`;
    const r = await httpRequest({ ...this.s, token: '' }, metaDialect, {
      method: 'GET',
      base: this.meta,
      path: full,
      headers: { 'metadata-flavor': 'Google', accept: 'text/plain, application/json' },
    });
    if (r.headers.get('metadata-flavor') !== 'Google') {
      throw new CloudError(
        'invalid',
        `gcp metadata GET ${full}: the answer has no "Metadata-Flavor: Google", so it is not a Compute Engine ` +
          'metadata server (set project, zone and instance_id, or metadata_url)',
      );
    }
    return r;
  }

  /** The configured token, or the VM's service-account token from the metadata server. */
  private async accessToken(): Promise<string> {
    if (this.s.token !== '') return this.s.token;
    const now = this.wallMs();
    if (this.access && now < this.access.until) return this.access.token;
    let r: HttpResponse;
    try {
      r = await this.metaGet('instance/service-accounts/default/token');
    } catch (e) {
      if (e instanceof CloudError && e.kind === 'not_found') {
        throw new CloudError(
          'auth',
          'gcp: this VM has no service account (metadata instance/service-accounts/default/token → 404); ' +
            'attach one or set token_file',
          { status: 404 },
        );
      }
      throw e;
    }
    const j = r.json as { access_token?: unknown; expires_in?: unknown } | undefined;
    if (typeof j?.access_token !== 'string' || j.access_token === '') {
      throw new CloudError(
        'server',
        'gcp metadata GET /computeMetadata/v1/instance/service-accounts/default/token: answer has no access_token',
      );
    }
    const ttl = typeof j.expires_in === 'number' && j.expires_in > 0 ? j.expires_in : 0;
    // Renewed a minute early (half the lifetime if shorter), so it never expires mid-failover.
    this.access = { token: j.access_token, until: now + (ttl - Math.min(60, ttl / 2)) * 1000 };
    return j.access_token;
  }

  async call(req: Omit<HttpRequest, 'base'>): Promise<HttpResponse> {
    const token = await this.accessToken();
    try {
      return await httpRequest({ ...this.s, token }, dialect, {
        ...req,
        base: this.api,
        headers: { authorization: `Bearer ${token}`, ...req.headers },
      });
    } catch (e) {
      // A metadata token refused (revoked, or expired early): fetch a new one next time.
      if (e instanceof CloudError && e.status === 401 && this.s.token === '') this.access = undefined;
      throw e;
    }
  }
}
