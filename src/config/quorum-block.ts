/**
 * The `floatd_quorum NAME { … }` block (floatd extension; docs/quorum.md): a lease in etcd that
 * a node must hold before it may hold a VIP. Times are checked against each other here, so a
 * configuration that could let two nodes hold an address is refused before the daemon runs.
 * A password never goes inline: it comes from a file or the environment.
 */
import { isIP } from 'node:net';
import type { Ctx } from './ctx.js';
import { checkFailsafe, checkFailsafePeers, FAILSAFE_PORT } from './quorum-failsafe.js';
export { failsafeInstances } from './quorum-failsafe.js';
import type { Node, Token } from './lexer.js';
import type { FloatdConfig, InstanceConfig, Pos, QuorumConfig, SyncGroupConfig } from './model.js';
import type { Diagnostic } from './diagnostics.js';
import { readBlock, type Keyword, type Schema } from './schema.js';
import { checkTimes } from './quorum-times.js';
export { quorumDefaults } from './quorum-times.js';

type BlockCtx = Ctx;
/** The block being read, with the tokens of the keywords written (defaults and positions depend on them). */
interface T {
  q: QuorumConfig;
  set: Map<string, Token>;
  backend: boolean;
}
type K = Keyword<T>;

/** A keyword with one value: `read` gets it (and the token is remembered), or "expected a value" is reported. */
const one = (read: (c: Ctx, a: Token, t: T, e: Node) => void): K => ({
  status: 'floatd',
  read: (c, e, t) => {
    const a = c.arg(e, 0, `a value for ${e.key.text}`);
    if (a) {
      t.set.set(e.key.text, a);
      read(c, a, t, e);
    }
  },
});
/** Seconds (whole when `integer`) in [min, max], milliseconds into `put`. */
const secs = (min: number, max: number, put: (q: QuorumConfig, ms: number) => void, integer = false): K =>
  one((c, a, t, e) => {
    const ok = integer ? /^\d+$/.test(a.text) : /^\d+(\.\d+)?$/.test(a.text);
    const v = Number(a.text);
    if (!ok || v < min || v > max)
      c.err(a, e.key.text, `expected ${integer ? 'whole ' : ''}seconds ${min}..${max}, got "${a.text}"`);
    else put(t.q, Math.round(v * 1000));
  });
const file = (put: (q: QuorumConfig, f: string) => void): K => one((_c, a, t) => put(t.q, a.text));
const failsafe = (t: T): NonNullable<QuorumConfig['failsafe']> =>
  (t.q.failsafe ??= { peers: [], port: FAILSAFE_PORT, pos: t.q.pos });
const auth = (q: QuorumConfig): NonNullable<QuorumConfig['auth']> => (q.auth ??= { username: '' });

