/**
 * The per-address token bucket (src/node/rate-limiter.ts).
 */
import { strict as assert } from 'node:assert';
import { RateLimiter } from '../../src/node/rate-limiter';

describe('node/rate-limiter', () => {
  it('lets a burst through, then one request per 1/rate seconds, per key', () => {
    let now = 0;
    const rl = new RateLimiter({ ratePerSecond: 10, burst: 3, nowMs: () => now });
    assert.deepEqual([rl.take('a'), rl.take('a'), rl.take('a')], [0, 0, 0]);
    assert.equal(rl.take('a'), 100, 'the next token comes in 100 ms');
    assert.equal(rl.take('b'), 0, 'another address has its own bucket');
    now += 100;
    assert.equal(rl.take('a'), 0);
    assert.ok(rl.take('a') > 0);
    now += 10_000;
    assert.deepEqual([rl.take('a'), rl.take('a'), rl.take('a')], [0, 0, 0], 'refills only up to the burst');
    assert.ok(rl.take('a') > 0);
    assert.equal(rl.refused, 3);
  });

  it('keeps at most bucketsMax buckets, dropping the least recently used', () => {
    const rl = new RateLimiter({ ratePerSecond: 1, burst: 1, nowMs: () => 0, bucketsMax: 2 });
    rl.take('a');
    rl.take('b');
    rl.take('a'); // a is now the most recent
    rl.take('c'); // evicts b
    assert.equal(rl.size, 2);
    assert.equal(rl.take('b'), 0, 'b comes back with a full bucket');
    assert.ok(rl.take('c') > 0, 'c was kept');
  });
});
