/**
 * Who a request talks to and how many answers it needs (Dynamo 4.5; DESIGN.md
 * Regions). `global` counts answers from all N replicas; `local` (like
 * Cassandra's LOCAL_QUORUM) counts only replicas in the coordinator's region,
 * by default a majority of them.
 */
import type { NodeId, PartitionId } from '../core/ids';
import type { QuorumConfig } from '../core/config';
import type { Ring } from '../ring/ring';
import { preferenceOrder } from '../ring/preference-list';
import type { Consistency, RequestOptions } from './client-op';

export interface QuorumPlan {
  partition: PartitionId;
  /** The N preference-list nodes. */
  primaries: NodeId[];
  /** The rest of the ring in preference order: stand-ins for unreachable primaries. */
  fallbacks: NodeId[];
  consistency: Consistency;
  /** Answers needed. */
  needed: number;
  /** Whether an answer from this node counts towards `needed`. */
  counts(node: NodeId): boolean;
}

export function planQuorum(
  ring: Ring,
  partition: PartitionId,
  quorum: QuorumConfig,
  kind: 'r' | 'w',
  opts: RequestOptions,
  defaultConsistency: Consistency,
  selfRegion: string,
  regionOf: (id: NodeId) => string | undefined,
): QuorumPlan {
  const order = preferenceOrder(ring, partition, quorum.n);
  const n = Math.min(quorum.n, order.length);
  const primaries = order.slice(0, n);
  const fallbacks = order.slice(n);
  const asked = kind === 'r' ? opts.r : opts.w;
  let consistency = opts.consistency ?? defaultConsistency;
  const localPrimaries = primaries.filter((p) => regionOf(p) === selfRegion).length;
  if (consistency === 'local' && localPrimaries === 0) consistency = 'global';
  if (consistency === 'local') {
    const needed = Math.min(asked ?? Math.floor(localPrimaries / 2) + 1, localPrimaries);
    return {
      partition, primaries, fallbacks, consistency, needed,
      counts: (node) => regionOf(node) === selfRegion,
    };
  }
  const dflt = kind === 'r' ? quorum.r : quorum.w;
  return {
    partition, primaries, fallbacks, consistency,
    needed: Math.min(asked ?? dflt, n),
    counts: () => true,
  };
}
