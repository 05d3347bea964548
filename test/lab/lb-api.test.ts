/**
 * Lab: operating floatd's nftables load balancer without a reload, on real kernels with real
 * nginx. `floatd lb add` puts a real server in (it gets its rr share at once), `floatd lb remove`
 * takes one out (no new request reaches it) while keep-alive streams on the others — and on the
 * removed one — keep going on their connections; a reload goes back to the file. `floatd lb
 * drain`: a long keep-alive stream to the drained server keeps working to its end, then the
 * server leaves the service (no open connection left in conntrack). Needs root.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { labUnavailable } from '../../src/lab/prerequisites.js';
import { REPO_ROOT } from '../../src/lab/seed-lab.js';
import { LbLab, LB_VIP, RS_IPS, tally } from '../../src/lab/lb-lab.js';
import type { LbStatus } from '../../src/model/status-types.js';

const skip = labUnavailable(['nginx', 'nsenter', 'unshare', 'curl', 'nft']) ?? false;
const TOKEN = 'lb-api-test-token-0123456789abcdef';
const VS = `${LB_VIP}:80/TCP`;

let lab: LbLab;
let sock = '';
const lvs = (api: string): string => `${api}
virtual_server ${LB_VIP} 80 {
  delay_loop 1
  lvs_sched rr
  lvs_method NAT
  protocol TCP
${RS_IPS.slice(0, 2)
  .map(
    (ip) => `  real_server ${ip} 80 {
    TCP_CHECK {
      connect_timeout 0.5
      retry 1
      delay_before_retry 0.2
    }
  }`,
  )
  .join('\n')}
}
`;

before(async () => {
  if (skip) return;
  lab = new LbLab();
  const dir = lab.dir('lb1');
  sock = join(dir, 'floatd.sock');
  writeFileSync(join(dir, 'token'), TOKEN, { mode: 0o600 });
  writeFileSync(join(dir, 'wrong-token'), 'not-the-token-0000000000000000', { mode: 0o600 });
  lab.writeConfig('lb1', lvs(`floatd_api {\n  socket ${sock}\n  token_file ${dir}/token\n}\n`));
  lab.startFloatd('lb1');
  await lab.waitFor('lb1 holds the VIP', () => lab.holdsVip('lb1'), 10_000);
  await lab.waitFor('rules installed', () => lab.ruleset('lb1').includes('numgen inc mod 2 map'), 5000);
});
after(() => lab?.destroy());

/** `floatd ARGS` against lb1's API with the token file (or another). */
function floatd(args: string[], token = 'token'): { status: number | null; out: string } {
  const r = lab.lab.run('lb1', [
    process.execPath,
    join(REPO_ROOT, 'dist/src/cli/main.js'),
    ...args,
    '--socket',
    sock,
    '--token-file',
    join(lab.dir('lb1'), token),
  ]);
  return { status: r.status, out: r.stdout + r.stderr };
}

function status(): LbStatus['virtualServers'][number] {
  const s = JSON.parse(
    lab.lab.exec('lb1', ['curl', '-s', '--unix-socket', sock, 'http://localhost/api/v1/status']),
  ) as {
    lb: LbStatus;
  };
  return s.lb.virtualServers[0]!;
}

/** Keep-alive streams from the client: one curl each, `n` requests at 20/s on one connection. */
function streams(k: number, n: number, tag: string): { procs: ChildProcess[]; done: Promise<unknown[]> } {
  const urls = Array.from({ length: n }, () => `http://${LB_VIP}/`);
  const procs = Array.from({ length: k }, (_, i) =>
    lab.lab.spawn(
      'client',
      ['curl', '-s', '--rate', '20/s', '--max-time', '30', '-w', '|%{http_code}|%{num_connects}\\n', ...urls],
      `${tag}-${i}.log`,
    ),
  );
  return { procs, done: Promise.all(procs.map((p) => new Promise((r) => p.on('exit', r)))) };
}

