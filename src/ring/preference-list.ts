/**
 * Preference lists (Dynamo 4.3) made region-aware the way Cassandra's
 * NetworkTopologyStrategy is: the N replicas of a partition are spread as
 * evenly as the regions' sizes allow (N=3 over 3 regions: one each; N=6 over
 * 3 regions: two each; N=3 over 2 regions: 2+1), and the nodes after the
 * first N, in clockwise order, are the fallbacks a sloppy quorum writes hints
 * to (Dynamo 4.6).
 *
 * The clockwise walk from partition p lists distinct owners in the order
 * their partitions follow p; members that own no partition (only possible
 * with more nodes than partitions) come after, in claim order, so every
 * member appears exactly once.
 *
 * Which region gets the extra replica when N does not divide evenly: regions
 * are ranked by their first appearance on the walk, so the owner's region
 * comes first and the extra copies rotate with the partition instead of
 * always landing in the same region (which would give that region's nodes
 * more load). Quotas are dealt round-robin in that rank, skipping regions
 * that have no node left, so a small region's shortfall is made up by the
 * others as evenly as possible.
 *
 * Results are cached per ring (a WeakMap on the ring value), since the
 * coordinator asks for the same partitions again and again.
 */
import type { NodeId, PartitionId } from '../core/ids';
import { assert } from '../core/assert';
import { assertPartition, type Ring } from './ring';

/**
 * Every member, in preference order for partition p: first the min(n, S)
 * replicas spread over regions (owner first), then the rest clockwise.
 */
export function preferenceOrder(ring: Ring, p: PartitionId, n: number): NodeId[] {
  assertPartition(ring, p);
  assert(Number.isInteger(n) && n >= 1, `replica count must be a positive integer, got ${n}`);
  const facts = factsOf(ring);
  const replicas = Math.min(n, ring.members.length);
  let byPartition = facts.orders.get(replicas);
  if (byPartition === undefined) {
    byPartition = new Array<readonly NodeId[] | undefined>(ring.q);
    facts.orders.set(replicas, byPartition);
  }
  let order = byPartition[p];
  if (order === undefined) {
    order = Object.freeze(computeOrder(ring, facts, p, replicas));
    byPartition[p] = order;
  }
  return order.slice();
}

/** The first min(n, S) nodes of preferenceOrder: the replicas of partition p. */
export function preferenceList(ring: Ring, p: PartitionId, n: number): NodeId[] {
  return preferenceOrder(ring, p, n).slice(0, Math.min(n, ring.members.length));
}

/** Each member's region. */
export function regionsOf(ring: Ring): Map<NodeId, string> {
  return new Map(ring.members.map((m) => [m.id, m.region]));
}

interface RingFacts {
  readonly regionOf: ReadonlyMap<NodeId, string>;
  /** Members per region. */
  readonly capacity: ReadonlyMap<string, number>;
  /** How many distinct nodes own at least one partition. */
  readonly ownerCount: number;
  /** Members that own no partition, in claim order. */
  readonly unowned: readonly NodeId[];
  /** Cached orders: replica count -> partition -> order. */
  readonly orders: Map<number, Array<readonly NodeId[] | undefined>>;
}

const factsCache = new WeakMap<Ring, RingFacts>();

function factsOf(ring: Ring): RingFacts {
  let facts = factsCache.get(ring);
  if (facts !== undefined) return facts;
  const regionOf = regionsOf(ring);
  const capacity = new Map<string, number>();
  for (const m of ring.members) capacity.set(m.region, (capacity.get(m.region) ?? 0) + 1);
  const owning = new Set(ring.owners);
  facts = {
    regionOf,
    capacity,
    ownerCount: owning.size,
    unowned: ring.members.filter((m) => !owning.has(m.id)).map((m) => m.id),
    orders: new Map(),
  };
  factsCache.set(ring, facts);
  return facts;
}

/** Distinct members clockwise from p, then the members that own nothing. */
function clockwiseWalk(ring: Ring, facts: RingFacts, p: number): NodeId[] {
  const walk: NodeId[] = [];
  const seen = new Set<NodeId>();
  for (let i = 0; i < ring.q && walk.length < facts.ownerCount; i++) {
    const id = ring.owners[(p + i) % ring.q]!;
    if (!seen.has(id)) {
      seen.add(id);
      walk.push(id);
    }
  }
  for (const id of facts.unowned) walk.push(id);
  return walk;
}

function computeOrder(ring: Ring, facts: RingFacts, p: number, replicas: number): NodeId[] {
  const walk = clockwiseWalk(ring, facts, p);

  // Regions ranked by first appearance on the walk: the owner's region first.
  const regionRank: string[] = [];
  const ranked = new Set<string>();
  for (const id of walk) {
    const region = facts.regionOf.get(id)!;
    if (!ranked.has(region)) {
      ranked.add(region);
      regionRank.push(region);
    }
  }

  // Deal the replicas round-robin over regions that still have nodes to give.
  const quota = new Map<string, number>(regionRank.map((r) => [r, 0]));
  for (let dealt = 0; dealt < replicas;) {
    for (const region of regionRank) {
      if (dealt === replicas) break;
      const q = quota.get(region)!;
      if (q < facts.capacity.get(region)!) {
        quota.set(region, q + 1);
        dealt++;
      }
    }
  }

  // Sum of quotas is `replicas` and no quota exceeds its region's size, so
  // one clockwise pass fills them all.
  const first: NodeId[] = [];
  const rest: NodeId[] = [];
  const taken = new Map<string, number>();
  for (const id of walk) {
    const region = facts.regionOf.get(id)!;
    const t = taken.get(region) ?? 0;
    if (t < quota.get(region)!) {
      taken.set(region, t + 1);
      first.push(id);
    } else {
      rest.push(id);
    }
  }
  assert(first.length === replicas, `preference list has ${first.length} of ${replicas} replicas`);
  return first.concat(rest);
}
