/**
 * Linode (Akamai) IPv4 addresses moved between Linodes with IP assignment.
 *   whoAmI:  metadata PUT /v1/token (Metadata-Token-Expiry-Seconds), then GET /v1/instance
 *            with Metadata-Token → id (or instance_id from the config)
 *   holder:  GET /v4/networking/ips/{address} → linode_id | null
 *   assign:  POST /v4/networking/ips/assign {"region":…,"assignments":[{"address":…,"linode_id":N}]}
 *            — synchronous (200 {}); the region comes from `region` or the holder look-up.
 * IP *sharing* (/networking/ips/share, failover by BGP through lelastic) is not an API move:
 * the API cannot say which Linode announces a shared IP, so it is not this driver's business.
 * The OS must carry the address (needsLocalAddress).
 */
import { isIP } from 'node:net';
import { CloudError, type CloudProvider, type ProviderFactory, type ProviderSettings } from '../types.js';
import {
  bodyDetail,
  digitsId,
  httpRequest,
  resetEpochToMs,
  trimBase,
  type HttpRequest,
  type HttpResponse,
  type ProviderDialect,
} from '../http.js';

export const LINODE_API_URL = 'https://api.linode.com';
export const LINODE_METADATA_URL = 'http://169.254.169.254';
/** Lifetime asked for the metadata token; it is used at once and then dropped. */
const METADATA_TOKEN_TTL_S = 300;

const dialect: ProviderDialect = {
  name: 'linode',
  // {"errors":[{"field":"…","reason":"…"}]}
  errorDetail: (body) =>
    bodyDetail(body, (b) => {
      const e = Array.isArray(b.errors)
        ? (b.errors[0] as { field?: unknown; reason?: unknown } | undefined)
        : undefined;
      return { ...(typeof e?.field === 'string' ? { code: e.field } : {}), message: e?.reason };
    }),
  // linodego retries 400 "Linode busy." (linodeBusyRetryCondition) and 408
  // (requestTimeoutRetryCondition): both pass. Every other 400 is the request's own fault.
  classify(status, _code, message) {
    if (status === 400 && /^Linode busy\.?$/i.test((message ?? '').trim())) return 'busy';
    if (status === 408) return 'timeout';
    return undefined;
  },
  retryAfterMs: (h, now) => resetEpochToMs(h.get('x-ratelimit-reset'), now),
};
const metaDialect: ProviderDialect = { ...dialect, name: 'linode metadata' };

interface LinodeIp {
  address?: unknown;
  linode_id?: unknown;
  region?: unknown;
}

class Linode implements CloudProvider {
  readonly name = 'linode';
  readonly needsLocalAddress = true;
  private readonly api: string;
  private readonly meta: string;
  private readonly problems: string[] = [];
  private region: string | undefined;

  constructor(private readonly s: ProviderSettings) {
    this.api = trimBase(s.apiUrl ?? LINODE_API_URL).replace(/\/v4(beta)?$/, '');
    this.meta = trimBase(s.metadataUrl ?? LINODE_METADATA_URL);
    this.region = s.options.region;
    if (isIP(s.address) === 0) this.problems.push(`address "${s.address}" is not an IP address`);
    if (s.options.mode !== undefined && s.options.mode !== 'assign') {
      this.problems.push(
        `mode "${s.options.mode}" is not supported: only assign moves an address by API ` +
          '(shared IPs fail over by BGP, which the API cannot report)',
      );
    }
  }

  async whoAmI(): Promise<string> {
    this.check();
    if (this.s.instanceId !== undefined) return digitsId('linode', 'Linode', this.s.instanceId, 'instance_id');
    const tok = await httpRequest(this.s, metaDialect, {
      method: 'PUT',
      base: this.meta,
      path: '/v1/token',
      headers: { accept: 'text/plain', 'metadata-token-expiry-seconds': String(METADATA_TOKEN_TTL_S) },
    });
    const token = tok.text.trim();
    if (!token) throw new CloudError('server', 'linode metadata PUT /v1/token: empty token');
    const r = await httpRequest({ ...this.s, token }, metaDialect, {
      method: 'GET',
      base: this.meta,
      path: '/v1/instance',
      headers: { 'metadata-token': token },
    });
    const id = (r.json as { id?: unknown } | undefined)?.id;
    return digitsId(
      'linode',
      'Linode',
      typeof id === 'number' || typeof id === 'string' ? String(id) : '',
      'the metadata service /v1/instance',
    );
  }

  async holder(): Promise<string | null> {
    this.check();
    const ip = await this.get();
    const id = ip.linode_id;
    return typeof id === 'number' || (typeof id === 'string' && id !== '') ? String(id) : null;
  }

  async assign(self: string): Promise<void> {
    this.check();
    const linode = Number(digitsId('linode', 'Linode', self, 'the Linode to assign to'));
    const region = this.region ?? (await this.learnRegion());
    await this.call({
      method: 'POST',
      base: this.api,
      path: '/v4/networking/ips/assign',
      body: { region, assignments: [{ address: this.s.address, linode_id: linode }] },
    });
  }

  private async get(): Promise<LinodeIp> {
    const path = `/v4/networking/ips/${this.s.address}`; // validated as an IP: nothing to escape
    const ip = (await this.call({ method: 'GET', base: this.api, path })).json as LinodeIp | undefined;
    if (!ip || typeof ip !== 'object')
      throw new CloudError('server', `linode GET ${path}: answer is not an IP address object`);
    if (this.region === undefined && typeof ip.region === 'string') this.region = ip.region;
    return ip;
  }

  private async learnRegion(): Promise<string> {
    await this.get();
    if (this.region === undefined)
      throw new CloudError(
        'invalid',
        `linode: the API did not say which region ${this.s.address} is in; set region in the floating_ip block`,
      );
    return this.region;
  }

  private call(req: HttpRequest): Promise<HttpResponse> {
    return httpRequest(this.s, dialect, {
      ...req,
      headers: { authorization: `Bearer ${this.s.token}`, ...req.headers },
    });
  }

  private check(): void {
    if (this.problems.length) throw new CloudError('invalid', `linode: ${this.problems.join('; ')}`);
  }
}

export const linode: ProviderFactory = (s) => new Linode(s);
