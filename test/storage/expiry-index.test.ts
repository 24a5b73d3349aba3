import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { AssertionFailure } from '../../src/core/assert';
import { ExpiryIndex } from '../../src/storage/expiry-index';

describe('ExpiryIndex', () => {
  it('returns keys expiring at or before now, oldest bucket first', () => {
    const x = new ExpiryIndex(1000);
    x.add('late', 5500);
    x.add('early', 1200);
    x.add('edge', 3000);
    assert.deepEqual(x.expired(1199, 10), []);
    assert.deepEqual(x.expired(2999, 10), ['early']);
    assert.deepEqual(x.expired(3000, 10), ['early', 'edge']);
    assert.deepEqual(x.expired(3000, 1), ['early']);
    assert.equal(x.size, 3);
  });

  it('skips the not yet expired keys of the bucket that holds now', () => {
    const x = new ExpiryIndex(1000);
    x.add('a', 2100);
    x.add('b', 2900);
    x.add('c', 2500);
    assert.deepEqual(x.expired(2500, 10).sort(), ['a', 'c']);
  });

  it('forgets deleted keys and refuses a delete with the wrong expiry', () => {
    const x = new ExpiryIndex(10);
    x.add('k', 55);
    assert.equal(x.delete('k', 56), false);
    assert.equal(x.delete('k', 55), true);
    assert.equal(x.delete('k', 55), false);
    assert.equal(x.size, 0);
    assert.deepEqual(x.expired(1e9, 10), []);
  });

  it('treats adding a key twice without deleting it as a bug', () => {
    const x = new ExpiryIndex(10);
    x.add('k', 5);
    assert.throws(() => x.add('k', 5), AssertionFailure);
  });

  it('agrees with a brute-force scan over random adds and deletes', () => {
    const op = fc.oneof(
      fc.record({ t: fc.constant('set' as const), key: fc.integer({ min: 0, max: 20 }), at: fc.integer({ min: -5000, max: 5000 }) }),
      fc.record({ t: fc.constant('del' as const), key: fc.integer({ min: 0, max: 20 }) }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 700 }),
        fc.array(op, { maxLength: 60 }),
        fc.integer({ min: -6000, max: 6000 }),
        fc.integer({ min: 0, max: 25 }),
        (bucketMs, ops, now, limit) => {
          const x = new ExpiryIndex(bucketMs);
          const model = new Map<string, number>();
          for (const o of ops) {
            const key = `k${o.key}`;
            const old = model.get(key);
            if (old !== undefined) {
              assert.ok(x.delete(key, old));
              model.delete(key);
            }
            if (o.t === 'set') {
              x.add(key, o.at);
              model.set(key, o.at);
            }
          }
          assert.equal(x.size, model.size);
          const due = [...model].filter(([, at]) => at <= now);
          const got = x.expired(now, limit);
          assert.equal(got.length, Math.min(limit, due.length));
          assert.equal(new Set(got).size, got.length);
          for (const k of got) assert.ok(model.get(k)! <= now, `${k} is not expired`);
          // Oldest first up to bucket granularity: nothing left out is in an earlier bucket.
          if (got.length > 0) {
            const lastBucket = Math.max(...got.map((k) => Math.floor(model.get(k)! / bucketMs)));
            const missed = due.filter(([k]) => !got.includes(k));
            for (const [, at] of missed) assert.ok(Math.floor(at / bucketMs) >= lastBucket);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
