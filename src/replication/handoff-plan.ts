/**
 * Which partitions this node must hand to which nodes (Dynamo 4.9: when the
 * ring changes, "the nodes that are no longer responsible for a key range
 * transfer it to the new ones"). Pure; partition-handoff.ts streams the
 * data.
 *
 * The plan is "pending targets per partition": the nodes that must receive
 * this node's whole copy of a partition before the node may forget about it.
 *
 * - Ring change (from -> to): for every partition this node replicated under
 *   `from` whose replica set changed, the nodes added under `to`. Every old
 *   replica pushes, not only the one leaving: a write acknowledged by W of N
 *   old replicas may be missing from any one of them, and the new replica
 *   should start with the union of what they hold.
 * - Orphans: a partition this node holds keys of but does not replicate
 *   (it left, a stale coordinator wrote to it after the move, or it missed
 *   the ring change while down): every current replica.
 * - After each change, targets that no longer replicate a partition are
 *   struck off (they will hand on whatever they got themselves).
 */
import type { NodeId, PartitionId } from '../core/ids';
import { asPartitionId } from '../core/ids';
import { preferenceList } from '../ring/preference-list';
import type { Ring } from '../ring/ring';
import { transferPlan } from '../ring/transfer-plan';

export type PendingTargets = Map<PartitionId, Set<NodeId>>;

export function replicates(ring: Ring, p: PartitionId, n: number, id: NodeId): boolean {
  return preferenceList(ring, p, n).includes(id);
}

/** The pushes a ring change asks of `self`, for the partitions `holds` says it has data in. */
export function ringChangeTargets(
  self: NodeId, from: Ring, to: Ring, n: number, holds: (p: PartitionId) => boolean,
): PendingTargets {
  const out: PendingTargets = new Map();
  for (const t of transferPlan(from, to, n)) {
    if (!t.fromNodes.includes(self) || !holds(t.partition)) continue;
    const targets = t.added.filter((id) => id !== self);
    if (targets.length > 0) out.set(t.partition, new Set(targets));
  }
  return out;
}

/** Partitions `self` holds data in but does not replicate under `ring`: to every replica. */
export function orphanTargets(self: NodeId, ring: Ring, n: number, holds: (p: PartitionId) => boolean): PendingTargets {
  const out: PendingTargets = new Map();
  for (let i = 0; i < ring.q; i++) {
    const p = asPartitionId(i);
    const replicas = preferenceList(ring, p, n);
    if (replicas.includes(self) || !holds(p)) continue;
    out.set(p, new Set(replicas));
  }
  return out;
}

/**
 * `pending` plus `additions`, restricted to nodes that replicate each
 * partition under `ring` (never `self`); partitions left with no target are
 * dropped from the result.
 */
export function mergePending(
  pending: PendingTargets, additions: PendingTargets, ring: Ring, n: number, self: NodeId,
): PendingTargets {
  const out: PendingTargets = new Map();
  const parts = new Set<PartitionId>([...pending.keys(), ...additions.keys()]);
  for (const p of [...parts].sort((a, b) => a - b)) {
    const replicas = new Set(preferenceList(ring, p, n));
    const targets = new Set<NodeId>();
    for (const id of pending.get(p) ?? []) if (id !== self && replicas.has(id)) targets.add(id);
    for (const id of additions.get(p) ?? []) if (id !== self && replicas.has(id)) targets.add(id);
    if (targets.size > 0) out.set(p, targets);
  }
  return out;
}
