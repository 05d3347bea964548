#!/usr/bin/env node
/**
 * floatd's command line: `run`, `check`, `status`, `demo`, plus keepalived's own flags
 * (`-f FILE -n -l -D -p PIDFILE -t`) so floatd drops in where `keepalived` was started.
 * Only wiring lives here; each command is its own module.
 */
import { Command, Option } from 'commander';
import { VERSION, KEEPALIVED_FOLLOWED } from '../util/version.js';
import type { VerbOptions } from './verbs.js';

// Each command's module is loaded when it runs: `floatd run` does not pay for the demo's lab or
// the status client, and a restarted daemon sends its first advert sooner.
const runCheck: typeof import('./check.js').runCheck = async (o) => (await import('./check.js')).runCheck(o);
const runRun: typeof import('./run.js').runRun = async (o) => (await import('./run.js')).runRun(o);
const runDemo: typeof import('./demo.js').runDemo = async (o) => (await import('./demo.js')).runDemo(o);
const runStatus: typeof import('./status.js').runStatus = async (o) => (await import('./status.js')).runStatus(o);
const runVerb: typeof import('./verbs.js').runVerb = async (v, o) => (await import('./verbs.js')).runVerb(v, o);

const DEFAULT_CONF = '/etc/keepalived/keepalived.conf';
/** keepalived's own default pid file (-p), used in its command-line mode. */
export const KEEPALIVED_PID = '/run/keepalived.pid';

export function versionText(): string {
  return [
    `floatd ${VERSION}`,
    'keeps a floating IP on a healthy server: VRRP (v2/v3) wire-compatible with keepalived,',
    `reads keepalived.conf, follows keepalived ${KEEPALIVED_FOLLOWED} (interop-tested with Debian 12's 2.2.7),`,
    'tracks health and moves cloud floating IPs by API.',
    `Node ${process.versions.node}`,
  ].join('\n');
}
const collect = (v: string, prev: string[]): string[] => prev.concat(v);

