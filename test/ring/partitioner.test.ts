import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { AssertionFailure } from '../../src/core/assert';
import { hashKey, partitionOf, PARTITIONS_MAX } from '../../src/ring/partitioner';

/** Pearson's chi-square statistic of `counts` against a uniform expectation. */
function chiSquare(counts: readonly number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const expected = total / counts.length;
  return counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
}

function histogram(q: number, keys: number): number[] {
  const counts = new Array<number>(q).fill(0);
  for (let i = 0; i < keys; i++) counts[partitionOf(`sess:${i}`, q)]!++;
  return counts;
}

describe('ring/partitioner (Dynamo 6.2 strategy 3: Q equal partitions of the hash space)', () => {
  it('hashes the UTF-8 bytes of the key with MD5 (first 4 bytes, big-endian)', () => {
    assert.equal(hashKey(''), 0xd41d8cd9); // md5("") = d41d8cd98f00b204e9800998ecf8427e
    assert.equal(hashKey('a'), 0x0cc175b9); // md5("a") = 0cc175b9c0f1b6a831c399e269772661
    const utf8 = createHash('md5').update(Buffer.from([0xc3, 0xa9])).digest().readUInt32BE(0);
    assert.equal(hashKey('é'), utf8);
  });

  it('is deterministic and always in [0, q)', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 40 }), fc.integer({ min: 1, max: PARTITIONS_MAX }), (key, q) => {
      const p = partitionOf(key, q);
      assert.ok(Number.isInteger(p) && p >= 0 && p < q, `partition ${p} for q=${q}`);
      assert.equal(partitionOf(key, q), p);
    }), { numRuns: 200 });
  });

  it('maps partitions to contiguous hash arcs: doubling q splits each partition in two', () => {
    fc.assert(fc.property(fc.string({ maxLength: 30 }), fc.integer({ min: 1, max: PARTITIONS_MAX / 2 }), (key, q) => {
      assert.equal(Math.floor(partitionOf(key, 2 * q) / 2), partitionOf(key, q));
    }), { numRuns: 500 });
  });

  it('spreads 100k keys uniformly over q=256 partitions (chi-square)', () => {
    const counts = histogram(256, 100_000);
    // 255 degrees of freedom: mean 255, sd ~22.6; 350 is ~4 sd out (p < 1e-4).
    const chi2 = chiSquare(counts);
    assert.ok(chi2 < 350, `chi-square ${chi2.toFixed(1)} over 255 dof`);
    assert.ok(Math.min(...counts) > 390 * 0.8 && Math.max(...counts) < 390 * 1.2, `counts ${Math.min(...counts)}..${Math.max(...counts)}`);
  });

  it('is uniform for a q that is not a power of two (q=100)', () => {
    const chi2 = chiSquare(histogram(100, 50_000)); // 99 dof: mean 99, sd ~14
    assert.ok(chi2 < 160, `chi-square ${chi2.toFixed(1)} over 99 dof`);
  });

  it('rejects a partition count that is not a positive integer within the limit', () => {
    for (const q of [0, -1, 1.5, Number.NaN, PARTITIONS_MAX + 1]) {
      assert.throws(() => partitionOf('k', q), AssertionFailure, `q=${q}`);
    }
  });
});
