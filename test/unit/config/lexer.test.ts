/**
 * keepalived 2.2.7's configuration grammar beyond blocks and words (keepalived.conf(5): parameter
 * substitution, pre-defined definitions, sequence blocks, quoting).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lex, splitCommand, splitLine } from '../../../src/config/lexer.js';
import { parseConfigText } from '../../../src/config/index.js';

/**
 * The words the lexer produced, one string per output line (an output line starts at a new input
 * line or when the column goes back).
 */
function lines(text: string, configIds?: string[]): string[] {
  const { tokens, diagnostics } = lex('/etc/keepalived/keepalived.conf', text, {
    ...(configIds ? { configIds } : {}),
    random: () => 0.5,
  });
  assert.deepEqual(diagnostics, []);
  const out: string[][] = [];
  let prev: { line: number; col: number } | undefined;
  for (const t of tokens) {
    if (!prev || t.line !== prev.line || t.col <= prev.col) out.push([]);
    out[out.length - 1]!.push(t.text);
    prev = t;
  }
  return out.map((w) => w.join(' '));
}

test('definitions are replaced at use, recursively, with the values current then (man page example)', () => {
  assert.deepEqual(
    lines(
      '$ADDRESS_BASE=10.2.${ADDRESS_BASE_SUB}\n$ADDRESS_BASE_SUB=0\n${ADDRESS_BASE}.100/32\n' +
        '$ADDRESS_BASE_SUB=10\n${ADDRESS_BASE}.100/32\n',
    ),
    ['10.2.0.100/32', '10.2.10.100/32'],
  );
  // $NAME only before whitespace or the end; undefined names stay as written.
  assert.deepEqual(lines('$P=240\npriority $P\nx $Pz ${UNDEF} $UNDEF\n'), ['priority 240', 'x $Pz ${UNDEF} $UNDEF']);
});

test('definitions work with conditional lines both ways round', () => {
  const text = '@main $PRIORITY=240\n@backup $PRIORITY=200\npriority $PRIORITY\n$IF_MAIN=@main\n$IF_MAIN nopreempt\n';
  assert.deepEqual(lines(text, ['main']), ['priority 240', 'nopreempt']);
  assert.deepEqual(lines(text, ['backup']), ['priority 200']);
});

test('multi-line definitions expand to several lines, nest, and carry definitions of their own', () => {
  const text = [
    '$VI= \\',
    'vrrp_instance VI_${NUM} { \\',
    '    interface eth${NUM} \\',
    '    @high priority 130 \\',
    '    $RS \\',
    '}',
    '$RS=virtual_router_id ${NUM}',
    '$NUM=0',
    '$VI',
    '$NUM=1',
    '$VI',
  ].join('\n');
  assert.deepEqual(lines(text, ['high']), [
    'vrrp_instance VI_0 {',
    'interface eth0',
    'priority 130',
    'virtual_router_id 0',
    '}',
    'vrrp_instance VI_1 {',
    'interface eth1',
    'priority 130',
    'virtual_router_id 1',
    '}',
  ]);
  // The same text through the whole parser: two instances.
  const r = parseConfigText(
    `${text.replace(/eth\$\{NUM\}/, 'eth0')}\n`.replace('virtual_router_id ${NUM}', 'virtual_router_id 1${NUM}'),
    '/tmp/k.conf',
    { configIds: ['high'] },
  );
  assert.deepEqual(
    r.config?.instances.map((i) => [i.name, i.vrid, i.priority]),
    [
      ['VI_0', 10, 130],
      ['VI_1', 11, 130],
    ],
  );
});

test('pre-defined definitions: _PWD, _INSTANCE, _HASH and _BANG (no comment), _RANDOM in its range', () => {
  assert.deepEqual(lines('script "${_PWD}/chk.sh ${_INSTANCE}"\n', ['lb1']), ['script /etc/keepalived/chk.sh lb1']);
  assert.deepEqual(lines('auth_pass a${_HASH}b${_BANG}c\n'), ['auth_pass a#b!c']);
  assert.deepEqual(lines('x ${_RANDOM} ${_RANDOM 10 20}\n'), ['x 16384 15']);
});

test('~SEQ and ~SEQx repeat the rest of the line; start and step default; several on one line nest', () => {
  assert.deepEqual(lines('~SEQ(SUBNET, 0, 3) ip_address 10.0.${SUBNET}.1\n'), [
    'ip_address 10.0.0.1',
    'ip_address 10.0.1.1',
    'ip_address 10.0.2.1',
    'ip_address 10.0.3.1',
  ]);
  assert.deepEqual(lines('~SEQx(S, 0x90, 0x10, 0xc0) a fe80::20:${S}:1\n'), [
    'a fe80::20:90:1',
    'a fe80::20:a0:1',
    'a fe80::20:b0:1',
    'a fe80::20:c0:1',
  ]);
  assert.deepEqual(lines('~SEQ(N, 3) n$N\n'.replace('n$N', 'n ${N}')), ['n 1', 'n 2', 'n 3']);
  assert.deepEqual(lines('~SEQ(N, 3, 1) n ${N}\n'), ['n 3', 'n 2', 'n 1']);
  assert.deepEqual(lines('~SEQ(A, 1, 2) ~SEQ(B, 0, 1) v ${A}.${B}\n'), ['v 1.0', 'v 1.1', 'v 2.0', 'v 2.1']);
  const bad = lex('k.conf', '~SEQ(N, 1, 0, 5) x\n~SEQ(1N, 3) x\n');
  assert.deepEqual(
    bad.diagnostics.map((d) => [d.line, d.keyword]),
    [
      [1, '~SEQ'],
      [2, '~SEQ'],
    ],
  );
  assert.deepEqual(bad.tokens, []);
});

test('a definition that expands into itself is an error, not a hang', () => {
  const r = lex('k.conf', '$A=$B x\n$B=$A y\n$A\n');
  assert.ok(
    r.diagnostics.some((d) => d.severity === 'error' && d.line === 3),
    JSON.stringify(r.diagnostics),
  );
});

test("double quotes group mid-word and take keepalived's escapes", () => {
  assert.deepEqual(
    splitLine('abcd" efg h jkl "mnop').map((w) => w.text),
    ['abcd efg h jkl mnop'],
  );
  assert.deepEqual(
    splitLine('abcd "efg h jkl" mnop').map((w) => w.text),
    ['abcd', 'efg h jkl', 'mnop'],
  );
  assert.equal(splitLine('"a\\tb\\x41\\101\\cA\\"q\\\\"')[0]!.text, 'a\tbAA\x01"q\\');
});

test('a script command line splits at blanks; single quotes keep spaces; ! and # are arguments', () => {
  assert.deepEqual(splitCommand("/usr/bin/test ! -f '/run/my file' # x"), [
    '/usr/bin/test',
    '!',
    '-f',
    '/run/my file',
    '#',
    'x',
  ]);
  const r = parseConfigText('vrrp_script chk {\n    script "test ! -e /run/maint"\n}\n', '/tmp/k.conf');
  assert.deepEqual(r.config?.scripts[0]?.argv, ['test', '!', '-e', '/run/maint']);
});
