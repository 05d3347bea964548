/**
 * Migration help for `floatd check`: a notify script that moves a cloud floating IP (the seed
 * tutorial's master.sh calling DigitalOcean's assign-ip, doctl, hcloud, aws ec2
 * associate-address, …) is recognised — in the notify command line, or in the script file when
 * it is readable — and the `floating_ip` block that replaces it is printed. The finder is pure
 * (text in, hint out); reading files is the caller's. A token found in a script is never
 * printed: the hint says where to move it.
 */
import { readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import type { FloatdConfig, InstanceConfig } from '../config/index.js';

export interface CloudCall {
  provider: 'digitalocean' | 'hetzner' | 'aws' | 'vultr' | 'linode' | 'scaleway' | 'gcp';
  /** What the script runs, in words (e.g. "DigitalOcean's assign-ip"). */
  tool: string;
  /** The address (or the provider's id for it) as the script names it, variables resolved. */
  address?: string;
  /** Line in the text (1-based). */
  line: number;
  /** The environment variable the script sets a token in (its value is never kept). */
  tokenVar?: string;
}

interface Pattern {
  provider: CloudCall['provider'];
  tool: string;
  re: RegExp;
  arg?: RegExp;
  tokenVars: string[];
}

const PATTERNS: Pattern[] = [
  {
    provider: 'digitalocean',
    tool: "DigitalOcean's assign-ip",
    tokenVars: ['DO_TOKEN', 'DIGITALOCEAN_ACCESS_TOKEN'],
    re: /\bassign-ip\s+(\S+)/,
  },
  {
    provider: 'digitalocean',
    tool: 'doctl',
    tokenVars: ['DIGITALOCEAN_ACCESS_TOKEN', 'DO_TOKEN'],
    re: /\bdoctl\s+compute\s+(?:floating|reserved)-ip-action\s+assign\s+(\S+)/,
  },
  {
    provider: 'digitalocean',
    tool: "DigitalOcean's API",
    tokenVars: ['DO_TOKEN', 'DIGITALOCEAN_ACCESS_TOKEN', 'TOKEN'],
    re: /api\.digitalocean\.com\/v2\/(?:floating|reserved)_ips\/([^/\s"']+)\/actions/,
  },
  {
    provider: 'hetzner',
    tool: 'hcloud',
    tokenVars: ['HCLOUD_TOKEN'],
    re: /\bhcloud\s+floating-ip\s+assign\s+(\S+)/,
  },
  {
    provider: 'hetzner',
    tool: "Hetzner Cloud's API",
    tokenVars: ['HCLOUD_TOKEN', 'TOKEN'],
    re: /api\.hetzner\.cloud\/v1\/floating_ips\/([^/\s"']+)\/actions\/assign/,
  },
  {
    provider: 'aws',
    tool: 'aws ec2 associate-address',
    tokenVars: ['AWS_SECRET_ACCESS_KEY'],
    re: /\baws\s+(?:--\S+\s+(?:\S+\s+)?)*ec2\s+associate-address\b/,
    arg: /--(?:public-ip|allocation-id)[= ]\s*(\S+)/,
  },
  {
    provider: 'vultr',
    tool: 'vultr-cli',
    tokenVars: ['VULTR_API_KEY'],
    re: /\bvultr-cli\s+reserved-ip\s+attach\s+(\S+)/,
  },
  {
    provider: 'linode',
    tool: 'linode-cli',
    tokenVars: ['LINODE_CLI_TOKEN'],
    re: /\blinode-cli\s+networking\s+ip-assign\b/,
    arg: /--assignments\.address[= ]\s*(\S+)/,
  },
  {
    provider: 'scaleway',
    tool: 'scw',
    tokenVars: ['SCW_SECRET_KEY'],
    re: /\bscw\s+instance\s+ip\s+attach\s+(\S+)/,
  },
  {
    provider: 'gcp',
    tool: 'gcloud',
    tokenVars: [],
    re: /\bgcloud\s+compute\s+instances\s+(?:add-access-config|network-interfaces\s+update)\b/,
    arg: /--(?:address|aliases)[= ]\s*(\S+)/,
  },
];

const unquote = (v: string): string => v.replace(/^(['"])(.*)\1$/, '$2').trim();

/** Finds the first cloud assign call in a shell script or command line (pure). */
export function findCloudAssign(text: string): CloudCall | undefined {
  // Continuation lines join their command; comments go.
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  const vars = new Map<string, string>();
  const assigned = new Set<string>();
  for (const l of lines) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(l.replace(/\s+#.*$/, ''));
    if (m) {
      vars.set(m[1]!, unquote(m[2]!));
      assigned.add(m[1]!);
    }
  }
  const expand = (v: string): string =>
    unquote(v).replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (all, n: string) => vars.get(n) ?? all);
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!.replace(/(^|\s)#.*$/, '');
    for (const p of PATTERNS) {
      const m = p.re.exec(l);
      if (!m) continue;
      const raw = p.arg ? p.arg.exec(l)?.[1] : m[1];
      const address = raw === undefined ? undefined : expand(raw);
      const tokenVar = p.tokenVars.find((v) => assigned.has(v));
      return {
        provider: p.provider,
        tool: p.tool,
        line: i + 1,
        ...(address ? { address } : {}),
        ...(tokenVar ? { tokenVar } : {}),
      };
    }
  }
  return undefined;
}

export interface MigrationHint {
  instance: InstanceConfig;
  script: string;
  call: CloudCall;
  where: string;
}

/** The notify scripts of each instance that move a cloud address (reads script files up to 256 kB). */
export function migrationHints(
  cfg: FloatdConfig,
  read: (path: string) => string | undefined = readScript,
): MigrationHint[] {
  const out: MigrationHint[] = [];
  for (const ic of cfg.instances) {
    if (ic.floatingIps.length > 0) continue; // already migrated
    for (const n of [ic.notify.master, ic.notify.generic]) {
      if (!n || n.argv.length === 0) continue;
      const line = n.argv.join(' ');
      const inLine = findCloudAssign(line);
      const file = inLine ? undefined : n.argv.find((a) => a.startsWith('/'));
      const text = file ? read(file) : undefined;
      const call = inLine ?? (text !== undefined ? findCloudAssign(text) : undefined);
      if (call) {
        out.push({
          instance: ic,
          script: line,
          call,
          where: inLine ? 'its command line' : `line ${call.line} of ${file}`,
        });
        break;
      }
    }
  }
  return out;
}

function readScript(path: string): string | undefined {
  try {
    if (statSync(path).size > 256 * 1024) return undefined;
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

const PROVIDER_NAMES: Record<CloudCall['provider'], string> = {
  digitalocean: 'DigitalOcean',
  hetzner: 'Hetzner Cloud',
  aws: 'AWS',
  vultr: 'Vultr',
  linode: 'Linode',
  scaleway: 'Scaleway',
  gcp: 'Google Cloud',
};

/** What `floatd check` prints for one hint: the positioned info line and the replacing block. */
export function formatHint(h: MigrationHint): string {
  const { instance: ic, call } = h;
  const name = `fip_${ic.name.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`;
  const addr = call.address;
  const named = addr && /x/i.test(addr) ? 'fill in the real address' : "the provider's id for it, or the address";
  const addrNote =
    addr === undefined
      ? '   # the address the script moves (not found in it)'
      : isIP(addr)
        ? ''
        : `   # as the script names it: ${named}`;
  const credentials =
    call.provider === 'aws'
      ? '    # credentials: the instance role by default (token_file /etc/floatd/aws.key: KEY_ID:SECRET)\n'
      : call.provider === 'gcp'
        ? "    # credentials: the VM's service account by default\n"
        : `    token_file /etc/floatd/${call.provider}.token   # mode 0600` +
          `${call.tokenVar ? `: the ${call.tokenVar} the script sets` : ''}\n`;
  const at = `${ic.pos.file}:${ic.pos.line}:${ic.pos.col}`;
  const lines = [
    `${at}: info: vrrp_instance ${ic.name}: notify script "${h.script}" moves a ${PROVIDER_NAMES[call.provider]} ` +
      `floating IP with ${call.tool} (${h.where}); floatd can do that itself (bounded retries, verification, ` +
      `never as BACKUP). Replace the notify line with \`floating_ip ${name}\` in vrrp_instance ${ic.name} and add:`,
    '',
    `floating_ip ${name} {`,
    `    provider ${call.provider}`,
    `    address ${addr ?? 'ADDRESS'}${addrNote}`,
    credentials.trimEnd(),
    "    peers ID ID                 # the provider's ids of both nodes: " +
      'a partition then moves the address once (docs/cloud.md)',
    '}',
  ];
  if (call.tokenVar)
    lines.push(
      '',
      `  The script holds ${call.tokenVar} in clear: move the token to the file above ` +
        `(install -m 0600 /dev/stdin /etc/floatd/${call.provider}.token) and delete it from the script. ` +
        'docs/cloud.md lists the scope it needs.',
    );
  return lines.join('\n');
}
