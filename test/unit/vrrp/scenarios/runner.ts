/**
 * Golden scenario runner: a scenario file lists nodes, timed inputs and the exact
 * transitions (and selected actions) expected. Times are integer microseconds.
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { World, type NodeSpec } from '../../../sim/world.js';
import type { Event, InstanceParams } from '../../../../src/vrrp/fsm.js';
import type { SyncGroupParams } from '../../../../src/vrrp/sync-group.js';

export const DEFAULT_PARAMS: Omit<InstanceParams, 'name' | 'myAddress'> = {
  vrid: 33,
  version: 2,
  family: 4,
  priority: 100,
  initialState: 'BACKUP',
  advertIntervalCs: 100,
  preempt: true,
  preemptDelayUs: 0,
  downTimerAdverts: 3,
  lowerPrioNoAdvert: false,
  higherPrioSendAdvert: false,
  garpMasterDelayUs: 5_000_000,
  garpMasterRefreshUs: 0,
};

export interface ScenarioInput {
  at: number;
  node?: string;
  instance?: string;
  event?: Event;
  crash?: string;
  restart?: string;
  /** Groups of nodes that can hear each other; [] heals. */
  partition?: string[][];
}

export interface Scenario {
  name: string;
  description?: string;
  delayUs?: number;
  /** Dataplane time from reportVipsReady to vipsReady. */
  vipsReadyDelayUs?: number;
  /** Every timer fires this late. */
  timerLateUs?: number;
  defaults?: Partial<InstanceParams>;
  nodes: Array<{
    name: string;
    instances: Array<Partial<InstanceParams> & { name: string; myAddress: string }>;
    groups?: SyncGroupParams[];
  }>;
  inputs: ScenarioInput[];
  until: number;
  /** [at, node, instance, from, to, reasonKind] */
  transitions: Array<[number, string, string, string, string, string]>;
  /** Each must match (deep subset) some recorded action at that time/node/instance, in order. */
  actions?: Array<{ at: number; node: string; instance: string; action: Record<string, unknown> }>;
  final?: Record<
    string,
    { state?: string; effectivePriority?: number; basePriority?: number; holdsVip?: boolean; reasonKind?: string }
  >;
}

function repoRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'package.json'))) {
    const up = dirname(d);
    if (up === d) throw new Error('package.json not found');
    d = up;
  }
  return d;
}

export function loadScenarios(): Array<{ file: string; scenario: Scenario }> {
  const dir = join(repoRoot(), 'test/unit/vrrp/scenarios');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, scenario: JSON.parse(readFileSync(join(dir, file), 'utf8')) as Scenario }));
}

export function nodeSpecs(s: Scenario): NodeSpec[] {
  return s.nodes.map((n) => ({
    name: n.name,
    groups: n.groups ?? [],
    instances: n.instances.map((i) => ({ ...DEFAULT_PARAMS, ...s.defaults, ...i }) as InstanceParams),
  }));
}

export function runScenario(s: Scenario): World {
  let parts: string[][] = [];
  const delay = s.delayUs ?? 0;
  const world = new World((from, to) => {
    if (parts.length === 0) return delay;
    return parts.some((g) => g.includes(from) && g.includes(to)) ? delay : undefined;
  });
  world.recordActions = true;
  world.vipsReadyDelayUs = s.vipsReadyDelayUs ?? 0;
  world.timerLateUs = s.timerLateUs ?? 0;
  for (const spec of nodeSpecs(s)) world.addNode(spec);
  for (const inp of s.inputs) {
    world.at(inp.at, () => {
      if (inp.partition) parts = inp.partition;
      if (inp.crash) world.crash(inp.crash);
      if (inp.restart) world.restart(inp.restart);
      if (inp.event && inp.node) world.inject(inp.node, inp.event, inp.instance);
    });
  }
  world.runUntil(s.until);
  return world;
}