function program(): Command {
  const p = new Command('floatd')
    .description('keeps a floating IP on a healthy server (VRRP, keepalived.conf, cloud floating IPs)')
    .version(versionText(), '-v, --version')
    .showHelpAfterError();

  p.command('run')
    .description('run the daemon in the foreground')
    .option('-f, --use-file <file>', 'configuration file', DEFAULT_CONF)
    .option('-p, --pid <file>', 'pid file (one daemon per pid file)')
    .option('--json-logs', 'log JSON lines instead of the human format')
    .option('-D, --log-detail', 'detailed logs')
    .option('-i, --config-id <id>', 'activate @id conditional lines', collect, [])
    .action(
      async (o: { useFile: string; pid?: string; jsonLogs?: boolean; logDetail?: boolean; configId: string[] }) => {
        process.exitCode = await runRun({
          file: o.useFile,
          pidFile: o.pid,
          json: o.jsonLogs,
          detail: o.logDetail,
          dontFork: true,
          configIds: o.configId,
        });
      },
    );

  p.command('check')
    .description('parse and validate a configuration, like keepalived -t (exit 0 usable, 1 not)')
    .option('-f, --use-file <file>', 'configuration file', DEFAULT_CONF)
    .option('--json', 'print the model and diagnostics as JSON')
    .option('-i, --config-id <id>', 'activate @id conditional lines', collect, [])
    .action(async (o: { useFile: string; json?: boolean; configId: string[] }) => {
      process.exitCode = await runCheck({ file: o.useFile, json: o.json, configIds: o.configId });
    });
  p.command('status')
    .description(
      'who holds which VIP and why, from the running daemon (exit 0 ok, 1 an instance in FAULT, 3 not running)',
    )
    .option('-s, --socket <path>', 'API unix socket (default: $FLOATD_SOCKET or /run/floatd/floatd.sock)')
    .option('--url <url>', 'API base URL instead of the socket, e.g. http://127.0.0.1:9610/')
    .option('-f, --use-file <file>', 'find the API socket in this configuration')
    .option('--json', 'print the daemon status as JSON')
    .option('-w, --watch [secs]', 'refresh every secs (default 2) until Ctrl-C')
    // Exit 1 means "an instance is in FAULT" here, so a usage error is 2.
    .exitOverride((err) => {
      process.exit(err.exitCode === 0 ? 0 : 2);
    })
    .action(
      async (o: { socket?: string; url?: string; useFile?: string; json?: boolean; watch?: string | boolean }) => {
        const watch = o.watch === undefined ? undefined : o.watch === true ? 2 : Number(o.watch);
        if (watch !== undefined && !(watch > 0)) {
          process.stderr.write('floatd status: --watch takes a number of seconds > 0\n');
          process.exitCode = 2;
          return;
        }
        process.exitCode = await runStatus({ socket: o.socket, url: o.url, file: o.useFile, json: o.json, watch });
      },
    );
  const verbOpts = (c: Command): Command =>
    c
      .option(
        '-s, --socket <path>',
        'API unix socket (default: from the config, $FLOATD_SOCKET or /run/floatd/floatd.sock)',
      )
      .option('--url <url>', 'API base URL instead of the socket')
      .option(
        '-f, --use-file <file>',
        'find the API socket and token file in this configuration (default /etc/keepalived/keepalived.conf)',
      )
      .option(
        '--token-file <file>',
        "the API token (default: $FLOATD_API_TOKEN, or the config's floatd_api token_file)",
      )
      .option('--json', 'print the API answer as JSON')
      .exitOverride((err) => {
        process.exit(err.exitCode === 0 ? 0 : 2);
      });
  type VerbCli = { socket?: string; url?: string; useFile?: string; tokenFile?: string; json?: boolean };
  const target = (o: VerbCli): VerbOptions => ({
    socket: o.socket,
    url: o.url,
    file: o.useFile,
    tokenFile: o.tokenFile,
    json: o.json,
  });
  verbOpts(
    p
      .command('switchover [instance]')
      .description('planned move of MASTER to the best peer, no request lost (all MASTER instances without INSTANCE)')
      .option('--hold <secs>', 'stay at the lowest priority this long afterwards (default 60)'),
  ).action(async (instance: string | undefined, o: VerbCli & { hold?: string }) => {
    const holdS = o.hold === undefined ? undefined : Number(o.hold);
    if (holdS !== undefined && !(holdS >= 0 && holdS <= 86_400)) {
      process.stderr.write('floatd switchover: --hold takes 0..86400 seconds\n');
      process.exitCode = 2;
      return;
    }
    process.exitCode = await runVerb({ kind: 'switchover', instance, holdS }, target(o));
  });
  verbOpts(
    p
      .command('maintenance <state> [instance]')
      .description(
        'on: leave MASTER and stay BACKUP until off, across reloads and restarts ' +
          '(all instances without INSTANCE); status: list',
      ),
  ).action(async (state: string, instance: string | undefined, o: VerbCli) => {
    if (state !== 'on' && state !== 'off' && state !== 'status') {
      process.stderr.write('floatd maintenance: on, off or status\n');
      process.exitCode = 2;
      return;
    }
    process.exitCode = await runVerb({ kind: 'maintenance', state, instance }, target(o));
  });
  verbOpts(
    p
      .command('reload')
      .description(
        "reload the daemon's configuration through the API (SIGHUP's path); " +
          "a refused file's diagnostics are printed, exit 1",
      ),
  ).action(async (o: VerbCli) => {
    process.exitCode = await runVerb({ kind: 'reload' }, target(o));
  });
  const lb = p
    .command('lb')
    .description("the load balancer's verbs (runtime changes: a reload or restart goes back to the file)");
  verbOpts(
    lb
      .command('add <vs> <rs>')
      .description('add real server RS (ADDRESS:PORT) to virtual server VS (e.g. 192.0.2.100:80/TCP) now')
      .option('--weight <n>', 'weight (default 1, or the checks file’s)')
      .option('--checks-from <rs>', 'copy the checks of this real server of the same virtual server')
      .option('--checks-file <file>', "the inside of a real_server block, keepalived's syntax ('-': stdin)"),
  ).action(
    async (vs: string, rs: string, o: VerbCli & { weight?: string; checksFrom?: string; checksFile?: string }) => {
      if (o.weight !== undefined && !/^\d{1,5}$/.test(o.weight)) {
        process.stderr.write('floatd lb add: --weight takes 0..65535\n');
        process.exitCode = 2;
        return;
      }
      const { readFileSync } = await import('node:fs');
      const body =
        o.checksFile === undefined ? undefined : readFileSync(o.checksFile === '-' ? 0 : o.checksFile, 'utf8');
      process.exitCode = await runVerb(
        {
          kind: 'lb-add',
          vs,
          rs,
          ...(o.weight !== undefined ? { weight: Number(o.weight) } : {}),
          ...(o.checksFrom !== undefined ? { checksFrom: o.checksFrom } : {}),
          ...(body !== undefined ? { body } : {}),
        },
        target(o),
      );
    },
  );
  verbOpts(lb.command('remove <vs> <rs>').description('remove real server RS from virtual server VS now')).action(
    async (vs: string, rs: string, o: VerbCli) => {
      process.exitCode = await runVerb({ kind: 'lb-remove', vs, rs }, target(o));
    },
  );
  verbOpts(
    lb
      .command('drain <rs> [state]')
      .description('on (default): weight 0, out of each service when idle or after the timeout; off: back')
      .option('--timeout <secs>', 'drain_timeout: out of the service after this long even if busy (default 300)'),
  ).action(async (rs: string, state: string | undefined, o: VerbCli & { timeout?: string }) => {
    const st = state ?? 'on';
    const timeoutS = o.timeout === undefined ? undefined : Number(o.timeout);
    if ((st !== 'on' && st !== 'off') || (timeoutS !== undefined && !(timeoutS >= 0 && timeoutS <= 86_400))) {
      process.stderr.write('floatd lb drain: RS [on|off] [--timeout 0..86400]\n');
      process.exitCode = 2;
      return;
    }
    process.exitCode = await runVerb(
      { kind: 'lb-drain', rs, state: st, ...(timeoutS !== undefined ? { timeoutS } : {}) },
      target(o),
    );
  });
  p.command('demo')
    .description('the seed tutorial live on a lab of network namespaces: failover and fail-back, measured (root)')
    .option('--loop-ms <ms>', 'client request interval', '50')
    .action(async (o: { loopMs: string }) => {
      process.exitCode = await runDemo({ loopMs: Number(o.loopMs) });
    });
  return p;
}

