/** `notify_* "/path/x.sh arg" [user [group]]` for instances and sync groups; repeats keep the first (keepalived). */
import type { Ctx } from './ctx.js';
import type { Node } from './lexer.js';
import { splitCommand } from './lexer.js';
import type { NotifyConfig, NotifyScript } from './model.js';
import type { Keyword } from './schema.js';

export const NOTIFY_KEYS = {
  notify_master: 'master',
  notify_backup: 'backup',
  notify_fault: 'fault',
  notify_stop: 'stop',
  notify: 'generic',
  notify_master_rx_lower_pri: 'masterRxLowerPri',
} as const satisfies Record<string, keyof NotifyConfig>;

/** Slot 1 is the command line, then user/group. */
export function notifyScript(c: Ctx, n: Node): NotifyScript | undefined {
  const a = c.arg(n, 0, 'a script');
  if (!a) return undefined;
  const argv = a.quoted ? splitCommand(a.text) : [a.text];
  if (n.args.length > 3)
    c.warn(
      n.args[3]!,
      n.key.text,
      'extra words after user and group are ignored',
      'quote the whole command line: notify_master "/path/script arg"',
    );
  return { argv, ...(n.args[1] ? { user: n.args[1].text } : {}), ...(n.args[2] ? { group: n.args[2].text } : {}) };
}

/** Schema entries for the notify keywords, reading into `get(target)`. */
export function notifyEntries<T>(
  get: (t: T) => NotifyConfig,
  keys: readonly (keyof typeof NOTIFY_KEYS)[],
): Record<string, Keyword<T>> {
  return Object.fromEntries(
    keys.map((k) => [
      k,
      {
        read: (c: Ctx, e: Node, t: T): void => {
          const s = notifyScript(c, e);
          if (!s) return;
          const slot = NOTIFY_KEYS[k];
          const cfg = get(t);
          if (cfg[slot])
            c.warn(
              e.key,
              k,
              `${k} is already set; this one is ignored (keepalived keeps the first)`,
              'remove one of them',
            );
          else cfg[slot] = s;
        },
      },
    ]),
  );
}
