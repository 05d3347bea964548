import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { findCloudAssign } from '../../../src/cli/migrate.js';
import { runCheck } from '../../../src/cli/check.js';
import { REPO_ROOT } from '../../../src/lab/seed-lab.js';

const SEED_SH = readFileSync(join(REPO_ROOT, 'test/fixtures/seed-master.sh'), 'utf8');

test("the seed's master.sh: DigitalOcean assign-ip, IP= resolved, the token variable named", () => {
  const c = findCloudAssign(SEED_SH);
  assert.deepEqual(c, {
    provider: 'digitalocean',
    tool: "DigitalOcean's assign-ip",
    line: 10,
    address: '138.xxx.xxx.177',
    tokenVar: 'DO_TOKEN',
  });
});

test('the other tools and APIs', () => {
  assert.equal(findCloudAssign('doctl compute floating-ip-action assign 203.0.113.10 12345')?.address, '203.0.113.10');
  assert.equal(findCloudAssign('doctl compute reserved-ip-action assign 203.0.113.11 $ID')?.provider, 'digitalocean');
  assert.deepEqual(findCloudAssign('export HCLOUD_TOKEN=abc\nhcloud floating-ip assign 203.0.113.12 web-2\n'), {
    provider: 'hetzner',
    tool: 'hcloud',
    line: 2,
    address: '203.0.113.12',
    tokenVar: 'HCLOUD_TOKEN',
  });
  assert.equal(
    findCloudAssign(
      'curl -X POST -H "Authorization: Bearer $T" https://api.hetzner.cloud/v1/floating_ips/4711/actions/assign ' +
        '-d \'{"server":42}\'',
    )?.address,
    '4711',
  );
  assert.equal(
    findCloudAssign('curl -X POST "https://api.digitalocean.com/v2/floating_ips/$IP/actions" -d x')?.provider,
    'digitalocean',
  );
  const aws = findCloudAssign(
    'EIP=eipalloc-0123456789abcdef0\naws ec2 associate-address \\\n  --instance-id "$ID" \\\n' +
      '  --allocation-id $EIP --allow-reassociation\n',
  );
  assert.deepEqual(aws, {
    provider: 'aws',
    tool: 'aws ec2 associate-address',
    line: 2,
    address: 'eipalloc-0123456789abcdef0',
  });
  assert.equal(
    findCloudAssign('aws --region eu-west-1 ec2 associate-address --public-ip 203.0.113.13 --instance-id i-1')?.address,
    '203.0.113.13',
  );
  assert.equal(findCloudAssign('vultr-cli reserved-ip attach 9c3b8f9e --instance-id x')?.provider, 'vultr');
  assert.equal(
    findCloudAssign(
      'linode-cli networking ip-assign --region us-east --assignments.address 203.0.113.14 --assignments.linode_id 1',
    )?.address,
    '203.0.113.14',
  );
  assert.equal(findCloudAssign('scw instance ip attach 203.0.113.15 server-id=1')?.provider, 'scaleway');
  assert.equal(
    findCloudAssign('gcloud compute instances network-interfaces update vm1 --aliases=203.0.113.16/32')?.address,
    '203.0.113.16/32',
  );
});

test('not a cloud call: nothing (comments, other commands)', () => {
  assert.equal(
    findCloudAssign(
      '#!/bin/sh\n# assign-ip 1.2.3.4 was here\necho "notify_master $*" >> /tmp/log\nsystemctl reload nginx\n',
    ),
    undefined,
  );
  assert.equal(findCloudAssign('logger -t keepalived "became master"'), undefined);
});

async function check(conf: string): Promise<{ code: number; out: string }> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => {
    text += c.toString();
  });
  const code = await runCheck({ file: conf, out, err: new PassThrough() });
  return { code, out: text };
}

test('floatd check prints the floating_ip block for the seed config and its master.sh, never the token', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'floatd-migrate-'));
  const script = join(dir, 'master.sh');
  writeFileSync(
    script,
    SEED_SH.replace('138.xxx.xxx.177', '203.0.113.10').replace(' CHAINE TROUVEE EN ETAPE 3', 'dop_v1_secret0123456789'),
  );
  const conf = join(dir, 'keepalived.conf');
  writeFileSync(
    conf,
    readFileSync(join(REPO_ROOT, 'examples/seed-master.conf'), 'utf8').replace('/etc/keepalived/master.sh', script),
  );
  const r = await check(conf);
  assert.equal(r.code, 0);
  assert.match(
    r.out,
    new RegExp(
      `${conf.replace(/[.]/g, '\\.')}:\\d+:\\d+: info: vrrp_instance VI_1: notify script .* moves a DigitalOcean ` +
        `floating IP with DigitalOcean's assign-ip \\(line 10 of `,
    ),
  );
  assert.match(
    r.out,
    new RegExp(
      String.raw`floating_ip fip_vi_1 \{\n {4}provider digitalocean\n {4}address 203\.0\.113\.10\n` +
        String.raw` {4}token_file \/etc\/floatd\/digitalocean\.token {3}# mode 0600: the DO_TOKEN the script sets\n` +
        String.raw` {4}peers ID ID .*\n\}`,
    ),
  );
  assert.doesNotMatch(r.out, /dop_v1_secret/);
  assert.match(r.out, /configuration OK/);
  // The printed block, pasted in, is accepted and the hint goes away.
  const block = /floating_ip fip_vi_1 \{[^}]*\}/.exec(r.out)![0];
  const migrated =
    readFileSync(conf, 'utf8').replace(`notify_master ${script}`, 'floating_ip fip_vi_1') + `\n${block}\n`;
  writeFileSync(conf, migrated);
  const after = await check(conf);
  assert.equal(after.code, 0, after.out);
  assert.doesNotMatch(after.out, /moves a DigitalOcean floating IP/);
  assert.match(after.out, /floating IPs: fip_vi_1/);
});
