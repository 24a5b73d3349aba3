/**
 * What a ring change moves (Dynamo 4.9, adding and removing nodes: the nodes
 * that stop being responsible for a key range hand its keys to the nodes
 * that become responsible for it). Partition handoff in
 * replication/ walks this plan: each node in `added` fetches the partition
 * from the nodes of `fromNodes`, and each node in `removed` may drop its copy
 * once the new replicas have it.
 */
import { assert } from '../core/assert';
import { asPartitionId, type NodeId, type PartitionId } from '../core/ids';
import { preferenceList } from './preference-list';
import type { Ring } from './ring';

export interface PartitionTransfer {
  readonly partition: PartitionId;
  /** The replicas under the old ring, in preference order. */
  readonly fromNodes: NodeId[];
  /** The replicas under the new ring, in preference order. */
  readonly toNodes: NodeId[];
  /** Nodes that become replicas (in toNodes, not in fromNodes), in toNodes order. */
  readonly added: NodeId[];
  /** Nodes that stop being replicas (in fromNodes, not in toNodes), in fromNodes order. */
  readonly removed: NodeId[];
}

/**
 * The partitions whose replica set (the first n of the preference list)
 * differs between the two rings, ascending. A mere reordering of the same
 * replicas moves no data and is not listed.
 */
export function transferPlan(from: Ring, to: Ring, n: number): PartitionTransfer[] {
  assert(from.q === to.q, `rings differ in partition count: ${from.q} vs ${to.q}`);
  const plan: PartitionTransfer[] = [];
  for (let i = 0; i < from.q; i++) {
    const p = asPartitionId(i);
    const fromNodes = preferenceList(from, p, n);
    const toNodes = preferenceList(to, p, n);
    const before = new Set(fromNodes);
    const after = new Set(toNodes);
    const added = toNodes.filter((id) => !before.has(id));
    const removed = fromNodes.filter((id) => !after.has(id));
    if (added.length > 0 || removed.length > 0) plan.push({ partition: p, fromNodes, toNodes, added, removed });
  }
  return plan;
}

/** How many partitions changed primary owner. */
export function ownershipMoves(from: Ring, to: Ring): number {
  assert(from.q === to.q, `rings differ in partition count: ${from.q} vs ${to.q}`);
  let moves = 0;
  for (let p = 0; p < from.q; p++) if (from.owners[p] !== to.owners[p]) moves++;
  return moves;
}
