/**
 * Hetzner Cloud floating IPs.
 *   whoAmI:  metadata GET /hetzner/v1/metadata/instance-id (or instance_id from the config)
 *   holder:  GET /v1/floating_ips/{id} → floating_ip.server | null
 *   assign:  POST /v1/floating_ips/{id}/actions/assign {"server":N} → action,
 *            then GET /v1/actions/{id} until success | error.
 * The floating IP's id comes from `ip_id`, from an all-digit `address`, or by finding the
 * address in GET /v1/floating_ips (once; the API has no filter by IP). A concurrent action is
 * refused with 423 `locked` → busy. The OS must carry the address (needsLocalAddress).
 */
import { isIP } from 'node:net';
import { inSubnet } from '../ip.js';
import { CloudError, type CloudProvider, type ProviderFactory, type ProviderSettings } from '../types.js';
import {
  bodyDetail,
  digitsId,
  httpRequest,
  optionMs,
  resetEpochToMs,
  trimBase,
  type HttpRequest,
  type HttpResponse,
  type ProviderDialect,
} from '../http.js';
import { actionOf, followAction, type ActionState } from '../action-poll.js';

export const HETZNER_API_URL = 'https://api.hetzner.cloud';
export const HETZNER_METADATA_URL = 'http://169.254.169.254';
/** Pages of 50 floating IPs looked through to find the address: 1,000 IPs. */
const MAX_PAGES = 20;

const dialect: ProviderDialect = {
  name: 'hetzner',
  // {"error":{"code":"locked","message":"…","details":…}}; metadata answers plain text.
  errorDetail: (body) => bodyDetail(body, (b) => b.error as { code?: unknown; message?: unknown } | undefined),
  classify(status, code) {
    // 423 `locked`: another action runs on the resource, and it ends. 423 `protected` (delete or
    // rebuild protection) does not end by waiting, and neither does any other 423: invalid.
    if (code === 'locked' || (status === 423 && code === undefined)) return 'busy';
    if (status === 423) return 'invalid';
    // hcloud-go retries `conflict` (409): the resource changed under the request.
    if (status === 409 && code === 'conflict') return 'busy';
    return undefined;
  },
  // The bucket refills one request a second; RateLimit-Reset is when it is *full* again.
  retryAfterMs: (h, now) => {
    const full = resetEpochToMs(h.get('ratelimit-reset'), now);
    return full === undefined ? undefined : Math.min(1000, full);
  },
};
const metaDialect: ProviderDialect = { ...dialect, name: 'hetzner metadata' };

interface HAction {
  id?: unknown;
  status?: unknown;
  error?: { code?: unknown; message?: unknown } | null;
}

class Hetzner implements CloudProvider {
  readonly name = 'hetzner';
  readonly needsLocalAddress = true;
  private readonly api: string;
  private readonly meta: string;
  private readonly pollMs: number;
  private readonly actionLimitMs: number;
  private readonly problems: string[] = [];
  private id: string | undefined;

  constructor(private readonly s: ProviderSettings) {
    this.api = trimBase(s.apiUrl ?? HETZNER_API_URL).replace(/\/v1$/, '');
    this.meta = trimBase(s.metadataUrl ?? HETZNER_METADATA_URL);
    this.pollMs = optionMs(s.options, 'poll_interval', 1000, this.problems);
    this.actionLimitMs = optionMs(s.options, 'action_timeout', 60_000, this.problems);
    const given = s.options.ip_id ?? (/^\d+$/.test(s.address) ? s.address : undefined);
    if (given !== undefined && !/^\d+$/.test(given))
      this.problems.push(`ip_id must be the floating IP's numeric id (got "${given}")`);
    else this.id = given;
    if (given === undefined && isIP(s.address) === 0)
      this.problems.push(`address "${s.address}" is neither an IP address nor a floating IP id`);
  }

  async whoAmI(): Promise<string> {
    this.check();
    if (this.s.instanceId !== undefined) return digitsId('hetzner', 'server', this.s.instanceId, 'instance_id');
    const r = await httpRequest(this.s, metaDialect, {
      method: 'GET',
      base: this.meta,
      path: '/hetzner/v1/metadata/instance-id',
      headers: { accept: 'text/plain' },
    });
    return digitsId('hetzner', 'server', r.text.trim(), 'the metadata service instance-id');
  }

