/**
 * Redial delays for a dropped peer link: exponential backoff with "equal
 * jitter" (half the ceiling fixed, half random), so nodes that lost the same
 * peer do not all redial it in the same instant when it returns, yet none
 * waits less than half its step.
 */
import { Prng, type Random } from '../core/prng';

/** Delay before redial number `attempt` (0 for the first redial after a drop). */
export function backoffDelayMs(attempt: number, baseMs: number, maxMs: number, random: Random): number {
  const ceilingMs = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return ceilingMs / 2 + random.next() * (ceilingMs / 2);
}

/** The default jitter source: a Prng seeded from the node id (FNV-1a), so runs replay. */
export function prngFor(id: string): Prng {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return new Prng(h >>> 0);
}