export const QUORUM_SCHEMA: Schema<T> = {
  backend: one((c, a, t) => {
    t.backend = true;
    if (a.text !== 'etcd') c.err(a, 'backend', `expected etcd (the only backend so far), got "${a.text}"`);
  }),
  endpoints: {
    status: 'floatd',
    shape: 'any',
    read: (c, e, t) => {
      endpoints(c, e, t.q);
      t.set.set('endpoints', e.key);
    },
  },
  key: one((c, a, t) => {
    if (!/^\/[^\s]*[^/\s]$/.test(a.text)) {
      c.err(a, 'key', `expected an etcd key prefix starting with / (e.g. /floatd/web), got "${a.text}"`);
    }
    t.q.key = a.text;
  }),
  ttl: secs(
    1,
    60,
    (q, v) => {
      q.ttlMs = v;
    },
    true,
  ),
  renew: secs(0.05, 30, (q, v) => {
    q.renewMs = v;
  }),
  margin: secs(0, 30, (q, v) => {
    q.marginMs = v;
  }),
  dial_timeout: secs(0.1, 30, (q, v) => {
    q.dialTimeoutMs = v;
  }),
  kernel_lifetime: secs(
    0,
    59,
    (q, v) => {
      q.kernelLifetimeS = v / 1000;
    },
    true,
  ),
  fence_guard: one((c, a, t) => {
    if (a.text === 'on' || a.text === 'off') t.q.fenceGuard = a.text === 'on';
    else c.err(a, 'fence_guard', `expected on or off, got "${a.text}"`);
  }),
  on_quorum_loss: one((c, a, t) => {
    if (a.text === 'fence' || a.text === 'failsafe') t.q.onQuorumLoss = a.text;
    else c.err(a, 'on_quorum_loss', `expected fence or failsafe, got "${a.text}"`);
  }),
  failsafe_peers: {
    status: 'floatd',
    shape: 'any',
    read: (c, e, t) => {
      const words = [...e.args, ...(e.children ?? []).map((x) => x.key)];
      if (words.length === 0) c.err(e.key, 'failsafe_peers', 'expected one or more peer IP addresses');
      for (const w of words) {
        if (isIP(w.text)) failsafe(t).peers.push(w.text);
        else c.err(w, 'failsafe_peers', `expected an IP address, got "${w.text}"`);
      }
      t.set.set('failsafe_peers', e.key);
    },
  },
  failsafe_port: one((c, a, t, e) => {
    const v = Number(a.text);
    if (!/^\d+$/.test(a.text) || v < 1 || v > 65535)
      c.err(a, e.key.text, `expected a UDP port 1..65535, got "${a.text}"`);
    else failsafe(t).port = v;
  }),
  failsafe_secret_file: one((_c, a, t) => {
    failsafe(t).secretFile = a.text;
  }),
  ca_file: file((q, f) => {
    (q.tls ??= {}).caFile = f;
  }),
  cert_file: file((q, f) => {
    (q.tls ??= {}).certFile = f;
  }),
  key_file: file((q, f) => {
    (q.tls ??= {}).keyFile = f;
  }),
  username: file((q, f) => {
    auth(q).username = f;
  }),
  password_file: file((q, f) => {
    auth(q).passwordFile = f;
  }),
  password_env: file((q, f) => {
    auth(q).passwordEnv = f;
  }),
  password: {
    status: 'floatd',
    shape: 'any',
    read: (c, e) => {
      c.err(
        e.key,
        'password',
        'a password never goes in the configuration',
        'put it in a file (password_file PATH, mode 0600) or the environment (password_env VAR)',
        'CONFIG_SECRET',
      );
    },
  },
  watchdog: {},
};

export function quorumBlock(c: BlockCtx, n: Node): QuorumConfig | undefined {
  const name = c.arg(n, 0, 'a floatd_quorum name');
  if (!name) return undefined;
  const q: QuorumConfig = {
    name: name.text,
    backend: 'etcd',
    endpoints: [],
    key: '',
    ttlMs: 2000,
    renewMs: 0,
    marginMs: 0,
    kernelLifetimeS: 0,
    onQuorumLoss: 'fence',
    fenceGuard: true,
    dialTimeoutMs: 1000,
    pos: c.at(n.key),
  };
  const t: T = { q, set: new Map(), backend: false };
  readBlock(c, 'floatd_quorum', n, QUORUM_SCHEMA, t);
  const set = t.set;
  const backendSeen = t.backend;
  checkTimes(c, n, q, set);
  checkFailsafe(c, n, q, t.set);
  if (!backendSeen)
    c.err(
      n.key,
      'floatd_quorum',
      `floatd_quorum ${q.name} has no backend`,
      'add: backend etcd',
      'CONFIG_MISSING_VALUE',
    );
  if (q.endpoints.length === 0)
    c.err(
      n.key,
      'floatd_quorum',
      `floatd_quorum ${q.name} has no endpoints`,
      'add: endpoints http://198.51.100.100:2379 …',
      'CONFIG_MISSING_VALUE',
    );
  if (!q.key)
    c.err(
      n.key,
      'floatd_quorum',
      `floatd_quorum ${q.name} has no key`,
      'add: key /floatd/<cluster> (one lease key per instance or sync group under it)',
      'CONFIG_MISSING_VALUE',
    );
  if (q.tls && (q.tls.certFile === undefined) !== (q.tls.keyFile === undefined)) {
    c.err(
      n.key,
      'cert_file',
      'cert_file and key_file go together (a client certificate needs its key)',
      undefined,
      'CONFIG_CONFLICT',
    );
  }
  if (q.auth) {
    if (!q.auth.username)
      c.err(n.key, 'username', 'password_file/password_env without username', undefined, 'CONFIG_MISSING_VALUE');
    else if (!q.auth.passwordFile && !q.auth.passwordEnv)
      c.err(n.key, 'username', 'username without password_file or password_env', undefined, 'CONFIG_MISSING_VALUE');
  }
  const plain = q.endpoints.some((u) => u.startsWith('http://'));
  if (plain && (q.tls || q.auth))
    c.warn(
      n.key,
      'endpoints',
      'TLS or a password is configured but some endpoints are http://; the password would travel in clear',
      'use https:// endpoints',
      'CONFIG_SECRET',
    );
  return q;
}

