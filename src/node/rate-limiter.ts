/**
 * Per-client request rate limit (issue 7; docs/security.md): one token
 * bucket per key (the client's IP address), refilled at `ratePerSecond` up
 * to `burst` tokens, one token per request. A request that finds its bucket
 * empty is refused with the time until the next token (RateLimitedError,
 * 429 with Retry-After).
 *
 * Memory is bounded: at most `bucketsMax` buckets are kept, least recently
 * used first out. An evicted bucket comes back full, which only favours a
 * client that has been quiet, or an attacker with more addresses than
 * `bucketsMax` (who could get fresh buckets anyway).
 *
 * Time is injected (`nowMs`) so tests drive it.
 */
import { assert } from '../core/assert';

export interface RateLimiterOptions {
  ratePerSecond: number;
  /** Bucket size; default one second's worth. */
  burst?: number;
  nowMs: () => number;
  /** Buckets kept at most. Default 100,000. */
  bucketsMax?: number;
}

interface Bucket {
  tokens: number;
  atMs: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly rate: number;
  private readonly burst: number;
  private readonly bucketsMax: number;
  /** Requests refused since start. */
  refused = 0;

  constructor(private readonly opts: RateLimiterOptions) {
    assert(opts.ratePerSecond > 0, 'a rate limiter needs a positive rate');
    this.rate = opts.ratePerSecond / 1000;
    this.burst = Math.max(1, opts.burst && opts.burst > 0 ? opts.burst : opts.ratePerSecond);
    this.bucketsMax = opts.bucketsMax ?? 100_000;
  }

  /** Take one token for `key`: 0 when the request may go, else the milliseconds until it could. */
  take(key: string): number {
    const now = this.opts.nowMs();
    let b = this.buckets.get(key);
    if (b === undefined) {
      b = { tokens: this.burst, atMs: now };
      if (this.buckets.size >= this.bucketsMax) {
        const oldest = this.buckets.keys().next().value as string;
        this.buckets.delete(oldest);
      }
    } else {
      this.buckets.delete(key); // re-inserted below: Map order is the LRU order
      b.tokens = Math.min(this.burst, b.tokens + Math.max(0, now - b.atMs) * this.rate);
      b.atMs = now;
    }
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    this.refused++;
    return Math.max(1, Math.ceil((1 - b.tokens) / this.rate));
  }

  get size(): number {
    return this.buckets.size;
  }
}
