/**
 * The dashboard's load balancer view in a real browser, on a running daemon: `floatd run` on a
 * lab balancer (LVS-NAT, three nginx real servers, TCP checks, quorum 2, a sorry server) with its
 * API on the balancer's loopback; Debian's chromium runs in the balancer's network namespace
 * (nsenter) and opens the dashboard. It shows the virtual server with quorum up and the sorry
 * server standing by, each real server up with its check's detail; nginx stopped on rs2 turns
 * that row down with the check's failure; Drain (with the token) takes rs1 out when idle, so
 * quorum is lost and the sorry server serves; Undrain brings both back. Needs root.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { labUnavailable } from '../../src/lab/prerequisites.js';
import { LbLab, LB_VIP, RS_IPS } from '../../src/lab/lb-lab.js';
import { browserUnavailable, CHROMIUM } from './browser.js';

const skip = browserUnavailable() || labUnavailable(['nginx', 'nsenter', 'unshare', 'curl', 'nft']) || false;
const TOKEN = 'dashboard-lb-token-0123456789abcdef';
const PORT = 9610;
const VS = `${LB_VIP}:80/TCP`;

let lab: LbLab;
let browser: Browser | undefined;
before(async () => {
  if (skip) return;
  lab = new LbLab();
  const dir = lab.dir('lb1');
  writeFileSync(join(dir, 'token'), TOKEN, { mode: 0o600 });
  lab.writeConfig(
    'lb1',
    `floatd_api {
  socket ${dir}/floatd.sock
  listen 127.0.0.1:${PORT}
  token_file ${dir}/token
  dashboard on
}
virtual_server ${LB_VIP} 80 {
  delay_loop 1
  lvs_sched rr
  protocol TCP
  quorum 2
  sorry_server ${RS_IPS[2]} 8080
${RS_IPS.map(
  (ip) => `  real_server ${ip} 80 {
    TCP_CHECK {
      connect_timeout 0.5
      retry 1
      delay_before_retry 0.2
    }
  }`,
).join('\n')}
}
`,
  );
  lab.startFloatd('lb1');
  await lab.waitFor('lb1 holds the VIP', () => lab.holdsVip('lb1'), 10_000);
  await lab.waitFor('rules installed', () => lab.ruleset('lb1').includes('numgen inc mod 3 map'), 5000);
  // chromium in lb1's network namespace, where the API listens on loopback.
  const wrapper = join(lab.lab.dir, 'chromium-lb1.sh');
  writeFileSync(wrapper, `#!/bin/sh\nexec nsenter -t ${lab.lab.host('lb1').initPid} -n -- ${CHROMIUM} "$@"\n`);
  chmodSync(wrapper, 0o755);
  browser = await chromium.launch({
    executablePath: wrapper,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
    timeout: 30_000,
  });
});
after(async () => {
  await browser?.close();
  lab?.destroy();
});

const row = (page: Page, rs: string) => page.locator(`[data-vs="${VS}"] [data-rs="${rs}:80"]`);

test(
  'the LB view shows what the daemon runs: quorum, sorry server, real servers and their checks; drain from the page',
  { skip, timeout: 90_000 },
  async () => {
    const page = await browser!.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${PORT}/?interval=250`);
    const card = page.locator(`[data-vs="${VS}"]`);
    await card.waitFor({ timeout: 10_000 });
    await card.locator('[data-testid=quorum]').filter({ hasText: 'quorum up' }).waitFor({ timeout: 5000 });
    assert.match(await card.locator('[data-testid=sorry]').innerText(), /203\.0\.113\.13:8080 \(standing by\)/);
    assert.match(await card.innerText(), /live weight 3 \(quorum 2\)/);
    for (const ip of RS_IPS) {
      await row(page, ip).locator('[data-testid=check]').filter({ hasText: 'up' }).waitFor({ timeout: 5000 });
      assert.equal(await row(page, ip).locator('[data-testid=alive]').innerText(), 'up');
      assert.equal(await row(page, ip).locator('[data-testid=weight]').innerText(), '1 / 1');
      assert.match(
        await row(page, ip).locator('[data-testid=check]').innerText(),
        new RegExp(`TCP_CHECK up — connected to ${ip.replace(/\./g, '\\.')}:80`),
      );
    }

    lab.nginx('rs2', false);
    const rs2 = row(page, RS_IPS[1]!);
    await rs2.locator('[data-testid=alive]').filter({ hasText: 'down' }).waitFor({ timeout: 5000 });
    assert.match(await rs2.locator('[data-testid=check]').innerText(), /TCP_CHECK down \(\d+ failed\) — \S+/);
    assert.equal(await rs2.locator('[data-testid=weight]').innerText(), '– / 1', 'out of rotation');

    // Drain rs1 from the page: no connection is open to it, so it leaves at once; rs3 alone is under quorum.
    await page.fill('#token', TOKEN);
    await row(page, RS_IPS[0]!).locator('[data-action=drain]').click();
    const rs1 = row(page, RS_IPS[0]!);
    await rs1.locator('[data-testid=drain]').filter({ hasText: 'drained (idle)' }).waitFor({ timeout: 5000 });
    assert.equal(await rs1.locator('[data-testid=alive]').innerText(), 'out');
    await card.locator('[data-testid=quorum]').filter({ hasText: 'quorum lost' }).waitFor({ timeout: 5000 });
    assert.match(await card.locator('[data-testid=sorry]').innerText(), /\(serving\)/);

    await rs1.locator('[data-action=undrain]').click();
    lab.nginx('rs2', true);
    await card.locator('[data-testid=quorum]').filter({ hasText: 'quorum up' }).waitFor({ timeout: 8000 });
    await rs2.locator('[data-testid=alive]').filter({ hasText: 'up' }).waitFor({ timeout: 5000 });
    assert.equal(await rs1.locator('[data-testid=drain]').count(), 0, 'undrained');
    assert.deepEqual(errors, []);
  },
);
