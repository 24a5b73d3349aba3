import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { AssertionFailure } from '../../src/core/assert';
import { asNodeId, asPartitionId } from '../../src/core/ids';
import { preferenceList } from '../../src/ring/preference-list';
import { buildRing, partitionsOwnedBy, type Ring } from '../../src/ring/ring';
import { ownershipMoves, transferPlan } from '../../src/ring/transfer-plan';
import { arbMembers, member, members, REGIONS } from './arbitraries';

/** Checks the plan lists exactly the partitions whose replica set changed, with correct diffs. */
function assertPlanIsExact(from: Ring, to: Ring, n: number): void {
  const plan = transferPlan(from, to, n);
  const byPartition = new Map(plan.map((t) => [t.partition as number, t]));
  assert.deepEqual(plan.map((t) => t.partition), [...byPartition.keys()].sort((a, b) => a - b));
  for (let p = 0; p < from.q; p++) {
    const before = preferenceList(from, asPartitionId(p), n);
    const after = preferenceList(to, asPartitionId(p), n);
    const t = byPartition.get(p);
    const same = before.length === after.length && before.every((id) => after.includes(id));
    assert.equal(t === undefined, same, `partition ${p}: listed=${t !== undefined}, replica set same=${same}`);
    if (t === undefined) continue;
    assert.deepEqual(t.fromNodes, before);
    assert.deepEqual(t.toNodes, after);
    assert.deepEqual(t.added, after.filter((id) => !before.includes(id)));
    assert.deepEqual(t.removed, before.filter((id) => !after.includes(id)));
  }
}

describe('ring/transfer-plan (Dynamo 4.9: ownership moves on join and leave)', () => {
  it('is empty for the same ring', () => {
    const ring = buildRing(members(5), 64);
    assert.deepEqual(transferPlan(ring, ring, 3), []);
    assert.equal(ownershipMoves(ring, ring), 0);
  });

  it('lists exactly the partitions whose replica set changed, for any two member sets', () => {
    fc.assert(fc.property(arbMembers(1, 10), arbMembers(1, 10), fc.constantFrom(16, 64), fc.integer({ min: 1, max: 5 }), (a, b, q, n) => {
      assertPlanIsExact(buildRing(a, q), buildRing(b, q), n);
    }), { numRuns: 60 });
  });

  it('agrees with the join property: the newcomer is the new owner of every moved partition', () => {
    fc.assert(fc.property(arbMembers(1, 16), fc.constantFrom(64, 256), fc.integer({ min: 1, max: 5 }), (ms, q, n) => {
      const from = buildRing(ms, q);
      const x = member('zz-newcomer', REGIONS[1], 1_000);
      const to = buildRing([...ms, x], q);
      const moves = ownershipMoves(from, to);
      assert.equal(moves, Math.floor(q / (ms.length + 1)));
      assert.equal(moves, partitionsOwnedBy(to, x.id).length);
      const plan = new Map(transferPlan(from, to, n).map((t) => [t.partition as number, t]));
      for (const p of partitionsOwnedBy(to, x.id)) {
        const t = plan.get(p);
        assert.ok(t !== undefined, `partition ${p} changed owner but is not in the plan`);
        assert.equal(t.toNodes[0], x.id);
        assert.ok(t.added.includes(x.id));
      }
    }), { numRuns: 80 });
  });

  it('in one region, adds the newcomer to every changed preference list and removes it from none', () => {
    fc.assert(fc.property(arbMembers(1, 16, ['only']), fc.constantFrom(64, 256), fc.integer({ min: 1, max: 5 }), (ms, q, n) => {
      const from = buildRing(ms, q);
      const x = member('zz-newcomer', 'only', 1_000);
      const to = buildRing([...ms, x], q);
      for (const t of transferPlan(from, to, n)) {
        assert.ok(t.added.includes(x.id), `partition ${t.partition}: ${t.fromNodes} -> ${t.toNodes}`);
        assert.ok(!t.fromNodes.includes(x.id));
      }
    }), { numRuns: 80 });
  });

  it('moves every partition of a member that leaves, and lists them', () => {
    fc.assert(fc.property(arbMembers(2, 12), fc.nat(), fc.integer({ min: 1, max: 4 }), (ms, at, n) => {
      const leaver = ms[at % ms.length]!;
      const from = buildRing(ms, 64);
      const to = buildRing(ms.filter((m) => m.id !== leaver.id), 64);
      const plan = new Map(transferPlan(from, to, n).map((t) => [t.partition as number, t]));
      for (const p of partitionsOwnedBy(from, leaver.id)) {
        assert.ok(plan.get(p)?.removed.includes(leaver.id), `partition ${p}`);
      }
      let changed = 0;
      for (let p = 0; p < 64; p++) if (from.owners[p] !== to.owners[p]) changed++;
      assert.equal(ownershipMoves(from, to), changed);
      assert.ok(changed >= partitionsOwnedBy(from, leaver.id).length);
    }), { numRuns: 80 });
  });

  it('reports how many replicas a join moves (q=256, N=3, three regions)', () => {
    const rows: string[] = [];
    for (const s of [3, 6, 12, 24]) {
      const from = buildRing(members(s), 256);
      const to = buildRing(members(s + 1), 256);
      const plan = transferPlan(from, to, 3);
      const added = plan.reduce((sum, t) => sum + t.added.length, 0);
      const byNewcomer = plan.filter((t) => t.added.includes(asNodeId(`n${s}`))).length;
      assert.ok(byNewcomer >= ownershipMoves(from, to));
      rows.push(`S=${s}->${s + 1}: owners ${ownershipMoves(from, to)}, partitions ${plan.length}, replicas added ${added} (${byNewcomer} to newcomer)`);
    }
    console.log(`      join transfers: ${rows.join('; ')}`);
  });

  it('asserts when the rings differ in partition count', () => {
    assert.throws(() => transferPlan(buildRing(members(2), 8), buildRing(members(2), 16), 3), AssertionFailure);
    assert.throws(() => ownershipMoves(buildRing(members(2), 8), buildRing(members(2), 16)), AssertionFailure);
  });
});