/** Each stream: every request answered 200 by one server on one connection; the servers. */
function checkStreams(k: number, n: number, tag: string): string[] {
  const servers: string[] = [];
  for (let i = 0; i < k; i++) {
    const lines = readFileSync(join(lab.lab.dir, `${tag}-${i}.log`), 'utf8')
      .split('\n')
      .filter(Boolean);
    assert.equal(lines.length, n, `${tag} ${i}: every request answered`);
    assert.ok(
      lines.every((l) => l.split('|')[1] === '200'),
      `${tag} ${i}: all 200`,
    );
    const bodies = new Set(lines.map((l) => l.split('|')[0]));
    assert.equal(bodies.size, 1, `${tag} ${i} stayed on one real server: ${[...bodies].join(',')}`);
    assert.equal(lines.slice(1).filter((l) => l.split('|')[2] !== '0').length, 0, `${tag} ${i} never reconnected`);
    servers.push([...bodies][0]!);
  }
  return servers.sort();
}

test(
  'lb add: the new server gets its share at once; lb remove: no new request reaches it; streams survive',
  { skip },
  async () => {
    assert.deepEqual(tally(lab.requests(20, 3)), { rs1: 10, rs2: 10 });
    const denied = floatd(['lb', 'add', VS, `${RS_IPS[2]}:80`], 'wrong-token');
    assert.equal(denied.status, 4, `a wrong token is refused: ${denied.out}`);
    const s = streams(2, 100, 'rs-stream');
    await new Promise((r) => setTimeout(r, 600));
    const add = floatd(['lb', 'add', VS, `${RS_IPS[2]}:80`, '--checks-from', `${RS_IPS[0]}:80`]);
    assert.equal(add.status, 0, add.out);
    assert.match(add.out, /added to 192\.0\.2\.100:80\/TCP; a runtime change: lost on reload or restart/);
    assert.match(lab.ruleset('lb1'), /numgen inc mod 3 map/);
    assert.deepEqual(tally(lab.requests(30, 3)), { rs1: 10, rs2: 10, rs3: 10 }, 'the added server gets its share');
    const st = status();
    assert.deepEqual(
      st.realServers.map((r) => [r.address, r.origin, r.checks[0]?.kind]),
      [
        [RS_IPS[0], 'file', 'TCP_CHECK'],
        [RS_IPS[1], 'file', 'TCP_CHECK'],
        [RS_IPS[2], 'api', 'TCP_CHECK'],
      ],
    );
    const rm = floatd(['lb', 'remove', VS, `${RS_IPS[1]}:80`]);
    assert.equal(rm.status, 0, rm.out);
    const after = tally(lab.requests(20, 3));
    assert.deepEqual(after, { rs1: 10, rs3: 10 }, 'no new request to the removed server');
    assert.equal(floatd(['lb', 'remove', VS, `${RS_IPS[1]}:80`]).status, 1, 'removing it twice is refused');
    assert.deepEqual(status().removedAtRuntime, [`${RS_IPS[1]}:80`]);
    await s.done;
    assert.deepEqual(checkStreams(2, 100, 'rs-stream'), ['rs1', 'rs2'], 'both streams, rs2 one too, ran to their end');
    assert.match(lab.log('lb1'), /real server 203\.0\.113\.13:80 added through the API/);
    // A reload: the file is the truth again.
    lab.signalFloatd('lb1', 'HUP');
    await lab.waitFor('back to the file', () => /the file says what runs/.test(lab.log('lb1')), 5000);
    // 'mod 2' alone proves nothing here: the rules already said mod 2 (rs1, rs3) before the reload. Wait for the
    // file's pair in the slot map (a CI run sampled between the log line and the nft transaction).
    const fileRules = (): boolean => {
      const r = lab.ruleset('lb1');
      return r.includes('numgen inc mod 2 map') && r.includes(RS_IPS[1]!) && !r.includes(RS_IPS[2]!);
    };
    await lab.waitFor("rr over the file's two servers", fileRules, 5000);
    assert.deepEqual(tally(lab.requests(20, 3)), { rs1: 10, rs2: 10 });
    assert.deepEqual(
      status().realServers.map((r) => r.address),
      RS_IPS.slice(0, 2),
    );
  },
);

