import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { asPartitionId } from '../../src/core/ids';
import { placementSummary } from '../../src/ring/placement';
import { preferenceList, regionsOf } from '../../src/ring/preference-list';
import { buildRing } from '../../src/ring/ring';
import { arbMembers, members } from './arbitraries';

describe('ring/placement (what `ringstore status` shows of replicas per region)', () => {
  it('puts one replica per region in every partition with N=3 over three regions, two each with N=6', () => {
    const ring = buildRing(members(6), 256);
    const three = placementSummary(ring, 3);
    assert.deepEqual(three.regions, ['ap-south', 'eu-west', 'us-east']);
    assert.deepEqual(three.groups, [{ replicasPerRegion: { 'ap-south': 1, 'eu-west': 1, 'us-east': 1 }, partitions: 256 }]);
    assert.equal(three.inEveryRegion, 256);
    assert.deepEqual(placementSummary(ring, 6).groups, [{ replicasPerRegion: { 'ap-south': 2, 'eu-west': 2, 'us-east': 2 }, partitions: 256 }]);
  });

  it('shows the uneven split when N does not divide over the regions', () => {
    const ring = buildRing(members(4, ['a', 'b']), 64);
    const s = placementSummary(ring, 3);
    assert.equal(s.inEveryRegion, 64);
    assert.deepEqual(s.groups.map((g) => g.replicasPerRegion).sort((x, y) => x.a! - y.a!), [{ a: 1, b: 2 }, { a: 2, b: 1 }]);
  });

  it('agrees with the preference lists for any ring', () => {
    fc.assert(fc.property(arbMembers(1, 10), fc.constantFrom(8, 64), fc.integer({ min: 1, max: 6 }), (ms, q, n) => {
      const ring = buildRing(ms, q);
      const s = placementSummary(ring, n);
      assert.equal(s.groups.reduce((t, g) => t + g.partitions, 0), q);
      const regionOf = regionsOf(ring);
      let every = 0;
      for (let p = 0; p < q; p++) {
        const regions = new Set(preferenceList(ring, asPartitionId(p), n).map((id) => regionOf.get(id)));
        if (regions.size === s.regions.length) every++;
      }
      assert.equal(s.inEveryRegion, every);
      for (const g of s.groups) assert.equal(Object.values(g.replicasPerRegion).reduce((t, x) => t + x, 0), Math.min(n, ms.length));
    }), { numRuns: 100 });
  });
});
