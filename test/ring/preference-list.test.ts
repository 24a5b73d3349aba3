import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { AssertionFailure } from '../../src/core/assert';
import { asPartitionId, type NodeId } from '../../src/core/ids';
import { preferenceList, preferenceOrder, regionsOf } from '../../src/ring/preference-list';
import { buildRing, ownerOf, type Ring } from '../../src/ring/ring';
import { arbMembers, member, members, naiveClockwise, REGIONS } from './arbitraries';

function regionCounts(ring: Ring, ids: readonly NodeId[]): Map<string, number> {
  const regions = regionsOf(ring);
  const out = new Map<string, number>();
  for (const id of ids) out.set(regions.get(id)!, (out.get(regions.get(id)!) ?? 0) + 1);
  return out;
}

/** A ring plus a partition of it. */
const arbRingAndPartition = (minS: number, maxS: number, regions: readonly string[] = REGIONS) =>
  fc.tuple(arbMembers(minS, maxS, regions), fc.constantFrom(8, 64, 256), fc.nat())
    .map(([ms, q, at]) => ({ ring: buildRing(ms, q), p: asPartitionId(at % q) }));

describe('ring/preference-list (Dynamo 4.3, region-aware like NetworkTopologyStrategy)', () => {
  it('returns min(n, S) distinct nodes, the owner first', () => {
    fc.assert(fc.property(arbRingAndPartition(1, 12), fc.integer({ min: 1, max: 8 }), ({ ring, p }, n) => {
      const list = preferenceList(ring, p, n);
      assert.equal(list.length, Math.min(n, ring.members.length));
      assert.equal(new Set(list).size, list.length);
      assert.equal(list[0], ownerOf(ring, p));
    }), { numRuns: 200 });
  });

  it('orders every member exactly once, the preference list first, the fallbacks clockwise after it (Dynamo 4.6)', () => {
    fc.assert(fc.property(arbRingAndPartition(1, 12), fc.integer({ min: 1, max: 8 }), ({ ring, p }, n) => {
      const order = preferenceOrder(ring, p, n);
      const list = preferenceList(ring, p, n);
      assert.deepEqual([...order].sort(), ring.members.map((m) => m.id).sort());
      assert.deepEqual(order.slice(0, list.length), list);
      const fallbacks = naiveClockwise(ring, p).filter((id) => !list.includes(id));
      assert.deepEqual(order.slice(list.length), fallbacks);
    }), { numRuns: 200 });
  });

  it('puts one replica in each region for N=3 over 3 regions', () => {
    fc.assert(fc.property(arbRingAndPartition(3, 15), ({ ring, p }) => {
      fc.pre(new Set(ring.members.map((m) => m.region)).size === 3);
      assert.deepEqual([...regionCounts(ring, preferenceList(ring, p, 3)).values()], [1, 1, 1]);
    }), { numRuns: 150 });
  });

  it('puts two replicas in each region for N=6 over 3 regions of two or more nodes', () => {
    // Regions round-robin over 6..15 members: each region has at least 2.
    fc.assert(fc.property(fc.integer({ min: 6, max: 15 }), fc.constantFrom(64, 256), fc.nat(), (s, q, at) => {
      const ring = buildRing(members(s), q);
      const counts = regionCounts(ring, preferenceList(ring, asPartitionId(at % q), 6));
      assert.deepEqual([...counts.values()], [2, 2, 2]);
    }), { numRuns: 60 });
  });

  it('splits N=3 over 2 regions 2+1, the owner\'s region holding two', () => {
    fc.assert(fc.property(arbRingAndPartition(4, 12, ['eu-west', 'us-east']), ({ ring, p }) => {
      const counts = regionCounts(ring, [...ring.members.map((m) => m.id)]);
      fc.pre(counts.size === 2 && [...counts.values()].every((c) => c >= 2));
      const list = preferenceList(ring, p, 3);
      const listCounts = regionCounts(ring, list);
      assert.equal(listCounts.get(regionsOf(ring).get(list[0]!)!), 2);
      assert.deepEqual([...listCounts.values()].sort(), [1, 2]);
    }), { numRuns: 100 });
  });

  it('spreads any N as evenly over regions as their sizes allow', () => {
    // Water-filling: a region may hold 2+ fewer replicas than another only if it has no node left.
    fc.assert(fc.property(arbRingAndPartition(1, 14, ['a', 'b', 'c', 'd']), fc.integer({ min: 1, max: 10 }), ({ ring, p }, n) => {
      const capacity = regionCounts(ring, ring.members.map((m) => m.id));
      const got = regionCounts(ring, preferenceList(ring, p, n));
      for (const [r, cap] of capacity) {
        const mine = got.get(r) ?? 0;
        for (const theirs of got.values()) {
          if (theirs >= mine + 2) assert.equal(mine, cap, `region ${r} holds ${mine} of ${cap} while another holds ${theirs}`);
        }
      }
    }), { numRuns: 200 });
  });

  it('is the plain clockwise walk of distinct nodes when there is one region', () => {
    fc.assert(fc.property(arbRingAndPartition(1, 12, ['only']), fc.integer({ min: 1, max: 8 }), ({ ring, p }, n) => {
      assert.deepEqual(preferenceOrder(ring, p, n), naiveClockwise(ring, p));
    }), { numRuns: 200 });
  });

  it('includes members that own no partition (more members than partitions)', () => {
    const ring = buildRing(members(6, ['only']), 2);
    const order = preferenceOrder(ring, asPartitionId(0), 5);
    assert.equal(order.length, 6);
    assert.equal(preferenceList(ring, asPartitionId(1), 5).length, 5);
  });

  it('balances replica load within 1.3x of the mean in one region (N=3, q=256)', () => {
    for (let s = 4; s <= 24; s++) {
      const ring = buildRing(members(s, ['only']), 256);
      const replicaLoad = new Map<NodeId, number>();
      for (let p = 0; p < 256; p++) {
        for (const id of preferenceList(ring, asPartitionId(p), 3)) replicaLoad.set(id, (replicaLoad.get(id) ?? 0) + 1);
      }
      const ratio = Math.max(...replicaLoad.values()) / ((256 * 3) / s);
      assert.ok(ratio <= 1.3, `S=${s}: max/mean replica load ${ratio.toFixed(2)}`);
    }
  });

  it('hands out copies: changing a returned list does not change the next answer', () => {
    const ring = buildRing(members(5), 64);
    const first = preferenceList(ring, asPartitionId(3), 3);
    const again = [...first];
    first.reverse();
    preferenceOrder(ring, asPartitionId(3), 3).pop();
    assert.deepEqual(preferenceList(ring, asPartitionId(3), 3), again);
  });

  it('maps each member to its region', () => {
    const ring = buildRing([member('a', 'eu', 1), member('b', 'us', 2)], 8);
    assert.deepEqual([...regionsOf(ring)].sort(), [['a', 'eu'], ['b', 'us']]);
  });

  it('asserts on a bad partition or replica count', () => {
    const ring = buildRing(members(3), 8);
    assert.throws(() => preferenceList(ring, asPartitionId(8), 3), AssertionFailure);
    assert.throws(() => preferenceList(ring, asPartitionId(0), 0), AssertionFailure);
  });
});
