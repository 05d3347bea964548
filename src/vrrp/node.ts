/**
 * All VRRP instances and sync groups of one daemon. Routes events to instances and applies
 * the sync-group coupling (keepalived vrrp_sync.c; docs/state-machine.md). Pure like the
 * instances: events in, actions out.
 */
import {
  VrrpInstance,
  type Action,
  type Event,
  type InstanceParams,
  type SyncDirective,
  type VrrpState,
  type Reason,
} from './fsm.js';
import { canGoMaster, directiveFor, groupState, type MemberView, type SyncGroupParams } from './sync-group.js';

export type NodeAction =
  | { instance: string; action: Action }
  | { group: string; action: { type: 'transition'; from: VrrpState; to: VrrpState; reason: Reason } };

interface Group {
  params: SyncGroupParams;
  members: VrrpInstance[];
  state: VrrpState;
}

export class VrrpNode {
  private readonly byName = new Map<string, VrrpInstance>();
  private readonly groupOf = new Map<string, Group>();
  private readonly groups: Group[] = [];

  /** Unknown group members are ignored and an instance joins only its first group (as keepalived). */
  constructor(instances: readonly InstanceParams[], syncGroups: readonly SyncGroupParams[] = []) {
    for (const g of syncGroups) {
      const group: Group = { params: { name: g.name, members: [] }, members: [], state: 'INIT' };
      for (const m of g.members) {
        if (!instances.some((i) => i.name === m) || this.groupOf.has(m)) continue;
        group.params.members.push(m);
        this.groupOf.set(m, group);
      }
      if (group.params.members.length > 0) this.groups.push(group);
    }
    for (const p of instances) {
      const group = this.groupOf.get(p.name);
      const inst = new VrrpInstance(p, group ? { canGoMaster: () => this.memberMayMaster(group, p.name) } : {});
      this.byName.set(p.name, inst);
      if (group) group.members.push(inst);
    }
  }

  get instances(): readonly VrrpInstance[] {
    return [...this.byName.values()];
  }
  instance(name: string): VrrpInstance | undefined {
    return this.byName.get(name);
  }
  groupStates(): ReadonlyMap<string, VrrpState> {
    return new Map(this.groups.map((g) => [g.params.name, g.state]));
  }

  nextDeadline(): number | undefined {
    let min: number | undefined;
    for (const i of this.byName.values()) {
      const d = i.nextDeadline();
      if (d !== undefined && (min === undefined || d < min)) min = d;
    }
    return min;
  }

  /** Feed one event to one instance, or to every instance when `instance` is omitted. */
  step(now: number, event: Event, instance?: string): NodeAction[] {
    const out: NodeAction[] = [];
    const targets =
      instance === undefined ? [...this.byName.values()] : [this.byName.get(instance)].filter((i) => i !== undefined);
    for (const inst of targets) this.run(now, inst, event, out);
    return out;
  }

  private memberMayMaster(group: Group, name: string): boolean {
    const idx = group.members.findIndex((m) => m.params.name === name);
    return canGoMaster(idx, group.members.map(view));
  }

  private run(now: number, first: VrrpInstance, event: Event, out: NodeAction[]): void {
    const queue: Array<[VrrpInstance, Event]> = [[first, event]];
    for (let guard = 0; queue.length > 0 && guard < 10_000; guard++) {
      const [inst, ev] = queue.shift()!;
      const actions = inst.step(now, ev);
      const name = inst.params.name;
      for (const a of actions) out.push({ instance: name, action: a });
      const group = this.groupOf.get(name);
      if (!group) continue;
      for (const a of actions) {
        // A split brain just ended: refresh ARP caches for the siblings too (keepalived does).
        if (a.type === 'masterRxLowerPri') {
          for (const m of group.members)
            if (m !== inst && m.state === 'MASTER')
              out.push({ instance: m.params.name, action: { type: 'garp', burst: 'lowerPrio' } });
        }
        if (a.type !== 'transition') continue;
        const d = directiveFor(a.from, a.to);
        if (d) this.tell(now, group, inst, d, queue);
      }
      // Release a group fault once no member has a fault of its own.
      if (group.members.some((m) => m.faulted) && !group.members.some((m) => m.faults.length > 0)) {
        this.tell(now, group, undefined, 'RECOVER', queue);
      }
      this.updateGroupState(group, out);
    }
  }

  private tell(
    now: number,
    group: Group,
    except: VrrpInstance | undefined,
    to: SyncDirective,
    queue: Array<[VrrpInstance, Event]>,
  ): void {
    const text = `VRRP_Group(${group.params.name}) Syncing instances to ${to === 'RECOVER' ? 'BACKUP' : to} state`;
    for (const m of group.members) {
      if (m === except || m.state === 'INIT' || m.state === 'STOP') {
        // INIT members still learn about a group fault so they start in FAULT.
        if (m !== except && m.state === 'INIT' && (to === 'FAULT' || to === 'RECOVER'))
          m.step(now, { type: 'syncGroup', group: group.params.name, to, text });
        continue;
      }
      queue.push([m, { type: 'syncGroup', group: group.params.name, to, text }]);
    }
  }

  private updateGroupState(group: Group, out: NodeAction[]): void {
    const next = groupState(group.members.map(view));
    if (next === group.state) return;
    const from = group.state;
    group.state = next;
    const kind = next === 'FAULT' ? 'fault' : next === 'STOP' ? 'shutdown' : 'sync_group';
    out.push({
      group: group.params.name,
      action: {
        type: 'transition',
        from,
        to: next,
        reason: { kind, text: `VRRP_Group(${group.params.name}) Entering ${next} STATE` },
      },
    });
  }
}

function view(i: VrrpInstance): MemberView {
  return { state: i.state, wantState: i.wantState, ownFault: i.faults.length > 0 };
}
