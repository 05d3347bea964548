/**
 * The configuration → component mapping, pure and exhaustive: every field of each target
 * (InstanceParams, check specs, notifier targets, …) is written out through `All<T>`, so a new
 * field that nobody maps fails to compile instead of being silently dropped (how `http_host`
 * was lost). The consumed-field tables at the end do the same from the config's side: a new
 * config field must be named here, with where it goes.
 */
import type { FloatdConfig, InstanceConfig } from '../config/index.js';
import type { NotifyConfig, VrrpScript, WebhookDef } from '../config/model.js';
import type { AddressSpec } from '../net/addresses.js';
import type { VrrpSocketOptions } from '../net/vrrp-socket.js';
import type { NotifierConfig, NotifyTargets } from '../notify/notifier.js';
import type { WebhookConfig } from '../notify/webhook.js';
import type {
  CheckSpec,
  CheckCommon,
  InstanceTrackingSpec,
  ScriptIdentity,
  TrackFileSpec,
  TrackingConfig,
  TrackProcessSpec,
  TrackRef,
} from '../track/types.js';
import { msToUs } from '../util/clock.js';
import type { InstanceParams } from '../vrrp/fsm.js';
import type { Advert } from '../vrrp/packet.js';
import type { Expect } from '../vrrp/validate.js';

/** Every key of T, optional ones included (value may be undefined): a forgotten key fails to compile. */
export type All<T> = { [K in keyof Required<T>]: T[K] | undefined };

/** Drops the undefined members of an All<T> (optional fields stay absent, not `undefined`). */
export function defined<T>(o: All<T>): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

export const VRRP_GROUP_V4 = '224.0.0.18';
export const VRRP_GROUP_V6 = 'ff02::12';

/** How long a stopping MASTER keeps its VIPs waiting for the new MASTER: one interval + 1 s. */
export function shutdownHandoverUs(ic: InstanceConfig): number {
  return ic.advertIntervalCs * 10_000 + 1_000_000;
}

/**
 * Quorum mode: how long a planned hand-over drains (new connections refused, open ones finish)
 * before the VIPs go. Short: SYNs dropped meanwhile come back after 1 s and must find the new holder.
 */
export const QUORUM_DRAIN_US = 200_000;

/** An advert timer this much late still re-arms from its due time (see the FSM). */
export const ADVERT_LATENESS_US = 2000;

/** `quorum`: the instance (or its sync group) names a floatd_quorum: MASTER only under the lease. */
export function instanceParams(ic: InstanceConfig, src: string, quorum = false): InstanceParams {
  return defined<InstanceParams>({
    name: ic.name,
    vrid: ic.vrid,
    version: ic.version,
    family: ic.family,
    priority: ic.priority,
    initialState: ic.initialState,
    advertIntervalCs: ic.advertIntervalCs,
    preempt: ic.preempt,
    preemptDelayUs: ic.preemptDelayMs * 1000,
    downTimerAdverts: ic.downTimerAdverts,
    myAddress: src,
    lowerPrioNoAdvert: ic.lowerPrioNoAdvert,
    higherPrioSendAdvert: ic.higherPrioSendAdvert,
    garpMasterDelayUs: ic.garp.masterDelayMs * 1000,
    garpMasterRefreshUs: ic.garp.masterRefreshMs * 1000,
    garpLowerPrioDelayUs: ic.garp.lowerPrioDelayMs * 1000,
    advertAfterVips: true,
    shutdownHandoverUs: shutdownHandoverUs(ic),
    advertLatenessUs: ADVERT_LATENESS_US,
    quorum: quorum || undefined,
    quorumDrainUs: quorum ? QUORUM_DRAIN_US : undefined,
  } satisfies All<InstanceParams>);
}

/** Where the instance's adverts go: its unicast peers, or the multicast group. */
export function destinations(ic: InstanceConfig): string[] {
  return ic.unicastPeers.length > 0 ? ic.unicastPeers.map((p) => p.address) : [group(ic)];
}

function group(ic: InstanceConfig): string {
  return ic.mcastGroup ?? (ic.family === 4 ? VRRP_GROUP_V4 : VRRP_GROUP_V6);
}

export function socketOptions(ic: InstanceConfig, src: string): VrrpSocketOptions {
  const unicast = ic.unicastPeers.length > 0;
  return defined<VrrpSocketOptions>({
    family: ic.family,
    ifname: ic.interface,
    peers: unicast ? destinations(ic) : undefined,
    unicastSrc: unicast ? src : undefined,
    mcastGroup: unicast ? undefined : group(ic),
    mcastSrc: ic.family === 6 && !unicast ? src : undefined,
    proto: undefined,
    ttl: undefined,
  } satisfies All<VrrpSocketOptions>);
}

