/**
 * Applies the fault schedule (fault-schedule.ts) to a simulated cluster:
 * MemoryHub for partitions, isolation, drops and duplicates; LinkFaults for
 * one-way cuts and slow links; the nodes for crashes, restarts and clock
 * skew; membership.ts for joins and leaves. heal() ends every fault at once
 * for the quiet period, including crashes that were armed (mid-commit,
 * after-ack) but had not struck yet; a leave in flight runs on to its end.
 */
import type { NodeId } from '../../src/core/ids';
import type { MemoryHub } from '../../src/transport/memory-network';
import type { PeerMsg } from '../../src/replication/peer-message';
import type { EventQueue } from './event-queue';
import { describeFault, type ScheduledFault } from './fault-schedule';
import type { SkewedClock } from './sim-clock';
import type { LinkFaults } from './sim-network';
import type { SimNode } from './sim-node';
import type { Workload } from './workload';

export interface FaultInjectorDeps {
  queue: EventQueue;
  hub: MemoryHub<PeerMsg>;
  links: LinkFaults;
  nodes: readonly SimNode[];
  clocks: ReadonlyMap<NodeId, SkewedClock>;
  workload: Workload;
  log: (text: string) => void;
  /** Runs join and leave faults (membership.ts); returns false when it skipped one. */
  membership?: { join(node: NodeId, region: string): boolean; leave(node: NodeId): boolean };
}

export class FaultInjector {
  /** Node crashes that happened (a power loss counts every node it took down). */
  crashes = 0;
  /** Faults applied, by kind (skipped crashes not counted). */
  readonly counts: Record<string, number> = {};
  /** Largest clock skew any node has had. */
  maxSkewMs = 0;
  private quiet = false;
  private readonly byId: Map<NodeId, SimNode>;

  constructor(private readonly d: FaultInjectorDeps) {
    this.byId = new Map(d.nodes.map((n) => [n.id, n]));
    for (const c of d.clocks.values()) this.maxSkewMs = Math.max(this.maxSkewMs, Math.abs(c.skewMs));
  }

  /** Start (or restart) a node; a crash while it starts just leaves it down. */
  startNode(n: SimNode): void {
    n.start().catch((err) => this.d.log(`${n.id} start interrupted: ${(err as { code?: string }).code ?? (err as Error).message}`));
  }

  /** Put each fault on the queue at its time, leaving out the disabled ones. */
  schedule(faults: readonly ScheduledFault[], disabled?: ReadonlySet<number>): void {
    for (const f of faults) {
      if (disabled?.has(f.index)) continue;
      this.d.queue.schedule(Math.max(0, f.atMs - this.d.queue.now()), () => this.apply(f), `fault#${f.index}`);
    }
  }

  /** End every fault: partitions, cuts, slow links, drops, duplicates, armed crashes; restart down nodes. */
  heal(): void {
    const { hub, links, workload, nodes } = this.d;
    this.quiet = true;
    hub.heal();
    links.clear();
    hub.dropRate = 0;
    hub.duplicateRate = 0;
    workload.disarm();
    for (const n of nodes) {
      n.disarm();
      if (n.state === 'down') this.startNode(n);
    }
  }

  private count(kind: string): void {
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
  }

  private apply(f: ScheduledFault): void {
    const { hub, links, nodes, queue, log } = this.d;
    const fault = f.fault;
    log(`fault#${f.index} ${describeFault(fault)}`);
    if (fault.kind !== 'crash') this.count(fault.kind);
    switch (fault.kind) {
      case 'partition':
        hub.partition(fault.groups);
        return;
      case 'isolate':
        hub.isolate(fault.node);
        return;
      case 'cut-link':
        links.cut(fault.from, fault.to);
        return;
      case 'cut-in':
        for (const n of nodes) if (n.id !== fault.node) links.cut(n.id, fault.node);
        return;
      case 'cut-out':
        for (const n of nodes) if (n.id !== fault.node) links.cut(fault.node, n.id);
        return;
      case 'heal':
        hub.heal();
        links.clearCuts();
        return;
      case 'crash': {
        const crash = (n: SimNode): void => {
          // Keep two nodes up: a single crash is a crash, not an outage.
          const up = nodes.filter((x) => x.state !== 'down' && x.state !== 'left').length;
          if (this.quiet || n.state === 'down' || up <= 2) {
            log(`fault#${f.index} skipped`);
            return;
          }
          log(`fault#${f.index} crashes ${n.id}`);
          this.count('crash');
          this.crashes++;
          n.crash();
          queue.schedule(fault.downMs, () => this.startNode(n), `restart ${n.id}`);
        };
        const target = this.byId.get(fault.node)!;
        if (fault.when === 'mid-commit' && target.isUp()) target.armMidCommit(() => crash(target));
        else if (fault.when === 'after-ack') this.d.workload.armAfterAck((_op, coordinator) => crash(coordinator));
        else crash(target);
        return;
      }
      case 'power-loss': {
        const blackout = (): void => {
          if (this.quiet) return;
          log(`fault#${f.index} power fails`);
          for (const n of nodes) {
            if (n.state !== 'down') this.crashes++;
            n.crash();
            queue.schedule(fault.downMs, () => this.startNode(n), `restart ${n.id}`);
          }
        };
        const trigger = this.byId.get(fault.node)!;
        if (fault.when === 'mid-commit' && trigger.isUp()) trigger.armMidCommit(blackout);
        else if (fault.when === 'after-ack') this.d.workload.armAfterAck(blackout);
        else blackout();
        return;
      }
      case 'drop-rate':
        hub.dropRate = fault.rate;
        return;
      case 'duplicate-rate':
        hub.duplicateRate = fault.rate;
        return;
      case 'slow-link':
        links.setDelay(fault.from, fault.to, fault.extraMs);
        queue.schedule(fault.forMs, () => links.setDelay(fault.from, fault.to, 0), `slow-link-end ${fault.from}>${fault.to}`);
        return;
      case 'skew':
        this.d.clocks.get(fault.node)!.skewMs = fault.skewMs;
        this.maxSkewMs = Math.max(this.maxSkewMs, Math.abs(fault.skewMs));
        return;
      case 'join':
      case 'leave': {
        const m = this.d.membership;
        const done = m !== undefined && !this.quiet && (fault.kind === 'join' ? m.join(fault.node, fault.region) : m.leave(fault.node));
        if (!done) {
          this.counts[fault.kind]!--;
          log(`fault#${f.index} skipped`);
        }
        return;
      }
    }
  }
}
