/**
 * DigitalOcean reserved IPs (IPv4 and IPv6; the legacy floating_ips path with `mode floating_ips`).
 *   whoAmI:  metadata GET /metadata/v1/id (or instance_id from the config)
 *   holder:  GET /v2/reserved_ips/{ip} → reserved_ip.droplet.id | null
 *   assign:  POST /v2/reserved_ips/{ip}/actions {"type":"assign","droplet_id":N} → action,
 *            then GET /v2/reserved_ips/{ip}/actions/{id} until completed | errored.
 * A new action while one is pending is refused with 422 "…already has a pending event" → busy.
 * IPv4 needs nothing on the droplet (traffic arrives on the anchor IP); IPv6 is only routed,
 * so the address must be put on an interface.
 */
import { isIP } from 'node:net';
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

export const DO_API_URL = 'https://api.digitalocean.com';
export const DO_METADATA_URL = 'http://169.254.169.254';

const dialect: ProviderDialect = {
  name: 'digitalocean',
  // {"id":"unprocessable_entity","message":"…","request_id":"…"}; metadata answers plain text.
  errorDetail: (body) => bodyDetail(body, (b) => ({ code: b.id, message: b.message })),
  classify(status, _code, message) {
    // doctl#493: "422 The floating IP already has a pending event."
    if (status === 422 && /pending/i.test(message ?? '')) return 'busy';
    return undefined;
  },
  // ratelimit-reset: when the oldest request of the hourly window expires (Unix seconds).
  retryAfterMs: (h, now) => resetEpochToMs(h.get('ratelimit-reset'), now),
};

const metaDialect: ProviderDialect = { ...dialect, name: 'digitalocean metadata' };

interface DoAction {
  id?: unknown;
  status?: unknown;
  type?: unknown;
}

/** The address's API collection and JSON key: reserved_ips/reserved_ip, floating_ips/floating_ip, reserved_ipv6. */
function collectionFor(address: string, resource: string | undefined): { path: string; key: string } {
  if (isIP(address) === 6) return { path: 'reserved_ipv6', key: 'reserved_ipv6' };
  if (resource === 'floating_ips') return { path: 'floating_ips', key: 'floating_ip' };
  return { path: 'reserved_ips', key: 'reserved_ip' };
}

class DigitalOcean implements CloudProvider {
  readonly name = 'digitalocean';
  readonly needsLocalAddress: boolean;
  /** holder() answers busy while the reserved IP is `locked` (an action pending). */
  readonly reportsPending = true;
  private readonly api: string;
  private readonly meta: string;
  private readonly coll: { path: string; key: string };
  private readonly pollMs: number;
  private readonly actionLimitMs: number;
  private readonly problems: string[] = [];

  constructor(private readonly s: ProviderSettings) {
    // Accept the base with or without /v2 (doctl's --api-url has none, dots-wrapper's has it).
    this.api = trimBase(s.apiUrl ?? DO_API_URL).replace(/\/v2$/, '');
    this.meta = trimBase(s.metadataUrl ?? DO_METADATA_URL);
    const family = isIP(s.address);
    if (family === 0)
      this.problems.push(
        `address "${s.address}" is not an IP address (DigitalOcean names reserved IPs by their address)`,
      );
    const res = s.options.mode;
    if (res !== undefined && res !== 'reserved_ips' && res !== 'floating_ips')
      this.problems.push(`option mode must be reserved_ips or floating_ips (got "${res}")`);
    this.coll = collectionFor(s.address, res);
    this.needsLocalAddress = family === 6;
    this.pollMs = optionMs(s.options, 'poll_interval', 1000, this.problems);
    this.actionLimitMs = optionMs(s.options, 'action_timeout', 60_000, this.problems);
  }

  async whoAmI(): Promise<string> {
    this.check();
    if (this.s.instanceId !== undefined) return digitsId('digitalocean', 'droplet', this.s.instanceId, 'instance_id');
    // No Authorization header: the token is for the API only.
    const r = await httpRequest(this.s, metaDialect, {
      method: 'GET',
      base: this.meta,
      path: '/metadata/v1/id',
      headers: { accept: 'text/plain' },
    });
    return digitsId('digitalocean', 'droplet', r.text.trim(), 'the metadata service /metadata/v1/id');
  }