/** The real server the client's ESTABLISHED connection to the VIP is NATed to (lb1's conntrack). */
function streamServer(): string | undefined {
  const ct = lab.lab.exec('lb1', ['cat', '/proc/net/nf_conntrack'], true);
  const line = ct
    .split('\n')
    .find((l) => / tcp /.test(l) && /ESTABLISHED/.test(l) && l.includes(`dst=${LB_VIP} `) && / dport=80 /.test(l));
  return line ? /src=(\S+)/g.exec(line.split(`dst=${LB_VIP}`)[1] ?? '')?.[1] : undefined;
}

test(
  'lb drain: a long keep-alive stream to the drained server keeps working to its end, then the server leaves',
  { skip },
  async (ctx) => {
    const s = streams(1, 80, 'drain-stream');
    let rs: string | undefined;
    await lab.waitFor('the stream in conntrack', () => (rs = streamServer()) !== undefined, 3000);
    const name = `rs${RS_IPS.indexOf(rs!) + 1}`;
    const other = name === 'rs1' ? 'rs2' : 'rs1';
    const d = floatd(['lb', 'drain', `${rs}:80`, '--timeout', '60']);
    assert.equal(d.status, 0, d.out);
    await new Promise((r) => setTimeout(r, 1500));
    const during = status().realServers.find((r) => r.address === rs)!;
    assert.equal(during.drain?.phase, 'draining', 'busy: still draining');
    assert.equal(during.drain?.open, 1, 'its one open connection, counted from conntrack');
    assert.equal(during.weight, 0);
    assert.deepEqual(tally(lab.requests(10, 3)), { [other]: 10 }, 'no new connection to the draining server');
    await s.done;
    const ended = Date.now();
    assert.deepEqual(checkStreams(1, 80, 'drain-stream'), [name], 'the stream ran to its end on its server');
    await lab.waitFor(
      'drained',
      () => status().realServers.find((r) => r.address === rs)?.drain?.phase === 'drained',
      5000,
    );
    ctx.diagnostic(`stream end → drained: ${Date.now() - ended} ms`);
    const out = status().realServers.find((r) => r.address === rs)!;
    assert.deepEqual([out.drain?.why, out.weight], ['idle', null]);
    assert.match(lab.log('lb1'), /drained, out of the service \(no open connection\)/);
    assert.deepEqual(tally(lab.requests(10, 3)), { [other]: 10 });
    assert.equal(floatd(['lb', 'drain', `${rs}:80`, 'off']).status, 0);
    await lab.waitFor('back', () => lab.ruleset('lb1').includes('numgen inc mod 2 map'), 5000);
    assert.deepEqual(tally(lab.requests(20, 3)), { rs1: 10, rs2: 10 });
  },
);

test(
  'lb drain with a timeout: a busy server leaves the service at the timeout; its open stream is not cut',
  { skip },
  async () => {
    const s = streams(1, 80, 'timeout-stream');
    let rs: string | undefined;
    await lab.waitFor('the stream in conntrack', () => (rs = streamServer()) !== undefined, 3000);
    const name = `rs${RS_IPS.indexOf(rs!) + 1}`;
    const other = name === 'rs1' ? 'rs2' : 'rs1';
    const d = floatd(['lb', 'drain', `${rs}:80`, '--timeout', '1']);
    assert.equal(d.status, 0, d.out);
    await lab.waitFor(
      'drained by the timeout',
      () => status().realServers.find((r) => r.address === rs)?.drain?.phase === 'drained',
      4000,
    );
    const out = status().realServers.find((r) => r.address === rs)!;
    assert.deepEqual([out.drain?.why, out.drain?.open, out.weight], ['timeout', 1, null]);
    assert.match(lab.log('lb1'), /drained, out of the service \(timeout; 1 connection\(s\) still open\)/);
    assert.equal(s.procs[0]!.exitCode, null, 'the stream is still running');
    assert.deepEqual(tally(lab.requests(10, 3)), { [other]: 10 });
    await s.done;
    assert.deepEqual(checkStreams(1, 80, 'timeout-stream'), [name], 'the open stream ran to its end');
    assert.equal(floatd(['lb', 'drain', `${rs}:80`, 'off']).status, 0);
    await lab.waitFor('back', () => lab.ruleset('lb1').includes('numgen inc mod 2 map'), 5000);
  },
);