export function passBytes(pass: string): Buffer {
  const b = Buffer.alloc(8);
  b.write(pass.slice(0, 8), 'latin1');
  return b;
}

/** What a received advert must look like for this instance. */
export function expectFor(ic: InstanceConfig): Expect {
  const pass = ic.auth.type === 'PASS';
  return defined<Expect>({
    version: ic.version,
    authType: pass ? 1 : 0,
    authPass: passBytes(pass ? ic.auth.pass : ''),
    advertIntervalCs: ic.advertIntervalCs,
    vips: ic.vips.map((v) => v.address),
    unicast: ic.unicastPeers.length > 0,
    peers: ic.unicastPeers,
    checkUnicastSrc: ic.checkUnicastSrc,
    requireTtl255: ic.unicastTtl === undefined,
    v3ChecksumAsV2: undefined,
  } satisfies All<Expect>);
}

/** The advert this instance sends, at `priority`. */
export function advertFor(ic: InstanceConfig, priority: number): Advert {
  const pass = ic.version === 2 && ic.auth.type === 'PASS';
  return defined<Advert>({
    version: ic.version,
    vrid: ic.vrid,
    priority,
    addresses: ic.vips.map((v) => v.address),
    advertIntervalCs: ic.advertIntervalCs,
    authType: pass ? 1 : 0,
    authData: passBytes(pass ? ic.auth.pass : ''),
    checksum: undefined,
  } satisfies All<Advert>);
}

/** The kernel addresses an instance holds as MASTER (VIPs, excluded VIPs, cloud-local extras). */
export function vipSpecs(ic: InstanceConfig, extra: InstanceConfig['vips'] = []): AddressSpec[] {
  return [...ic.vips, ...ic.excludedVips, ...extra].map((v) =>
    defined<AddressSpec>({
      ifname: v.dev ?? ic.interface,
      address: v.address,
      prefix: v.prefix,
      label: v.label,
      scope: v.scope,
      broadcast: v.brd,
      peer: undefined,
      nodad: undefined,
      preferredLft: undefined,
      validLft: undefined,
      noprefixroute: undefined,
    } satisfies All<AddressSpec>),
  );
}

/** The config's ms (parsed from keepalived's seconds) as the trackers' µs; absent stays absent. */
const optUs = (ms: number | undefined): number | undefined => (ms === undefined ? undefined : msToUs(ms));

function checkSpec(sc: VrrpScript): CheckSpec {
  const common = {
    name: sc.name,
    intervalUs: msToUs(sc.intervalMs),
    timeoutUs: optUs(sc.timeoutMs),
    weight: sc.weight,
    reverse: sc.reverse,
    rise: sc.rise,
    fall: sc.fall,
    initFail: sc.initFail,
  } satisfies All<CheckCommon>;
  if (sc.kind === 'http') {
    return defined<CheckSpec>({
      ...common,
      kind: 'http',
      url: sc.url ?? '',
      expectStatus: sc.expectStatus,
      expectBody: sc.expectBody,
      tlsVerify: sc.tlsVerify,
      host: sc.host,
      method: undefined,
    } satisfies All<Extract<CheckSpec, { kind: 'http' }>>);
  }
  if (sc.kind === 'tcp') {
    return defined<CheckSpec>({
      ...common,
      kind: 'tcp',
      host: sc.host ?? '127.0.0.1',
      port: sc.port ?? 0,
    } satisfies All<Extract<CheckSpec, { kind: 'tcp' }>>);
  }
  return defined<CheckSpec>({
    ...common,
    kind: 'script',
    argv: sc.argv ?? [],
    user: sc.user,
    group: sc.group,
  } satisfies All<Extract<CheckSpec, { kind: 'script' }>>);
}