/** keepalived's command line, for drop-in use: `floatd -f FILE --dont-fork --log-console`. */
function keepalivedCompat(): Command {
  return new Command('floatd')
    .option('-f, --use-file <file>', 'configuration file', DEFAULT_CONF)
    .option('-n, --dont-fork', "don't fork the daemon process")
    .option('-l, --log-console', 'log to the console too (human lines on stderr)')
    .option('-D, --log-detail', 'detailed logs')
    .option('-p, --pid <file>', 'pid file', KEEPALIVED_PID)
    .option('-r, --vrrp_pid <file>', 'accepted for compatibility (floatd is one process)')
    .option('-c, --checkers_pid <file>', 'accepted for compatibility')
    .addOption(new Option('-t, --config-test [file]', 'check the configuration and exit'))
    .option('-i, --config-id <id>', 'activate @id conditional lines', collect, [])
    .option('-P, --vrrp', 'accepted for compatibility (floatd runs VRRP)')
    .option('-S, --log-facility <n>', 'syslog facility local0..local7 (0..7; default daemon)')
    .option('-G, --no-syslog', "don't log to syslog")
    .version(versionText(), '-v, --version')
    .action(async (o: CompatOptions) => {
      if (o.configTest) {
        const file = typeof o.configTest === 'string' ? o.configTest : o.useFile;
        process.exitCode = await runCheck({ file, configIds: o.configId });
        return;
      }
      const { parseFacility, LOG_DAEMON } = await import('./syslog.js');
      const facility = o.logFacility === undefined ? LOG_DAEMON : parseFacility(o.logFacility);
      if (facility === undefined) {
        process.stderr.write(`floatd: -S ${o.logFacility}: not a syslog facility (0..7 for local0..local7)\n`);
        process.exitCode = 1;
        return;
      }
      const logTo = {
        ...(o.syslog
          ? {
              syslog: {
                facility,
                ...(process.env.FLOATD_SYSLOG_SOCKET ? { socket: process.env.FLOATD_SYSLOG_SOCKET } : {}),
              },
            }
          : {}),
        console: o.logConsole === true,
      };
      process.exitCode = await runRun({
        file: o.useFile,
        pidFile: o.pid,
        detail: o.logDetail,
        dontFork: o.dontFork === true,
        configIds: o.configId,
        logTo,
      });
    });
}

interface CompatOptions {
  useFile: string;
  dontFork?: boolean;
  logConsole?: boolean;
  logDetail?: boolean;
  pid: string;
  configTest?: string | boolean;
  configId: string[];
  logFacility?: string;
  syslog: boolean;
}

async function main(argv: string[]): Promise<void> {
  const first = argv[0];
  const compat = first !== undefined && first.startsWith('-') && !['-h', '--help', '-v', '--version'].includes(first);
  const cmd = compat ? keepalivedCompat() : program();
  await cmd.parseAsync(argv, { from: 'user' });
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`floatd: internal error: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 70;
});
