import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { hashKey } from '../../src/ring/partitioner';

const md5Prefix = (key: string): number => createHash('md5').update(key, 'utf8').digest().readUInt32BE(0);

describe('ring/partitioner hashKey cache (docs/benchmarks.md: a key is hashed several times per request)', () => {
  it('answers what MD5 answers, the first time and from the cache, across evictions', () => {
    // More distinct keys than the cache holds (2^16), so it is emptied at least once on the way.
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 70_000; i += 1) {
        const key = `sess:${i}:${'é'.repeat(i % 3)}`;
        if (i % 997 === 0 || round === 1 && i % 101 === 0) assert.equal(hashKey(key), md5Prefix(key), key);
        else hashKey(key);
      }
    }
  });
});
