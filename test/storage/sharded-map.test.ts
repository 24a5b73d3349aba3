import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { AssertionFailure } from '../../src/core/assert';
import { ShardedMap, shardHash } from '../../src/storage/sharded-map';

type Op = { kind: 'set'; key: string; value: number } | { kind: 'delete'; key: string } | { kind: 'clear' };

const keyArb = fc.string({ maxLength: 6 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('set' as const), key: keyArb, value: fc.integer() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('delete' as const), key: keyArb }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'clear' as const }) },
);

describe('ShardedMap', () => {
  it('behaves like a Map under any sequence of set, delete and clear', () => {
    fc.assert(fc.property(fc.constantFrom(1, 2, 8, 256), fc.array(opArb, { maxLength: 200 }), (shards, ops) => {
      const model = new Map<string, number>();
      const m = new ShardedMap<number>(shards);
      for (const op of ops) {
        if (op.kind === 'set') {
          model.set(op.key, op.value);
          assert.equal(m.set(op.key, op.value), m);
        } else if (op.kind === 'delete') {
          assert.equal(m.delete(op.key), model.delete(op.key));
        } else {
          model.clear();
          m.clear();
        }
        assert.equal(m.size, model.size);
      }
      for (const [k, v] of model) {
        assert.equal(m.get(k), v);
        assert.equal(m.has(k), true);
      }
      assert.deepEqual([...m.keys()].sort(), [...model.keys()].sort());
      assert.deepEqual(new Map(m.entries()), model);
      assert.equal(m.has('\u0000absent'), model.has('\u0000absent'));
    }));
  });

  it('iterates live: keys deleted during iteration are not visited', () => {
    const m = new ShardedMap<number>(16);
    for (let i = 0; i < 1000; i++) m.set(`k${i}`, i);
    const seen: string[] = [];
    for (const k of m.keys()) {
      seen.push(k);
      // Delete a key that has not been visited yet, if any.
      const victim = `k${(Number(k.slice(1)) + 500) % 1000}`;
      if (!seen.includes(victim)) m.delete(victim);
    }
    for (const k of seen) assert.ok(m.has(k), `${k} was visited after its deletion`);
    assert.equal(seen.length, m.size);
    assert.ok(m.size < 1000);
  });

  it('spreads session-like keys evenly over the shards', () => {
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 256_000; i++) counts[shardHash(`sess:${i.toString(36)}`) & 255]!++;
    // 1,000 expected per shard; a poor hash would leave some nearly empty.
    assert.ok(Math.min(...counts) > 800 && Math.max(...counts) < 1200, `shard sizes ${Math.min(...counts)}..${Math.max(...counts)}`);
  });

  it('refuses a shard count that is not a power of two', () => {
    assert.throws(() => new ShardedMap(3), AssertionFailure);
    assert.throws(() => new ShardedMap(0), AssertionFailure);
  });
});