export function trackingConfig(cfg: FloatdConfig, scriptUser: ScriptIdentity | undefined): TrackingConfig {
  return defined<TrackingConfig>({
    checks: cfg.scripts.map(checkSpec),
    files: cfg.trackFiles.map((f) =>
      defined<TrackFileSpec>({
        name: f.name,
        path: f.path,
        weight: f.weight,
        reverse: f.reverse,
        initFile: f.initFile,
        pollUs: undefined,
      } satisfies All<TrackFileSpec>),
    ),
    processes: cfg.trackProcesses.map((p) =>
      defined<TrackProcessSpec>({
        name: p.name,
        process: p.process,
        weight: p.weight,
        reverse: p.reverse,
        quorum: p.quorum,
        fullCommand: p.fullCommand,
        params: p.params,
        paramMatch: p.paramMatch,
        quorumMax: p.quorumMax,
        forkDelayUs: optUs(p.forkDelayMs),
        terminateDelayUs: optUs(p.terminateDelayMs),
      } satisfies All<TrackProcessSpec>),
    ),
    scriptSecurity: cfg.global.enableScriptSecurity,
    scriptUser,
    processPollUs: undefined,
    instances: cfg.instances.map((ic) => {
      const tracks: TrackRef[] = [];
      if (!ic.dontTrackPrimary) tracks.push({ kind: 'interface', name: ic.interface, weight: 0, reverse: false });
      for (const t of ic.trackInterfaces)
        if (t.name !== ic.interface || ic.dontTrackPrimary) tracks.push({ kind: 'interface', ...t });
      for (const t of ic.trackScripts) tracks.push({ kind: 'script', ...t });
      for (const t of ic.trackFiles) tracks.push({ kind: 'file', ...t });
      for (const t of ic.trackProcesses) tracks.push({ kind: 'process', ...t });
      const inGroup = cfg.syncGroups.some((g) => g.members.includes(ic.name));
      return defined<InstanceTrackingSpec>({
        name: ic.name,
        basePriority: ic.priority,
        inSyncGroup: inGroup,
        syncGroupTrackingWeight: undefined,
        tracks,
      } satisfies All<InstanceTrackingSpec>);
    }),
  } satisfies All<TrackingConfig>);
}

function targets(n: NotifyConfig): NotifyTargets {
  return defined<NotifyTargets>({
    master: n.master,
    backup: n.backup,
    fault: n.fault,
    stop: n.stop,
    generic: n.generic,
    masterRxLowerPri: n.masterRxLowerPri,
    deleted: undefined,
    notifyDeleted: undefined,
  } satisfies All<NotifyTargets>);
}

/** A notify_webhook block as the notifier takes it; `read` reads the secret files (at (re)load). */
export function webhookConfig(w: WebhookDef, read: (file: string) => string): WebhookConfig {
  const headers = { ...w.headers };
  if (w.authorizationFile) headers.Authorization = read(w.authorizationFile);
  return defined<WebhookConfig>({
    url: w.url,
    headers,
    secret: w.secretFile ? read(w.secretFile) : undefined,
    timeoutUs: optUs(w.timeoutMs),
    retries: w.retries,
    backoffUs: optUs(w.backoffMs),
    maxBackoffUs: optUs(w.maxBackoffMs),
    tlsVerify: w.tlsVerify,
    only: w.instances,
  } satisfies All<WebhookConfig>);
}

/** The notifier's view; webhooks whose secrets cannot be read come back in `disabled`. */
export function notifierConfig(
  cfg: FloatdConfig,
  scriptUser: ScriptIdentity | undefined,
  read: (file: string) => string,
): { config: NotifierConfig; disabled: Array<{ name: string; error: string }> } {
  const disabled: Array<{ name: string; error: string }> = [];
  const webhooks = cfg.webhooks.flatMap((w) => {
    try {
      return [webhookConfig(w, read)];
    } catch (e) {
      disabled.push({ name: w.name, error: (e as Error).message });
      return [];
    }
  });
  return {
    disabled,
    config: {
      instances: Object.fromEntries(cfg.instances.map((ic) => [ic.name, targets(ic.notify)])),
      groups: Object.fromEntries(cfg.syncGroups.map((g) => [g.name, g.notify ? targets(g.notify) : {}])),
      fifos: cfg.global.notifyFifo ? [{ path: cfg.global.notifyFifo }] : [],
      webhooks,
      scriptSecurity: cfg.global.enableScriptSecurity,
      ...(scriptUser ? { scriptUser } : {}),
      ...(cfg.global.notifyScriptTimeoutMs !== undefined
        ? { scriptTimeoutUs: msToUs(cfg.global.notifyScriptTimeoutMs) }
        : {}),
      ...(cfg.global.notifySupersedeMs !== undefined ? { supersedeUs: msToUs(cfg.global.notifySupersedeMs) } : {}),
    },
  };
}

/**
 * Where each vrrp_script field goes (the config's side of exhaustiveness): a field added to
 * VrrpScript fails to compile until it is named here. 'pos' is for diagnostics only.
 */
export const SCRIPT_FIELDS = {
  name: 'check',
  kind: 'check',
  argv: 'script check',
  url: 'http check',
  expectStatus: 'http check',
  expectBody: 'http check',
  tlsVerify: 'http check',
  host: 'http Host header / tcp host',
  port: 'tcp check',
  intervalMs: 'check',
  timeoutMs: 'check',
  weight: 'check',
  reverse: 'check',
  rise: 'check',
  fall: 'check',
  initFail: 'check',
  user: 'script check',
  group: 'script check',
  pos: 'diagnostics only',
} as const satisfies Record<keyof VrrpScript, string>;