  async holder(): Promise<string | null> {
    this.check();
    const path = `/v1/floating_ips/${await this.ipId()}`;
    const fip = (await this.call({ method: 'GET', base: this.api, path })).json as
      | {
          floating_ip?: { server?: unknown };
        }
      | undefined;
    if (!fip?.floating_ip) throw new CloudError('server', `hetzner GET ${path}: answer has no "floating_ip" object`);
    const srv = fip.floating_ip.server;
    return srv === null || srv === undefined ? null : String(srv);
  }

  async assign(self: string): Promise<void> {
    this.check();
    const server = Number(digitsId('hetzner', 'server', self, 'the server to assign to'));
    try {
      await this.act('assign', { server });
    } catch (e) {
      // The spec lists 422 floating_ip_assigned ("already assigned"). If it means "to you",
      // the work is done; if it means "to another server", unassign first, then assign.
      if (!(e instanceof CloudError) || e.status !== 422 || !/floating_ip_assigned/.test(e.message)) throw e;
      if ((await this.holder()) === self) return;
      await this.act('unassign', undefined);
      await this.act('assign', { server });
    }
  }

  private async act(command: 'assign' | 'unassign', body: unknown): Promise<void> {
    const id = await this.ipId();
    const path = `/v1/floating_ips/${id}/actions/${command}`;
    const action = actionOf<HAction>(
      'hetzner',
      (await this.call({ method: 'POST', base: this.api, path, ...(body !== undefined ? { body } : {}) })).json,
      `POST ${path}`,
    );
    const what = `hetzner action ${String(action.id)} (${command} floating IP ${id})`;
    const first = actionState(action);
    if (first.state === 'failed') throw new CloudError('server', `${what} ended in error: ${first.why}`);
    if (first.state === 'done') return;
    const pollPath = `/v1/actions/${String(action.id)}`;
    await followAction(
      {
        what,
        intervalMs: this.pollMs,
        limitMs: this.actionLimitMs,
        ...(this.s.signal ? { signal: this.s.signal } : {}),
      },
      async () =>
        actionState(
          actionOf<HAction>(
            'hetzner',
            (await this.call({ method: 'GET', base: this.api, path: pollPath })).json,
            `GET ${pollPath}`,
          ),
        ),
    );
  }

  /** The floating IP's id: configured, or found once by address and remembered. */
  private async ipId(): Promise<string> {
    if (this.id !== undefined) return this.id;
    const v6 = isIP(this.s.address) === 6;
    for (let page = 1; page <= MAX_PAGES; page++) {
      const path = `/v1/floating_ips?page=${page}&per_page=50`;
      const j = (await this.call({ method: 'GET', base: this.api, path })).json as
        | { floating_ips?: { id?: unknown; ip?: unknown }[]; meta?: { pagination?: { next_page?: unknown } } }
        | undefined;
      const hit = (j?.floating_ips ?? []).find(
        (f) => typeof f.ip === 'string' && (v6 ? inPrefix(this.s.address, f.ip) : f.ip === this.s.address),
      );
      if (hit && (typeof hit.id === 'number' || typeof hit.id === 'string')) {
        this.id = String(hit.id);
        return this.id;
      }
      if (typeof j?.meta?.pagination?.next_page !== 'number') break;
    }
    throw new CloudError(
      'not_found',
      `hetzner: no floating IP ${this.s.address} in this project (looked through GET /v1/floating_ips)`,
    );
  }

  private call(req: HttpRequest): Promise<HttpResponse> {
    return httpRequest(this.s, dialect, {
      ...req,
      headers: { authorization: `Bearer ${this.s.token}`, ...req.headers },
    });
  }

  private check(): void {
    if (this.problems.length) throw new CloudError('invalid', `hetzner: ${this.problems.join('; ')}`);
  }
}

/** A floating IPv6 is a /64 ("2001:db8::/64"); the configured address is one inside it. */
function inPrefix(address: string, cidr: string): boolean {
  const [net, len] = cidr.split('/');
  return net !== undefined && len !== undefined ? inSubnet(address, net, Number(len)) : address === cidr;
}

function actionState(a: HAction): ActionState {
  if (a.status === 'success') return { state: 'done' };
  if (a.status === 'error') {
    const code = typeof a.error?.code === 'string' ? a.error.code : 'error';
    const msg = typeof a.error?.message === 'string' ? a.error.message : '';
    return { state: 'failed', why: msg ? `${code}: ${msg}` : code };
  }
  return { state: 'running' };
}

export const hetzner: ProviderFactory = (s) => new Hetzner(s);
