import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { asActorId } from '../../src/core/ids';
import {
  emptyVv, vvCompare, vvCovers, vvDescends, vvEquals, vvFromEntries, vvGet, vvIncrement, vvMerge, type VersionVector,
} from '../../src/clock/version-vector';

const actors = ['a', 'b', 'c', '__proto__', 'constructor'];
const vvArb: fc.Arbitrary<VersionVector> = fc
  .array(fc.tuple(fc.constantFrom(...actors), fc.nat(4)), { maxLength: 6 })
  .map((entries) => vvFromEntries(entries));

describe('clock/version-vector', () => {
  it('reads absent actors as 0, including names of Object.prototype members', () => {
    const v = vvFromEntries([['a', 3]]);
    assert.equal(vvGet(v, 'a'), 3);
    assert.equal(vvGet(v, 'b'), 0);
    assert.equal(vvGet(v, 'constructor'), 0);
    assert.equal(vvGet(v, '__proto__'), 0);
    assert.equal(vvGet(vvFromEntries([['__proto__', 2]]), '__proto__'), 2);
  });

  it('returns canonical vectors: actors sorted, zero counters dropped', () => {
    const v = vvMerge(vvFromEntries([['c', 1], ['a', 0]]), vvFromEntries([['b', 2]]));
    assert.deepEqual(Object.keys(v), ['b', 'c']);
    assert.deepEqual(Object.keys(vvIncrement(vvFromEntries([['z', 1]]), asActorId('m'))), ['m', 'z']);
    assert.deepEqual(emptyVv(), {});
  });

  it('merges pointwise by max', () => {
    const m = vvMerge(vvFromEntries([['a', 3], ['b', 1]]), vvFromEntries([['b', 4], ['c', 2]]));
    assert.deepEqual({ ...m }, { a: 3, b: 4, c: 2 });
  });

  it('compares causally: equal, before, after, concurrent', () => {
    const a1 = vvFromEntries([['a', 1]]);
    const a2 = vvFromEntries([['a', 2]]);
    const b1 = vvFromEntries([['b', 1]]);
    assert.equal(vvCompare(a1, vvFromEntries([['a', 1], ['b', 0]])), 'equal');
    assert.equal(vvCompare(a1, a2), 'before');
    assert.equal(vvCompare(a2, a1), 'after');
    assert.equal(vvCompare(a1, b1), 'concurrent');
    assert.equal(vvCompare(emptyVv(), b1), 'before');
  });

  it('covers a dot when it has seen that counter of the actor', () => {
    const v = vvFromEntries([['a', 3]]);
    assert.equal(vvCovers(v, [asActorId('a'), 3]), true);
    assert.equal(vvCovers(v, [asActorId('a'), 4]), false);
    assert.equal(vvCovers(v, [asActorId('b'), 1]), false);
  });

  it('increments one actor', () => {
    const v = vvIncrement(vvIncrement(emptyVv(), asActorId('a')), asActorId('a'));
    assert.equal(vvGet(v, 'a'), 2);
  });

  it('merge is a join: commutative, associative, idempotent, an upper bound', () => {
    fc.assert(
      fc.property(vvArb, vvArb, vvArb, (a, b, c) => {
        assert.deepEqual(vvMerge(a, b), vvMerge(b, a));
        assert.deepEqual(vvMerge(vvMerge(a, b), c), vvMerge(a, vvMerge(b, c)));
        assert.deepEqual(vvMerge(a, a), a);
        assert.ok(vvDescends(vvMerge(a, b), a) && vvDescends(vvMerge(a, b), b));
        // Canonical form: key order of the result is sorted.
        const keys = Object.keys(vvMerge(a, b));
        assert.deepEqual(keys, [...keys].sort());
      }),
      { numRuns: 300 },
    );
  });

  it('compare agrees with descends', () => {
    fc.assert(
      fc.property(vvArb, vvArb, (a, b) => {
        const expected = vvDescends(a, b)
          ? vvDescends(b, a) ? 'equal' : 'after'
          : vvDescends(b, a) ? 'before' : 'concurrent';
        assert.equal(vvCompare(a, b), expected);
        assert.equal(vvEquals(a, b), expected === 'equal');
      }),
      { numRuns: 300 },
    );
  });
});
