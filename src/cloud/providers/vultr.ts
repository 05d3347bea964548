/**
 * Vultr reserved IPs.
 *   whoAmI:  metadata GET /v1.json → "instance-v2-id" (or instance_id from the config)
 *   holder:  GET /v2/reserved-ips/{id} → reserved_ip.instance_id ("" = nobody)
 *   assign:  POST /v2/reserved-ips/{id}/attach {"instance_id":…} → 204, then GET until the
 *            reserved IP shows this instance.
 * The reserved IP's id comes from `ip_id`, a non-IP `address`, or by finding the address in
 * GET /v2/reserved-ips (once). Vultr refuses to attach an IP that is attached elsewhere, and
 * applies a detach a moment after answering it (vultr/terraform-provider-vultr#77), so a move
 * is detach → wait until free → attach → wait until ours. The OS must carry the address.
 */
import { isIP } from 'node:net';
import { inSubnet } from '../ip.js';
import { CloudError, type CloudProvider, type ProviderFactory, type ProviderSettings } from '../types.js';
import {
  bodyDetail,
  httpRequest,
  optionMs,
  trimBase,
  type HttpRequest,
  type HttpResponse,
  type ProviderDialect,
} from '../http.js';
import { followAction } from '../action-poll.js';

export const VULTR_API_URL = 'https://api.vultr.com';
export const VULTR_METADATA_URL = 'http://169.254.169.254';
const MAX_PAGES = 10;

const dialect: ProviderDialect = {
  name: 'vultr',
  // {"error":"…","status":400}
  errorDetail: (body) => bodyDetail(body, (b) => ({ message: b.error })),
  // Vultr's limit is per second (30 requests/s) and it documents no reset header.
  retryAfterMs: () => 1000,
};
const metaDialect: ProviderDialect = { ...dialect, name: 'vultr metadata' };

interface ReservedIp {
  id?: unknown;
  subnet?: unknown;
  subnet_size?: unknown;
  instance_id?: unknown;
}

class Vultr implements CloudProvider {
  readonly name = 'vultr';
  readonly needsLocalAddress = true;
  private readonly api: string;
  private readonly meta: string;
  private readonly pollMs: number;
  private readonly limitMs: number;
  private readonly problems: string[] = [];
  private id: string | undefined;

  constructor(private readonly s: ProviderSettings) {
    this.api = trimBase(s.apiUrl ?? VULTR_API_URL).replace(/\/v2$/, '');
    this.meta = trimBase(s.metadataUrl ?? VULTR_METADATA_URL);
    this.pollMs = optionMs(s.options, 'poll_interval', 1000, this.problems);
    this.limitMs = optionMs(s.options, 'action_timeout', 60_000, this.problems);
    this.id = s.options.ip_id ?? (isIP(s.address) === 0 ? s.address : undefined);
    if (this.id !== undefined && !/^[A-Za-z0-9-]+$/.test(this.id))
      this.problems.push(`"${this.id}" is neither an IP address nor a reserved IP id`);
  }

  async whoAmI(): Promise<string> {
    this.check();
    if (this.s.instanceId !== undefined) return instanceId(this.s.instanceId, 'instance_id');
    const r = await httpRequest(this.s, metaDialect, { method: 'GET', base: this.meta, path: '/v1.json' });
    const id = (r.json as Record<string, unknown> | undefined)?.['instance-v2-id'];
    return instanceId(typeof id === 'string' ? id : '', 'the metadata service /v1.json instance-v2-id');
  }

  async holder(): Promise<string | null> {
    this.check();
    const who = (await this.get()).instance_id;
    return typeof who === 'string' && who !== '' ? who : null;
  }

  async assign(self: string): Promise<void> {
    this.check();
    instanceId(self, 'the instance to assign to');
    const id = await this.ipId();
    const attach = (): Promise<HttpResponse> =>
      this.call({ method: 'POST', base: this.api, path: `/v2/reserved-ips/${id}/attach`, body: { instance_id: self } });
    try {
      await attach();
    } catch (e) {
      if (!(e instanceof CloudError) || e.kind !== 'invalid') throw e;
      // Refused: attached somewhere (maybe here already). Free it, then attach.
      const now = await this.holder();
      if (now === self) return;
      if (now === null) throw e;
      await this.call({ method: 'POST', base: this.api, path: `/v2/reserved-ips/${id}/detach` });
      await this.waitFor(`detach of reserved IP ${id} from ${now}`, (h) => h === null);
      await attach();
    }
    await this.waitFor(`attach of reserved IP ${id} to ${self}`, (h) => h === self);
  }

  /** Polls the reserved IP until its holder satisfies `ok`. */
  private async waitFor(what: string, ok: (holder: string | null) => boolean): Promise<void> {
    await followAction(
      {
        what: `vultr ${what}`,
        intervalMs: this.pollMs,
        limitMs: this.limitMs,
        ...(this.s.signal ? { signal: this.s.signal } : {}),
      },
      async () => (ok(await this.holder()) ? { state: 'done' } : { state: 'running' }),
    );
  }

  private async get(): Promise<ReservedIp> {
    const path = `/v2/reserved-ips/${await this.ipId()}`;
    const rip = (
      (await this.call({ method: 'GET', base: this.api, path })).json as { reserved_ip?: ReservedIp } | undefined
    )?.reserved_ip;
    if (!rip) throw new CloudError('server', `vultr GET ${path}: answer has no "reserved_ip" object`);
    return rip;
  }

  /** The reserved IP's id: configured, or found once by address and remembered. */
  private async ipId(): Promise<string> {
    if (this.id !== undefined) return this.id;
    let cursor = '';
    for (let page = 0; page < MAX_PAGES; page++) {
      const path = `/v2/reserved-ips?per_page=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const j = (await this.call({ method: 'GET', base: this.api, path })).json as
        | {
            reserved_ips?: ReservedIp[];
            meta?: { links?: { next?: unknown } };
          }
        | undefined;
      const hit = (j?.reserved_ips ?? []).find((r) => covers(r, this.s.address));
      if (hit && typeof hit.id === 'string') return (this.id = hit.id);
      const next = j?.meta?.links?.next;
      if (typeof next !== 'string' || next === '') break;
      cursor = next;
    }
    throw new CloudError(
      'not_found',
      `vultr: no reserved IP ${this.s.address} in this account (looked through GET /v2/reserved-ips)`,
    );
  }

  private call(req: HttpRequest): Promise<HttpResponse> {
    return httpRequest(this.s, dialect, {
      ...req,
      headers: { authorization: `Bearer ${this.s.token}`, ...req.headers },
    });
  }

  private check(): void {
    if (this.problems.length) throw new CloudError('invalid', `vultr: ${this.problems.join('; ')}`);
  }
}

/** A reserved IPv4 is one address; a reserved IPv6 is a subnet the address lies in. */
function covers(r: ReservedIp, address: string): boolean {
  if (typeof r.subnet !== 'string') return false;
  return r.subnet === address || (typeof r.subnet_size === 'number' && inSubnet(address, r.subnet, r.subnet_size));
}

function instanceId(v: string, from: string): string {
  if (!/^[A-Za-z0-9-]{1,64}$/.test(v))
    throw new CloudError('invalid', `vultr: ${from} gave "${v.slice(0, 40)}", not an instance id`);
  return v;
}

export const vultr: ProviderFactory = (s) => new Vultr(s);
