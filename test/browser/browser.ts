/**
 * Debian's chromium driven by playwright-core (no browser download): launch, and a screenshot
 * of the dashboard for a given status (docs/dashboard.png is made this way from the lab).
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { ApiServer } from '../../src/api/server.js';
import type { DaemonStatus } from '../../src/model/status-types.js';
import { createLogger } from '../../src/util/log.js';

export const CHROMIUM = process.env.FLOATD_CHROMIUM ?? '/usr/bin/chromium';

/** Why browser tests cannot run here, or false. */
export function browserUnavailable(): string | false {
  return existsSync(CHROMIUM)
    ? false
    : `${CHROMIUM} is missing (apt-get install chromium; scripts/setup.sh does it in CI)`;
}

export function launchChromium(): Promise<Browser> {
  // --no-sandbox: chromium's sandbox refuses to start as root, which CI is.
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
    timeout: 30_000,
  });
}

/** Serves `status` on a loopback port and saves a full-page screenshot of the dashboard. */
export async function screenshotDashboard(status: DaemonStatus, path: string): Promise<void> {
  const srv = new ApiServer({
    config: { enabled: true, listen: [{ host: '127.0.0.1', port: 0 }], dashboard: true },
    provider: { status: () => status },
    log: createLogger({ level: 'silent' }),
    processMetrics: false,
  });
  const { tcp } = await srv.start();
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
    await page.goto(`http://127.0.0.1:${tcp[0]!.port}/`);
    await page.locator('[data-instance]').first().waitFor({ timeout: 10_000 });
    await page.screenshot({ path, fullPage: true });
  } finally {
    await browser.close();
    await srv.close();
  }
}