function endpoints(c: BlockCtx, e: Node, q: QuorumConfig): void {
  const words = [...e.args, ...(e.children ?? []).map((x) => x.key)];
  if (words.length === 0) {
    c.err(e.key, 'endpoints', 'expected one or more http(s)://HOST:PORT URLs', undefined, 'CONFIG_MISSING_VALUE');
    return;
  }
  for (const w of words) {
    const m = /^(https?):\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})\/?$/.exec(w.text);
    if (!m || Number(m[3]) < 1 || Number(m[3]) > 65535) {
      c.err(w, 'endpoints', `expected http(s)://HOST:PORT, got "${w.text}"`);
      continue;
    }
    q.endpoints.push(w.text.replace(/\/$/, ''));
  }
}

/** `quorum NAME` inside vrrp_instance or vrrp_sync_group. */
export function quorumRef(c: BlockCtx, e: Node, into: InstanceConfig | SyncGroupConfig): void {
  const a = c.arg(e, 0, 'a floatd_quorum name');
  if (!a) return;
  if (into.quorum)
    c.err(
      a,
      'quorum',
      `a second quorum (${a.text}); one lease guards one instance or group`,
      undefined,
      'CONFIG_CONFLICT',
    );
  else {
    into.quorum = a.text;
    into.quorumPos = c.at(a);
  }
}

/** Cross-block checks once the whole file is read: names exist, a grouped instance leaves the lease to its group. */
export function checkQuorumRefs(cfg: FloatdConfig, diags: Diagnostic[]): void {
  const names = new Set(cfg.quorums.map((q) => q.name));
  const missing = (who: string, q: string, pos: Pos): void => {
    diags.push({
      severity: 'error',
      ...pos,
      keyword: 'quorum',
      code: 'CONFIG_REFERENCE',
      message: `${who} refers to floatd_quorum ${q}, which is not defined`,
      hint: `define it: floatd_quorum ${q} { backend etcd … }`,
    });
  };
  for (const sg of cfg.syncGroups)
    if (sg.quorum && !names.has(sg.quorum)) missing(`vrrp_sync_group ${sg.name}`, sg.quorum, sg.quorumPos ?? sg.pos);
  for (const ic of cfg.instances) {
    if (!ic.quorum) continue;
    if (!names.has(ic.quorum)) missing(`vrrp_instance ${ic.name}`, ic.quorum, ic.quorumPos ?? ic.pos);
    const g = cfg.syncGroups.find((s) => s.members.includes(ic.name));
    if (g) {
      diags.push({
        severity: 'error',
        ...(ic.quorumPos ?? ic.pos),
        keyword: 'quorum',
        code: 'CONFIG_CONFLICT',
        message: `vrrp_instance ${ic.name} is in vrrp_sync_group ${g.name}: the group moves as one and holds one lease`,
        hint: `move "quorum ${ic.quorum}" into vrrp_sync_group ${g.name}`,
      });
    }
  }
  for (const ic of cfg.instances) {
    const g = cfg.syncGroups.find((s) => s.members.includes(ic.name) && s.quorum);
    if ((ic.quorum || g) && ic.priority === 255) {
      diags.push({
        severity: 'error',
        ...(ic.quorumPos ?? g?.quorumPos ?? ic.pos),
        keyword: 'quorum',
        code: 'CONFIG_CONFLICT',
        message:
          `vrrp_instance ${ic.name} is the address owner (priority 255), which takes MASTER at start ` +
          'without waiting for the lease',
        hint: 'use priority 254 or lower with quorum',
      });
    }
  }
  for (const q of cfg.quorums) checkFailsafePeers(cfg, q, diags);
  for (const q of cfg.quorums) {
    const used = cfg.instances.some((i) => i.quorum === q.name) || cfg.syncGroups.some((g) => g.quorum === q.name);
    if (!used)
      diags.push({
        severity: 'warning',
        ...q.pos,
        keyword: 'floatd_quorum',
        code: 'CONFIG_IGNORED',
        message: `floatd_quorum ${q.name} is not used by any vrrp_instance or vrrp_sync_group`,
        hint: `add "quorum ${q.name}" to the instance or group it guards`,
      });
  }
}

/** The etcd key one instance or group holds: the block's key, then the instance's or group's name. */
export function quorumKey(q: QuorumConfig, holder: string): string {
  return `${q.key}/${holder}`;
}
