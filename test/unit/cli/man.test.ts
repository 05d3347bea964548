/**
 * The man pages (packaging/man) render without groff warnings and stay true to the command
 * line: every command and every keepalived-style option floatd accepts is in floatd(8), and
 * every floatd addition block is in floatd-keepalived.conf(5).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../../../src/lab/seed-lab.js';

const MAN8 = join(REPO_ROOT, 'packaging/man/floatd.8');
const MAN5 = join(REPO_ROOT, 'packaging/man/floatd-keepalived.conf.5');
const MAIN = join(REPO_ROOT, 'dist/src/cli/main.js');
const skip = spawnSync('man', ['--version']).status === 0 ? false : 'man (man-db) missing';

function render(page: string): string {
  const r = spawnSync('man', ['--warnings', '-l', page], {
    encoding: 'utf8',
    env: { ...process.env, LC_ALL: 'C.UTF-8', MANWIDTH: '100', MAN_KEEP_FORMATTING: '' },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr.trim(), '', `groff warnings in ${page}`);
  return r.stdout.replace(/.\x08/g, '');
}

const help = (...args: string[]): string => spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8' }).stdout;

test('floatd(8): renders cleanly; names every command, keepalived option and signal', { skip }, () => {
  const text = render(MAN8);
  const commands = [...help('--help').matchAll(/^ {2}([a-z]+) /gm)].map((m) => m[1]!).filter((c) => c !== 'help');
  assert.ok(commands.length >= 7, commands.join(' '));
  for (const c of commands) assert.match(text, new RegExp(`^\\s+${c}\\b`, 'm'), `command ${c} in floatd(8)`);
  const opts = [...help('-f', 'x', '--help').matchAll(/^\s+(-[a-zA-Z]), (--[a-z_-]+)/gm)].filter((m) => m[1] !== '-h');
  assert.ok(opts.length >= 12);
  for (const m of opts) assert.ok(text.includes(m[1]!) && text.includes(m[2]!), `option ${m[1]}/${m[2]} in floatd(8)`);
  for (const sig of ['SIGHUP', 'SIGTERM', 'SIGUSR1', 'SIGUSR2']) assert.ok(text.includes(sig), sig);
  assert.match(text, /CAP_NET_RAW/);
});

test("floatd-keepalived.conf(5): renders cleanly; names floatd's additions", { skip }, () => {
  const text = render(MAN5);
  for (const k of [
    'floating_ip',
    'floatd_api',
    'notify_webhook',
    'floatd_quorum',
    'http_get',
    'tcp_connect',
    'token_file',
  ])
    assert.ok(text.includes(k), k);
});
