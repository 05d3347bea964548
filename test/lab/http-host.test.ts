/**
 * Lab (issue 12): `http_host` reaches floatd's native HTTP check. One host (network + PID
 * namespace, TEST-NET 198.51.100.0/24) runs nginx that routes by Host: only
 * `health.example.test` serves /health, every other Host gets 404. floatd runs a config whose
 * `vrrp_script` is `http_get` + `http_host` (weight 0), so the VIP is held only while the check
 * passes. nginx logs `$http_host` per request: the test reads exactly the configured header
 * there. A reload with a wrong `http_host` makes the check fail and the instance FAULT.
 * Needs root.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab } from '../../src/lab/netns-lab.js';
import { labUnavailable } from '../../src/lab/prerequisites.js';
import { REPO_ROOT } from '../../src/lab/seed-lab.js';
import { pollUntil } from '../../src/lab/wait.js';

const skip = labUnavailable() ?? false;
const isTs = import.meta.url.endsWith('.ts');
const GOOD = 'health.example.test';
const WRONG = 'other.example.test';
const VIP = '198.51.100.100';

let lab: Lab;
let dir: string;

const accessLog = (): string =>
  existsSync(join(dir, 'access.log')) ? readFileSync(join(dir, 'access.log'), 'utf8') : '';
const daemonLog = (): string => {
  const f = join(lab.dir, 'floatd.log');
  return existsSync(f) ? readFileSync(f, 'utf8') : '';
};
const holds = (): boolean => lab.addresses('lb1').includes(VIP);
const waitFor = (what: string, cond: () => boolean, ms: number): Promise<number> =>
  pollUntil(
    what,
    cond,
    ms,
    () =>
      `--- floatd\n${daemonLog().split('\n').slice(-20).join('\n')}\n--- access.log\n` +
      `${accessLog().split('\n').slice(-5).join('\n')}`,
  );

function nginxConf(): string {
  return `daemon on;
user root;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log;
events { worker_connections 64; }
http {
  log_format hosts 'host=[$http_host] uri=$request_uri status=$status';
  access_log ${dir}/access.log hosts;
  client_body_temp_path ${dir}/tmp; proxy_temp_path ${dir}/tmp; fastcgi_temp_path ${dir}/tmp;
  uwsgi_temp_path ${dir}/tmp; scgi_temp_path ${dir}/tmp;
  server { listen 80 default_server; return 404; }
  server { listen 80; server_name ${GOOD}; location = /health { return 200 "ok\\n"; } }
}
`;
}

function floatdConf(host: string): string {
  return `vrrp_script chk_http {
    http_get http://${lab.host('lb1').ip}/health
    http_host ${host}
    interval 0.2
    timeout 0.5
}
vrrp_instance VI_1 {
    interface eth1
    state MASTER
    priority 200
    virtual_router_id 61
    advert_int 1
    virtual_ipaddress {
        ${VIP}/24
    }
    track_script {
        chk_http
    }
}
`;
}

before(() => {
  if (skip) return;
  lab = new Lab({ hosts: ['lb1'], net: '198.51.100' });
  dir = lab.host('lb1').dir;
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  writeFileSync(join(dir, 'nginx.conf'), nginxConf());
  lab.exec('lb1', ['nginx', '-c', join(dir, 'nginx.conf')]);
  writeFileSync(join(dir, 'keepalived.conf'), floatdConf(GOOD));
  const floatd = [
    process.execPath,
    ...(isTs ? ['--import', 'tsx'] : []),
    join(REPO_ROOT, isTs ? 'src/cli/main.ts' : 'dist/src/cli/main.js'),
  ];
  lab.spawn(
    'lb1',
    [...floatd, 'run', '-f', join(dir, 'keepalived.conf'), '-p', join(dir, 'floatd.pid')],
    'floatd.log',
    { env: { ...process.env, TMPDIR: dir, FLOATD_SOCKET: join(dir, 'floatd.sock') } },
  );
});

after(() => {
  if (!skip) lab.destroy();
});

test(
  'http_host: the server sees exactly the configured Host header and the check passes',
  { skip, timeout: 20_000 },
  async () => {
    await waitFor('a health request in the access log', () => /uri=\/health/.test(accessLog()), 8_000);
    await waitFor('floatd holds the VIP (the check passed)', holds, 10_000);
    const lines = accessLog()
      .split('\n')
      .filter((l) => l.includes('uri=/health'));
    assert.ok(lines.length >= 1);
    for (const l of lines) assert.equal(l, `host=[${GOOD}] uri=/health status=200`);
  },
);

test(
  'http_host: a wrong host (reloaded) gets 404 from the Host-routing server, and the instance goes FAULT',
  { skip, timeout: 20_000 },
  async () => {
    writeFileSync(join(dir, 'keepalived.conf'), floatdConf(WRONG));
    lab.exec('lb1', ['kill', '-HUP', readFileSync(join(dir, 'floatd.pid'), 'utf8').trim()]);
    await waitFor(
      'a request with the wrong host',
      () => accessLog().includes(`host=[${WRONG}] uri=/health status=404`),
      8_000,
    );
    await waitFor(
      'the instance enters FAULT and releases the VIP',
      () => /Entering FAULT STATE/.test(daemonLog()) && !holds(),
      8_000,
    );
    // Every request carried one of the two configured names, never the URL's address.
    const hosts = new Set(
      accessLog()
        .split('\n')
        .filter(Boolean)
        .map((l) => /host=\[([^\]]*)\]/.exec(l)?.[1]),
    );
    assert.deepEqual([...hosts].sort(), [GOOD, WRONG].sort());
  },
);
