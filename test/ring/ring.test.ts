import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { AssertionFailure } from '../../src/core/assert';
import { asNodeId, asPartitionId } from '../../src/core/ids';
import { buildRing, compareMembers, ownerOf, partitionsOwnedBy, type RingMember } from '../../src/ring/ring';
import { ownershipMoves } from '../../src/ring/transfer-plan';
import { adjacentSameOwner, arbMembers, loads, member, members } from './arbitraries';

function maxOverMean(q: number, s: number): number {
  const counts = [...loads(buildRing(members(s), q)).values()];
  return Math.max(...counts) / (q / s);
}

function rotate<T>(xs: readonly T[], by: number): T[] {
  const k = xs.length === 0 ? 0 : by % xs.length;
  return [...xs.slice(k), ...xs.slice(0, k)];
}

describe('ring/ring (Dynamo 6.2 strategy 3: Q/S partitions per node)', () => {
  it('is a deterministic function of the member set, whatever the input order', () => {
    fc.assert(fc.property(arbMembers(1, 16), fc.nat(), fc.boolean(), fc.constantFrom(1, 7, 64, 256), (ms, by, rev, q) => {
      const a = buildRing(ms, q);
      const shuffled = rotate(rev ? [...ms].reverse() : ms, by);
      const b = buildRing(shuffled, q);
      assert.deepEqual(b.owners, a.owners);
      assert.deepEqual(b.members, a.members);
      assert.equal(b.version, a.version);
    }), { numRuns: 100 });
  });

  it('orders members for claiming by (joinedAtMs, id)', () => {
    fc.assert(fc.property(arbMembers(1, 16), (ms) => {
      const ring = buildRing(ms, 64);
      for (let i = 1; i < ring.members.length; i++) {
        const [a, b] = [ring.members[i - 1]!, ring.members[i]!];
        assert.ok(a.joinedAtMs < b.joinedAtMs || (a.joinedAtMs === b.joinedAtMs && a.id < b.id));
        assert.equal(compareMembers(a, b), -1);
      }
    }), { numRuns: 100 });
  });

  it('changes version when q or any member id, region or join time changes', () => {
    fc.assert(fc.property(arbMembers(1, 8), fc.nat(), fc.constantFrom('region', 'joinedAtMs', 'id'), (ms, at, field) => {
      const base = buildRing(ms, 64);
      assert.match(base.version, /^[0-9a-f]{16}$/);
      assert.notEqual(buildRing(ms, 65).version, base.version);
      const i = at % ms.length;
      const m = ms[i]!;
      const changed: RingMember =
        field === 'region' ? member(m.id, `${m.region}-x`, m.joinedAtMs)
          : field === 'joinedAtMs' ? member(m.id, m.region, m.joinedAtMs + 0.5)
            : member(`${m.id}\u0000`, m.region, m.joinedAtMs);
      const other = ms.map((x, j) => (j === i ? changed : x));
      assert.notEqual(buildRing(other, 64).version, base.version);
    }), { numRuns: 100 });
  });

  it('assigns every partition to a member, with max - min <= 1 partitions per member', () => {
    fc.assert(fc.property(arbMembers(1, 24), fc.integer({ min: 1, max: 600 }), (ms, q) => {
      const ring = buildRing(ms, q);
      assert.equal(ring.owners.length, q);
      const counts = [...loads(ring).values()];
      assert.equal(counts.length, ms.length);
      assert.equal(counts.reduce((a, b) => a + b, 0), q);
      assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `loads ${counts.join(',')}`);
      for (const m of ring.members) {
        const mine = partitionsOwnedBy(ring, m.id);
        assert.equal(mine.length, loads(ring).get(m.id));
        for (const p of mine) assert.equal(ownerOf(ring, p), m.id);
      }
    }), { numRuns: 150 });
  });

  it('keeps max/mean partitions per node <= 1.1 (q=256, S=1..24; q=1024, S=1..64)', () => {
    for (let s = 1; s <= 24; s++) assert.ok(maxOverMean(256, s) <= 1.1, `q=256 S=${s}: ${maxOverMean(256, s)}`);
    for (let s = 1; s <= 64; s++) assert.ok(maxOverMean(1024, s) <= 1.1, `q=1024 S=${s}: ${maxOverMean(1024, s)}`);
  });

  it('gives each member at most one partition when members outnumber partitions', () => {
    const ring = buildRing(members(10), 4);
    assert.deepEqual([...loads(ring).values()].sort(), [0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
  });

  it('moves only the partitions a newcomer that joined last takes, floor(q/(S+1)) of them (Dynamo 6.2)', () => {
    fc.assert(fc.property(arbMembers(1, 24), fc.constantFrom(64, 100, 256, 1024), fc.integer({ min: 0, max: 1 }), (ms, q, later) => {
      const before = buildRing(ms, q);
      const last = before.members[before.members.length - 1]!;
      // Joins at the same millisecond as the latest member (id breaks the tie) or after it.
      const x = member(`${last.id}~new`, 'eu-west', last.joinedAtMs + later);
      const after = buildRing([...ms, x], q);
      let moved = 0;
      for (let p = 0; p < q; p++) {
        if (after.owners[p] !== before.owners[p]) {
          assert.equal(after.owners[p], x.id, `partition ${p} moved to ${after.owners[p]}, not the newcomer`);
          moved++;
        }
      }
      assert.equal(moved, Math.floor(q / (ms.length + 1)));
      assert.equal(moved, partitionsOwnedBy(after, x.id).length);
      assert.equal(ownershipMoves(before, after), moved);
    }), { numRuns: 150 });
  });

  it('keeps a member\'s partitions apart: few same-owner neighbours once S >= 6', () => {
    // A balanced random assignment would give about q/S adjacent pairs (43 for S=6).
    fc.assert(fc.property(arbMembers(6, 24), (ms) => {
      const ring = buildRing(ms, 256);
      assert.ok(adjacentSameOwner(ring) <= 16, `${adjacentSameOwner(ring)} adjacent pairs for S=${ms.length}`);
    }), { numRuns: 60 });
  });

  it('moves less than half the partitions when any one member leaves (q=256, S=3..24)', () => {
    const q = 256;
    const rows: string[] = [];
    let worst = 0;
    for (let s = 3; s <= 24; s++) {
      const ms = members(s);
      const ring = buildRing(ms, q);
      let max = 0;
      let sum = 0;
      for (let i = 0; i < s; i++) {
        const moves = ownershipMoves(ring, buildRing(ms.filter((_, j) => j !== i), q));
        assert.ok(moves >= partitionsOwnedBy(ring, ms[i]!.id).length);
        assert.ok(moves < q / 2, `S=${s}: removing member ${i} moved ${moves} of ${q}`);
        max = Math.max(max, moves);
        sum += moves;
      }
      worst = Math.max(worst, max / q);
      if (s % 3 === 0) rows.push(`S=${s}: share ${(1 / s).toFixed(2)} avg ${(sum / s / q).toFixed(2)} max ${(max / q).toFixed(2)}`);
    }
    console.log(`      leave moves (fraction of q=${q}): ${rows.join('; ')}; worst ${worst.toFixed(2)}`);
  });

  // Leaves are recomputed from the remaining claim sequence, so they move more
  // than the leaver's share. The worst case is three members losing their
  // first: of 1,350,000 random such leaves (ids of printable ASCII, q=256) 0.3%
  // moved more than half and the most moved 134 (0.52 q); ring.ts says so. The
  // bound asserted is that measured worst with a margin, not a proof.
  it('moves at most 0.55 q of the partitions when a member leaves, for random member sets (q=256)', () => {
    fc.assert(fc.property(arbMembers(3, 24), fc.nat(), (ms, at) => {
      const ring = buildRing(ms, 256);
      const moves = ownershipMoves(ring, buildRing(ms.filter((_, j) => j !== at % ms.length), 256));
      assert.ok(moves <= 140, `moved ${moves} of 256`);
    }), { numRuns: 80 });
  });

  it('builds q=4096, S=64 well under 100 ms', () => {
    const ms = members(64);
    buildRing(ms, 4096); // warm up the JIT
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = process.hrtime.bigint();
      buildRing(ms, 4096);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    times.sort((a, b) => a - b);
    console.log(`      buildRing q=4096 S=64: median ${times[2]!.toFixed(1)} ms (min ${times[0]!.toFixed(1)}, max ${times[4]!.toFixed(1)})`);
    assert.ok(times[2]! < 100, `median ${times[2]} ms`);
  });

  it('asserts on programmer errors: no members, duplicate ids, bad q, bad partition', () => {
    assert.throws(() => buildRing([], 8), AssertionFailure);
    assert.throws(() => buildRing([member('a', 'r', 1), member('a', 'r', 2)], 8), AssertionFailure);
    assert.throws(() => buildRing(members(2), 0), AssertionFailure);
    assert.throws(() => buildRing([member('a', 'r', Number.NaN)], 8), AssertionFailure);
    const ring = buildRing(members(2), 8);
    assert.throws(() => ownerOf(ring, asPartitionId(8)), AssertionFailure);
    assert.throws(() => ownerOf(ring, asPartitionId(-1)), AssertionFailure);
    assert.deepEqual(partitionsOwnedBy(ring, asNodeId('stranger')), []);
  });
});
