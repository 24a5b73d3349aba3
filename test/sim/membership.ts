/**
 * Membership changes in the simulator (Dynamo 4.9, adding and removing
 * storage nodes; docs/membership.md): the member list, the ring every node
 * holds, and the join and leave faults, one change in flight at a time.
 *
 * - join: the new node starts; once it serves, it becomes a member with the
 *   latest joinedAtMs, and every node's ring is rebuilt with buildRing (the
 *   sim stands in for gossip by swapping the ring everywhere at once). The
 *   nodes' partition handoff (sim-node.ts, as node/handoff-service.ts) sees
 *   the change on its next tick and pushes the moved partitions. The change
 *   is done when every member is up with no handoff work left.
 * - leave: the node's record turns 'leaving', so every ring drops it; its
 *   partitions become orphans it hands to their new replicas. It stops for
 *   good once it holds no keys and no hints, has no handoff left, and no
 *   other node holds hints for it.
 *
 * A change that comes while another is in flight waits for it to finish
 * (it is deferred, not dropped), so at most one is in flight at any time.
 *
 * At a join it measures the share of keys (written so far) and of
 * partitions whose replica set changed: the keys that move.
 */
import type { NodeId } from '../../src/core/ids';
import { asPartitionId } from '../../src/core/ids';
import { buildRing, type Ring, type RingMember } from '../../src/ring/ring';
import { partitionOf } from '../../src/ring/partitioner';
import { preferenceList } from '../../src/ring/preference-list';
import type { EventQueue } from './event-queue';
import type { SimNode } from './sim-node';

const CHECK_EVERY_MS = 100;

export interface MembershipDeps {
  queue: EventQueue;
  n: number;
  q: number;
  members: RingMember[];
  /** Every node ever started, members or not (joiners are appended). */
  nodes: SimNode[];
  /** Makes (not starts) the node of a joining member. */
  makeNode: (id: NodeId, region: string) => SimNode;
  startNode: (node: SimNode) => void;
  keys: () => string[];
  log: (text: string) => void;
}

export interface JoinFigures {
  node: NodeId;
  keys: number;
  keysMoved: number;
  partitions: number;
  partitionsMoved: number;
}

export class Membership {
  ring: Ring;
  joins = 0;
  leaves = 0;
  readonly joinFigures: JoinFigures[] = [];
  private inFlight: string | null = null;
  private readonly deferred: Array<() => boolean> = [];
  private readonly leaving = new Set<NodeId>();

  constructor(private readonly d: MembershipDeps) {
    this.ring = buildRing(d.members, d.q);
  }

  /** The nodes that are members now, or still leaving. */
  active(): SimNode[] {
    return this.d.nodes.filter((n) => n.state !== 'left' && (this.isMember(n.id) || this.leaving.has(n.id)));
  }

  /** No change in flight or waiting. */
  settled(): boolean {
    return this.inFlight === null && this.deferred.length === 0;
  }

  join(id: NodeId, region: string): boolean {
    if (this.d.nodes.some((n) => n.id === id)) return false;
    if (this.inFlight !== null) return this.defer(`join ${id}`, () => this.join(id, region));
    this.inFlight = `join ${id}`;
    const node = this.d.makeNode(id, region);
    this.d.nodes.push(node);
    this.d.startNode(node);
    const admit = (): void => {
      if (!node.isUp()) {
        // Started or crashed while starting (a power loss): wait, restart when down.
        if (node.state === 'down') this.d.startNode(node);
        this.d.queue.schedule(CHECK_EVERY_MS, admit, `join-wait ${id}`);
        return;
      }
      const joinedAtMs = Math.max(...this.d.members.map((m) => m.joinedAtMs)) + 1;
      this.d.members.push({ id, region, joinedAtMs });
      this.setRing(`${id} joins`);
      this.joins++;
      this.d.queue.schedule(CHECK_EVERY_MS, () => this.awaitHandoff(), `join-check ${id}`);
    };
    this.d.queue.schedule(0, admit, `join-wait ${id}`);
    return true;
  }

  leave(id: NodeId): boolean {
    const node = this.d.nodes.find((n) => n.id === id);
    if (!node || !this.isMember(id)) return false;
    if (this.inFlight !== null) return this.defer(`leave ${id}`, () => this.leave(id));
    if (this.d.members.length <= this.d.n) return false;
    this.inFlight = `leave ${id}`;
    this.leaving.add(id);
    this.d.members.splice(this.d.members.findIndex((m) => m.id === id), 1);
    this.setRing(`${id} leaves`);
    this.leaves++;
    const check = (): void => {
      const othersHold = this.d.nodes.some((n) => n !== node && n.state !== 'left' && n.storage !== undefined && n.storage.hints(id, 1).length > 0);
      if (node.isUp() && node.storage.size() === 0 && node.hintCount() === 0 && node.partitions.idle() && !othersHold) {
        node.stopForGood();
        this.leaving.delete(id);
        this.finish();
        return;
      }
      this.d.queue.schedule(CHECK_EVERY_MS, check, `leave-check ${id}`);
    };
    this.d.queue.schedule(CHECK_EVERY_MS, check, `leave-check ${id}`);
    return true;
  }

  private defer(what: string, start: () => boolean): boolean {
    this.d.log(`membership: ${what} waits for ${this.inFlight}`);
    this.deferred.push(start);
    return true;
  }

  private finish(): void {
    this.d.log(`membership: ${this.inFlight} done`);
    this.inFlight = null;
    // A deferred change that no longer applies (its node left meanwhile) lets the next one start.
    for (let next = this.deferred.shift(); next && this.inFlight === null; next = this.deferred.shift()) {
      if (!next()) this.d.log('membership: deferred change no longer applies');
    }
  }

  private isMember(id: NodeId): boolean {
    return this.d.members.some((m) => m.id === id);
  }

  private awaitHandoff(): void {
    const members = this.active();
    if (members.every((n) => n.isUp() && n.handoffIdle())) {
      this.finish();
      return;
    }
    this.d.queue.schedule(CHECK_EVERY_MS, () => this.awaitHandoff(), 'join-check');
  }

  private setRing(why: string): void {
    const from = this.ring;
    const to = buildRing(this.d.members, this.d.q);
    const replicas = (r: Ring, p: number): string => [...preferenceList(r, asPartitionId(p), this.d.n)].sort().join(',');
    let partitionsMoved = 0;
    for (let p = 0; p < this.d.q; p++) if (replicas(from, p) !== replicas(to, p)) partitionsMoved++;
    const keys = this.d.keys();
    const keysMoved = keys.filter((k) => {
      const p = partitionOf(k, this.d.q);
      return replicas(from, p) !== replicas(to, p);
    }).length;
    this.ring = to;
    this.d.log(`membership: ${why}; ring ${from.version} -> ${to.version}; ${partitionsMoved}/${this.d.q} partitions and ${keysMoved}/${keys.length} keys change replicas`);
    if (why.endsWith('joins')) this.joinFigures.push({ node: why.split(' ')[0] as NodeId, keys: keys.length, keysMoved, partitions: this.d.q, partitionsMoved });
  }
}
