/**
 * The schema tables are the keyword list: docs/config.md's Keywords section must list every
 * keyword of every block with the status the table gives it, and nothing the tables lack.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TOP } from '../../../src/config/blocks.js';
import { GLOBAL_SCHEMA } from '../../../src/config/global-block.js';
import { AUTH_SCHEMA, INSTANCE_SCHEMA } from '../../../src/config/instance-block.js';
import { SYNC_GROUP_SCHEMA } from '../../../src/config/sync-group-block.js';
import { SCRIPT_SCHEMA } from '../../../src/config/script-block.js';
import { TRACK_FILE_SCHEMA, TRACK_PROCESS_SCHEMA } from '../../../src/config/track-blocks.js';
import { FLOATING_IP_SCHEMA } from '../../../src/config/floating-ip-block.js';
import { WEBHOOK_SCHEMA } from '../../../src/config/webhook-block.js';
import { API_SCHEMA } from '../../../src/config/api-block.js';
import { QUORUM_SCHEMA } from '../../../src/config/quorum-block.js';
import { statusOf, type Keyword, type Status } from '../../../src/config/schema.js';

const root = new URL('../../../', import.meta.url).pathname.replace(/\/dist\/$/, '/');

type Table = Readonly<Record<string, Keyword<never>>>;
const topStatus = (k: string): Status => TOP[k]!.status ?? (TOP[k]!.read ? 'honoured' : 'unsupported');
/** docs heading → the keywords and their status. */
const SECTIONS: Record<string, Map<string, Status>> = {};
const add = (heading: string, ...tables: Table[]): void => {
  SECTIONS[heading] = new Map(
    tables.flatMap((t) => Object.entries(t).map(([k, v]) => [k, statusOf(v)] as [string, Status])),
  );
};
SECTIONS['Top level'] = new Map(Object.keys(TOP).map((k) => [k, topStatus(k)]));
add('global_defs', GLOBAL_SCHEMA as Table);
add('vrrp_instance', INSTANCE_SCHEMA as Table, AUTH_SCHEMA as Table);
add('vrrp_sync_group', SYNC_GROUP_SCHEMA as Table);
add('vrrp_script', SCRIPT_SCHEMA as Table);
add('track_file (vrrp_track_file)', TRACK_FILE_SCHEMA as Table);
add('vrrp_track_process', TRACK_PROCESS_SCHEMA as Table);
add('floating_ip', FLOATING_IP_SCHEMA as Table);
add('notify_webhook', WEBHOOK_SCHEMA as Table);
add('floatd_api', API_SCHEMA as Table);
add('floatd_quorum', QUORUM_SCHEMA as Table);

function docStatus(cell: string): Status | undefined {
  const s = cell.trim();
  if (s.startsWith('honoured')) return 'honoured';
  if (s.startsWith('parsed, not yet acted on')) return 'unsupported';
  if (s.startsWith('floatd addition')) return 'floatd';
  return undefined;
}

/** heading → keyword → status, from the table rows of docs/config.md's Keywords section. */
function documented(): Map<string, Map<string, Status | undefined>> {
  const doc = readFileSync(join(root, 'docs/config.md'), 'utf8');
  const out = new Map<string, Map<string, Status | undefined>>();
  let cur: Map<string, Status | undefined> | undefined;
  for (const line of doc.slice(doc.indexOf('## Keywords')).split('\n')) {
    const h = /^### (.+)$/.exec(line);
    if (h) {
      cur = new Map();
      out.set(h[1]!.trim(), cur);
      continue;
    }
    const row = /^\| (.+) \| (.+) \|$/.exec(line);
    if (!cur || !row || row[1] === 'Keyword') continue;
    for (const m of row[1]!.matchAll(/`([A-Za-z0-9_]+)`/g)) cur.set(m[1]!, docStatus(row[2]!));
  }
  return out;
}

test('docs/config.md lists every keyword of every block with the status its schema table gives', () => {
  const doc = documented();
  const problems: string[] = [];
  for (const [heading, table] of Object.entries(SECTIONS)) {
    const rows = doc.get(heading);
    if (!rows) {
      problems.push(`no "### ${heading}" section`);
      continue;
    }
    for (const [k, st] of table) {
      if (!rows.has(k)) problems.push(`${heading}: ${k} (${st}) is not documented`);
      else if (rows.get(k) !== st)
        problems.push(`${heading}: ${k} is ${st} in the schema, "${rows.get(k) ?? '?'}" in the docs`);
    }
    for (const k of rows.keys())
      if (!table.has(k)) problems.push(`${heading}: ${k} is documented but not in the schema`);
  }
  assert.deepEqual(problems, []);
});
