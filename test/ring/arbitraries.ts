/** fast-check arbitraries and small helpers shared by the ring tests. */
import fc from 'fast-check';
import { asNodeId, type NodeId } from '../../src/core/ids';
import type { Ring, RingMember } from '../../src/ring/ring';

export const REGIONS = ['ap-south', 'eu-west', 'us-east'] as const;

export function member(id: string, region: string, joinedAtMs: number): RingMember {
  return { id: asNodeId(id), region, joinedAtMs };
}

/** S members named n0..n(S-1), joined in that order, regions assigned round-robin. */
export function members(s: number, regions: readonly string[] = REGIONS): RingMember[] {
  return Array.from({ length: s }, (_, i) => member(`n${i}`, regions[i % regions.length]!, 1_000 + i));
}

/**
 * Members with unique ids, regions from `regions`, and joinedAtMs drawn from a
 * small range so that ties (broken by id) are common.
 */
export function arbMembers(minLength: number, maxLength: number, regions: readonly string[] = REGIONS): fc.Arbitrary<RingMember[]> {
  return fc.uniqueArray(
    fc.record({
      id: fc.string({ minLength: 1, maxLength: 6 }),
      region: fc.constantFrom(...regions),
      joinedAtMs: fc.integer({ min: 0, max: 20 }),
    }),
    { selector: (m) => m.id, minLength, maxLength },
  ).map((ms) => ms.map((m) => member(m.id, m.region, m.joinedAtMs)));
}

/** Partitions owned per member (members owning none count 0). */
export function loads(ring: Ring): Map<NodeId, number> {
  const out = new Map<NodeId, number>(ring.members.map((m) => [m.id, 0]));
  for (const id of ring.owners) out.set(id, (out.get(id) ?? 0) + 1);
  return out;
}

/** Distinct owners clockwise from p, computed the slow obvious way, then members that own nothing (claim order). */
export function naiveClockwise(ring: Ring, p: number): NodeId[] {
  const out: NodeId[] = [];
  for (let i = 0; i < ring.q; i++) {
    const id = ring.owners[(p + i) % ring.q]!;
    if (!out.includes(id)) out.push(id);
  }
  for (const m of ring.members) if (!out.includes(m.id)) out.push(m.id);
  return out;
}

export function adjacentSameOwner(ring: Ring): number {
  let n = 0;
  for (let p = 0; p < ring.q; p++) if (ring.owners[p] === ring.owners[(p + 1) % ring.q]) n++;
  return ring.q === 1 ? 0 : n;
}
