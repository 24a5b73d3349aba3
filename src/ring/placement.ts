/**
 * How a ring spreads each partition's N replicas over the regions (DESIGN.md
 * Regions; issue 9 point 1), summed over the partitions, so an operator can
 * check at a glance that every key has a copy in every region. Partitions
 * whose replicas fall in the same numbers per region are grouped: with N=3
 * over three regions the answer is one group, "1 + 1 + 1" for all Q
 * partitions; a region short of nodes shows up as a second group.
 */
import { asPartitionId } from '../core/ids';
import type { Ring } from './ring';
import { preferenceList, regionsOf } from './preference-list';

export interface PlacementGroup {
  /** Replicas in each region (every region of the ring listed, 0 included). */
  replicasPerRegion: Record<string, number>;
  /** Partitions placed this way. */
  partitions: number;
}

export interface PlacementSummary {
  n: number;
  /** The ring's regions, sorted. */
  regions: string[];
  /** Most common placement first. */
  groups: PlacementGroup[];
  /** Partitions with a replica in every region (all of them when N >= regions and each region has a node). */
  inEveryRegion: number;
}

const cache = new WeakMap<Ring, Map<number, PlacementSummary>>();

export function placementSummary(ring: Ring, n: number): PlacementSummary {
  let byN = cache.get(ring);
  if (byN === undefined) {
    byN = new Map();
    cache.set(ring, byN);
  }
  let summary = byN.get(n);
  if (summary === undefined) {
    summary = computePlacement(ring, n);
    byN.set(n, summary);
  }
  return summary;
}

function computePlacement(ring: Ring, n: number): PlacementSummary {
  const regionOf = regionsOf(ring);
  const regions = [...new Set(regionOf.values())].sort();
  const groups = new Map<string, PlacementGroup>();
  let inEveryRegion = 0;
  for (let i = 0; i < ring.q; i++) {
    const perRegion: Record<string, number> = Object.fromEntries(regions.map((r) => [r, 0]));
    for (const node of preferenceList(ring, asPartitionId(i), n)) perRegion[regionOf.get(node)!]! += 1;
    if (regions.every((r) => perRegion[r]! > 0)) inEveryRegion++;
    const shape = regions.map((r) => perRegion[r]).join(',');
    const g = groups.get(shape);
    if (g) g.partitions++;
    else groups.set(shape, { replicasPerRegion: perRegion, partitions: 1 });
  }
  return { n, regions, groups: [...groups.values()].sort((a, b) => b.partitions - a.partitions), inEveryRegion };
}
