/**
 * TTL sweep planning (DESIGN.md Data model: session; docs/sessions-ttl.md).
 * Dynamo has no TTL; like Cassandra's expiring cells, every replica drops its
 * own expired copies on its own schedule, with no coordination: an expired
 * session already reads as absent everywhere (crdt/session.ts,
 * sessionIsLive), so a sweep only reclaims space and never changes what a
 * client can see.
 *
 * The planner is pure: the caller hands it the keys the storage's expiry
 * index returned with the objects stored under them, and it decides, from
 * the objects themselves rather than the index, which records go. It never
 * removes a record whose expiry has not passed, so a key re-written with a
 * later expiry between the index look-up and the removal is safe as long as
 * the caller plans and removes in one synchronous step.
 *
 * What it removes:
 * - a live session whose expiry passed ('expired'); it counts as one expiry
 *   in the per-minute figures;
 * - a destroyed session (logout tombstone) whose expiry passed ('destroyed'):
 *   the tombstone has outlived the session's own expiry, so no live copy
 *   elsewhere can still outrank it (DESIGN.md: "its tombstone lives until
 *   the session's own expiry has passed, then is swept").
 * Anything else is kept: other kinds never expire, and an unexpired session
 * stays whatever the index said.
 */
import type { StoredObject } from '../crdt/stored-object';
import { sessionSweepableAtMs } from '../crdt/session';

export type SweepReason = 'expired' | 'destroyed';

export interface SweepCandidate {
  readonly key: string;
  /** The object stored under the key now; undefined when it is already gone. */
  readonly obj: StoredObject | undefined;
}

export interface SweepPlan {
  /** Records to remove now, in the order they were offered. */
  readonly remove: ReadonlyArray<{ readonly key: string; readonly reason: SweepReason; readonly expiresAtMs: number }>;
  /**
   * Keys the index offered that must stay (not a session, or not expired):
   * a sign the index and the objects disagree, which the caller reports.
   */
  readonly keep: readonly string[];
}

/** Why the record may be removed at `nowMs`, or null if it must stay. */
export function sweepReason(obj: StoredObject, nowMs: number): SweepReason | null {
  if (obj.kind !== 'session') return null;
  if (sessionSweepableAtMs(obj.s) > nowMs) return null;
  return obj.s.destroyed ? 'destroyed' : 'expired';
}

export function planSweep(candidates: Iterable<SweepCandidate>, nowMs: number): SweepPlan {
  const remove: Array<{ key: string; reason: SweepReason; expiresAtMs: number }> = [];
  const keep: string[] = [];
  const seen = new Set<string>();
  for (const { key, obj } of candidates) {
    // The same key twice would be removed (and counted) twice.
    if (seen.has(key)) continue;
    seen.add(key);
    if (obj === undefined) continue;
    const reason = sweepReason(obj, nowMs);
    if (reason === null) keep.push(key);
    // The time the expiry index files it under (a tombstone's includes its grace).
    else remove.push({ key, reason, expiresAtMs: sessionSweepableAtMs((obj as Extract<StoredObject, { kind: 'session' }>).s) });
  }
  return { remove, keep };
}

/**
 * The instant a sweep should look up to: the end of the last whole
 * `bucketMs` interval before `nowMs`. The storage's expiry index groups keys
 * in buckets of that width (storage/expiry-index.ts) and scans the newest,
 * partly expired bucket in full on every call; stopping at the previous
 * bucket's end means every bucket a sweep touches is wholly expired, so a
 * batch costs what it returns even when a million sessions share one second.
 * Records are swept at most `bucketMs` later for it, which nobody can see:
 * reads already treat them as absent.
 */
export function sweepHorizonMs(nowMs: number, bucketMs: number): number {
  return Math.floor(nowMs / bucketMs) * bucketMs - 1;
}
