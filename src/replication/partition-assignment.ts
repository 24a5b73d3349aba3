/**
 * Who answers for each partition in a cluster-wide count (docs/sessions-ttl.md):
 * every partition goes to the first usable node of its preference list
 * (Dynamo 4.3), so each key, and each session, is counted by exactly one
 * replica however many copies exist. "Usable" is the asking node's view
 * (alive, and not already failed in this query); a partition whose N
 * replicas are all unusable is left unassigned, and the answer is partial.
 *
 * Asking the preference list's first live replica, rather than the ring
 * owner, means a crashed owner costs a retry, not a gap: the next replica
 * holds the same sessions.
 */
import type { NodeId, PartitionId } from '../core/ids';
import type { Ring } from '../ring/ring';
import { preferenceList } from '../ring/preference-list';

export interface PartitionAssignment {
  /** node -> the partitions it answers for, ascending. */
  readonly byNode: Map<NodeId, PartitionId[]>;
  /** Partitions none of whose replicas is usable. */
  readonly unassigned: PartitionId[];
}

export function assignPartitions(
  ring: Ring,
  n: number,
  partitions: Iterable<PartitionId>,
  usable: (id: NodeId) => boolean,
): PartitionAssignment {
  const byNode = new Map<NodeId, PartitionId[]>();
  const unassigned: PartitionId[] = [];
  for (const p of partitions) {
    const node = preferenceList(ring, p, n).find(usable);
    if (node === undefined) {
      unassigned.push(p);
      continue;
    }
    let list = byNode.get(node);
    if (list === undefined) byNode.set(node, (list = []));
    list.push(p);
  }
  for (const list of byNode.values()) list.sort((a, b) => a - b);
  return { byNode, unassigned };
}

/** Every partition of the ring, 0 .. q-1. */
export function allPartitions(ring: Ring): PartitionId[] {
  return Array.from({ length: ring.q }, (_, i) => i as PartitionId);
}