  async holder(): Promise<string | null> {
    this.check();
    const r = await this.call({ method: 'GET', base: this.api, path: this.ipPath() });
    const ip = (
      r.json as Record<string, { droplet?: { id?: unknown } | null; locked?: unknown } | undefined> | undefined
    )?.[this.coll.key];
    if (!ip)
      throw new CloudError('server', `digitalocean GET ${this.ipPath()}: answer has no "${this.coll.key}" object`);
    // DO leaves `droplet` out (rather than null) for a token without droplet:read: the holder
    // cannot be known, so nothing may be assigned (issue 15 item 20). Not retried fast.
    if (!('droplet' in ip)) {
      throw new CloudError(
        'auth',
        `digitalocean GET ${this.ipPath()}: the answer has no "droplet" field: ` +
          'the token lacks the droplet:read scope, ' +
          `so floatd cannot see who holds ${this.s.address} and will not assign it (reserved_ip:update needs ` +
          'reserved_ip:read, droplet:read, regions:read, sizes:read, actions:read, image:read)',
      );
    }
    const id = ip.droplet?.id;
    const holder = id === undefined || id === null ? null : String(id);
    // `locked`: an action is pending on the IP. Its outcome decides the holder; assigning now
    // would be refused (422) or, worse, be overtaken by it (issue 15 item 21). Wait for it.
    if (ip.locked === true)
      throw new CloudError(
        'busy',
        `digitalocean GET ${this.ipPath()}: the reserved IP is locked ` +
          `(an action is pending; holder now ${holder ?? 'nobody'})`,
      );
    return holder;
  }

  async assign(self: string): Promise<void> {
    this.check();
    const droplet = Number(digitsId('digitalocean', 'droplet', self, 'the droplet to assign to'));
    let post: HttpResponse;
    try {
      post = await this.call({
        method: 'POST',
        base: this.api,
        path: `${this.ipPath()}/actions`,
        body: { type: 'assign', droplet_id: droplet },
      });
    } catch (e) {
      // DO refuses to assign a droplet the reserved IP it already has (422, as for a droplet
      // holding another one). If it is ours already — an earlier action finished after all —
      // the move is done; otherwise DO's refusal stands.
      if (
        e instanceof CloudError &&
        e.status === 422 &&
        e.kind === 'invalid' &&
        (await this.holder().catch(() => undefined)) === self
      )
        return;
      throw e;
    }
    const action = actionOf<DoAction>('digitalocean', post.json, `POST ${this.ipPath()}/actions`);
    const first = actionState(action);
    if (first.state === 'failed')
      throw new CloudError(
        'server',
        `digitalocean action ${String(action.id)} (assign ${this.s.address} to ${self}) ended in error: ${first.why}`,
      );
    if (first.state === 'done') return;
    // IPv4 actions are readable in the IP's own collection with the reserved_ip scope; IPv6
    // actions only through the global /v2/actions.
    const pollPath =
      this.coll.path === 'reserved_ipv6'
        ? `/v2/actions/${String(action.id)}`
        : `${this.ipPath()}/actions/${String(action.id)}`;
    await followAction(
      {
        what: `digitalocean action ${String(action.id)} (assign ${this.s.address} to ${self})`,
        intervalMs: this.pollMs,
        limitMs: this.actionLimitMs,
        ...(this.s.signal ? { signal: this.s.signal } : {}),
      },
      async () => {
        try {
          return actionState(
            actionOf<DoAction>(
              'digitalocean',
              (await this.call({ method: 'GET', base: this.api, path: pollPath })).json,
              `GET ${pollPath}`,
            ),
          );
        } catch (e) {
          // An action can 404 for a while after it was created, and a BYOIP address's actions
          // never show up (DO's Terraform provider, #1557/#1558): then the IP itself says.
          if (!(e instanceof CloudError) || e.kind !== 'not_found') throw e;
          return (await this.holder()) === self ? { state: 'done' } : { state: 'running' };
        }
      },
    );
  }

  /** The address goes in the path as written (validated as an IP; DO's own examples keep the colons of IPv6). */
  private ipPath(): string {
    return `/v2/${this.coll.path}/${this.s.address}`;
  }

  /** An API request, with the token. */
  private call(req: HttpRequest): Promise<HttpResponse> {
    return httpRequest(this.s, dialect, {
      ...req,
      headers: { authorization: `Bearer ${this.s.token}`, ...req.headers },
    });
  }

  private check(): void {
    if (this.problems.length) throw new CloudError('invalid', `digitalocean: ${this.problems.join('; ')}`);
  }
}

function actionState(a: DoAction): ActionState {
  if (a.status === 'completed') return { state: 'done' };
  if (a.status === 'errored') return { state: 'failed', why: `status errored (type ${String(a.type)})` };
  return { state: 'running' };
}

export const digitalocean: ProviderFactory = (s) => new DigitalOcean(s);
