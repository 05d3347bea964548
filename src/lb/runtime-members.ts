/**
 * Real servers added and removed through the API, without a reload (pure). The file stays the
 * truth: these changes sit in an overlay on the file's virtual servers and are dropped by the
 * next reload or restart (keepalived users expect the file to say what runs; docs/lb.md).
 * The effective membership is the file's servers minus the removed ones plus the added ones;
 * the service applies it as any other membership change (one nft transaction, only what differs).
 */
import type { LvsCheckConfig, RealServerConfig, VirtualServerConfig } from '../config/lvs-model.js';
import { refuse, type Refusal } from '../errors.js';
import { rsKey } from './membership.js';

export interface Overlay {
  /** Per virtual server key: servers added at runtime, in the order they came. */
  added: Map<string, RealServerConfig[]>;
  /** Per virtual server key: the file's servers removed at runtime (rsKey). */
  removed: Map<string, Set<string>>;
}

export const emptyOverlay = (): Overlay => ({ added: new Map(), removed: new Map() });

export const overlayEmpty = (o: Overlay): boolean =>
  ![...o.added.values()].some((a) => a.length) && ![...o.removed.values()].some((r) => r.size);

/** The file's virtual servers with the overlay applied (the file's objects are not changed). */
export function effectiveVss(file: VirtualServerConfig[], o: Overlay): VirtualServerConfig[] {
  return file.map((v) => {
    const removed = o.removed.get(v.key);
    const added = o.added.get(v.key) ?? [];
    if (!removed?.size && !added.length) return v;
    return { ...v, realServers: [...v.realServers.filter((r) => !removed?.has(rsKey(r))), ...added] };
  });
}

/** Whether a server of a virtual server came from the API (for status). */
export const isRuntimeAdded = (o: Overlay, vs: string, rs: string): boolean =>
  (o.added.get(vs) ?? []).some((r) => rsKey(r) === rs);

/** A virtual server by its key ("192.0.2.100:80/TCP"), or without "/PROTO" when that names one. */
export function findVs(vss: VirtualServerConfig[], key: string): VirtualServerConfig | Refusal {
  const exact = vss.find((v) => v.key === key);
  if (exact) return exact;
  const loose = vss.filter((v) => v.key.replace(/\/(TCP|UDP)$/, '') === key);
  if (loose.length === 1) return loose[0]!;
  return refuse(
    'LB_NO_SUCH_VIRTUAL_SERVER',
    loose.length
      ? `${key} names ${loose.length} virtual servers: add /TCP or /UDP`
      : `no virtual_server ${key} (have: ${vss.map((v) => v.key).join(', ') || 'none'})`,
  );
}

export interface AddRequest {
  vs: string;
  address: string;
  port: number;
  weight?: number;
  /** Copy the checks of this server (rsKey) of the same virtual server. */
  checksFrom?: string;
  /** Or: the server as parsed from the API's keepalived-syntax body (api-checks.ts). */
  given?: Pick<RealServerConfig, 'checks' | 'weight' | 'inhibitOnFailure'>;
}

const family = (a: string): 4 | 6 => (a.includes(':') ? 6 : 4);

/** A check copied to another server: a connect_ip/port that named the source now names the copy. */
function copyCheck(ch: LvsCheckConfig, from: RealServerConfig): LvsCheckConfig {
  const c = { ...ch };
  if (c.connectIp === from.address) delete c.connectIp;
  if (c.connectPort === from.port) delete c.connectPort;
  return c;
}

export function addRealServer(
  file: VirtualServerConfig[],
  o: Overlay,
  req: AddRequest,
): { ok: true; overlay: Overlay; vs: VirtualServerConfig; rs: RealServerConfig } | Refusal {
  const found = findVs(effectiveVss(file, o), req.vs);
  if ('ok' in found) return found;
  const vs = found;
  const key = rsKey(req);
  if (family(req.address) !== vs.family)
    return refuse('LB_BAD_REAL_SERVER', `${key} is IPv${family(req.address)}; ${vs.key} is IPv${vs.family}`);
  if (vs.method === 'DR' && vs.endpoints.length && req.port !== vs.endpoints[0]!.port)
    return refuse('LB_BAD_REAL_SERVER', `${vs.key} is DR: a real server's port must be the service's`);
  if (vs.realServers.some((r) => rsKey(r) === key))
    return refuse('LB_REAL_SERVER_EXISTS', `${vs.key} already has real server ${key}`);
  let checks: LvsCheckConfig[] = req.given?.checks ?? [];
  let inhibit = req.given?.inhibitOnFailure ?? false;
  if (req.checksFrom !== undefined) {
    const src = vs.realServers.find((r) => rsKey(r) === req.checksFrom);
    if (!src)
      return refuse('LB_NO_SUCH_REAL_SERVER', `${vs.key} has no real server ${req.checksFrom} to copy checks from`);
    if (src.checks.some((c) => c.kind === 'MISC_CHECK'))
      return refuse(
        'LB_BAD_REAL_SERVER',
        `${req.checksFrom} has a MISC_CHECK: its command names its own server, so it is not copied (use the file)`,
      );
    checks = src.checks.map((c) => copyCheck(c, src));
    inhibit = src.inhibitOnFailure;
  }
  const rs: RealServerConfig = {
    address: req.address,
    port: req.port,
    weight: req.weight ?? req.given?.weight ?? 1,
    inhibitOnFailure: inhibit,
    checks,
    pos: { file: 'api', line: 0, col: 0 },
  };
  const added = new Map(o.added);
  added.set(vs.key, [...(o.added.get(vs.key) ?? []), rs]);
  return { ok: true, overlay: { added, removed: o.removed }, vs, rs };
}

export function removeRealServer(
  file: VirtualServerConfig[],
  o: Overlay,
  vsText: string,
  rs: string,
): { ok: true; overlay: Overlay; vs: VirtualServerConfig; fromFile: boolean } | Refusal {
  const found = findVs(effectiveVss(file, o), vsText);
  if ('ok' in found) return found;
  const vs = found;
  if (!vs.realServers.some((r) => rsKey(r) === rs))
    return refuse('LB_NO_SUCH_REAL_SERVER', `${vs.key} has no real server ${rs}`);
  const mine = o.added.get(vs.key) ?? [];
  if (mine.some((r) => rsKey(r) === rs)) {
    const added = new Map(o.added);
    added.set(
      vs.key,
      mine.filter((r) => rsKey(r) !== rs),
    );
    return { ok: true, overlay: { added, removed: o.removed }, vs, fromFile: false };
  }
  const removed = new Map(o.removed);
  removed.set(vs.key, new Set([...(o.removed.get(vs.key) ?? []), rs]));
  return { ok: true, overlay: { added: o.added, removed }, vs, fromFile: true };
}
