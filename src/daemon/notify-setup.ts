/**
 * The notifier of one configuration: webhook secrets read (warned about when others can read
 * them, never logged), disabled webhooks reported, FIFOs opened; after a reload it carries the
 * previous notifier's announced states and running scripts.
 */
import { readFileSync } from 'node:fs';
import type { FloatdConfig } from '../config/index.js';
import { Notifier, type NotifierHandOver } from '../notify/notifier.js';
import type { ScriptIdentity } from '../track/types.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { readSecretFile } from '../util/secret-file.js';
import { notifierConfig } from './mapping.js';

export function buildNotifier(
  cfg: FloatdConfig,
  scriptUser: ScriptIdentity | undefined,
  d: { log: Logger; clock: Clock; readFile?: (file: string) => string; previous?: NotifierHandOver },
): Notifier {
  const log = d.log;
  const readFile = d.readFile ?? ((p: string): string => readFileSync(p, 'utf8'));
  const nc = notifierConfig(cfg, scriptUser, (f) => readSecretFile(f, log, 'notify_webhook secret', readFile));
  for (const x of nc.disabled)
    log.error({ event: 'notify.webhook_config', webhook: x.name }, `notify_webhook ${x.name} disabled: ${x.error}`);
  // After a reload: states already announced are not announced again (a kept MASTER does not
  // re-run notify_master) and scripts still running go on, queued before the new events.
  const carry = d.previous ? { previous: d.previous } : {};
  const n = new Notifier(nc.config, { log, clock: d.clock, ...carry });
  try {
    n.open();
  } catch (e) {
    log.error({ event: 'notify.fifo_error' }, (e as Error).message);
  }
  return n;
}
