/**
 * What one replica's sweeps removed in the last minute, per ring partition
 * (docs/sessions-ttl.md, "expired and swept per minute").
 *
 * Every replica sweeps its own copy of a session, so counting removals on
 * every node would count each session N times. Keeping the counts per
 * partition lets the stats query count each session once: the asking node
 * assigns every partition to one replica (session-stats.ts,
 * assignPartitions) and takes that partition's counts from that replica
 * only, exactly as it does for the live sessions.
 *
 * Counts sit in slots of `slotMs`; a query sums the slots of the last
 * `windowMs` ending at nowMs, so "per minute" is a sliding window, accurate
 * to one slot. Slots are sparse (a map by slot number), so a quiet node
 * keeps nothing, and old slots are dropped as time moves. Pure: the caller
 * passes nowMs.
 */
import { assert } from '../core/assert';
import type { PartitionId } from '../core/ids';
import type { SweepReason } from './ttl-sweep';

interface SlotCounts {
  /** partition -> [expired, swept] */
  readonly byPartition: Map<number, [number, number]>;
}

export interface WindowTotals {
  /** Live sessions whose expiry passed and that a sweep removed. */
  expired: number;
  /** Every session record a sweep removed (expired ones and destroyed tombstones). */
  swept: number;
}

export class SweepWindow {
  /** slot number -> counts; at most windowMs / slotMs slots after a prune. */
  private readonly slots = new Map<number, SlotCounts>();
  /** The slot the last prune ran for: a sweep records hundreds of removals per slot, one prune does. */
  private prunedFor = Number.NaN;

  constructor(readonly windowMs = 60_000, readonly slotMs = 1000) {
    assert(Number.isInteger(slotMs) && slotMs > 0, 'slotMs must be a positive integer');
    assert(Number.isInteger(windowMs) && windowMs >= slotMs && windowMs % slotMs === 0, 'windowMs must be a multiple of slotMs');
  }

  /** Count one removal by a sweep at nowMs. */
  record(partition: PartitionId, reason: SweepReason, nowMs: number, count = 1): void {
    const slot = Math.floor(nowMs / this.slotMs);
    this.prune(slot);
    let counts = this.slots.get(slot);
    if (counts === undefined) {
      // A clock that stepped back could give a slot older than the newest
      // one; it is still counted, in its own slot, and ages out normally.
      counts = { byPartition: new Map() };
      this.slots.set(slot, counts);
    }
    let c = counts.byPartition.get(partition);
    if (c === undefined) {
      c = [0, 0];
      counts.byPartition.set(partition, c);
    }
    if (reason === 'expired') c[0] += count;
    c[1] += count;
  }

  /**
   * Totals over the window ending at nowMs, for the given partitions, or for
   * every partition when `partitions` is omitted.
   */
  totals(nowMs: number, partitions?: Iterable<PartitionId>): WindowTotals {
    const slot = Math.floor(nowMs / this.slotMs);
    this.prune(slot);
    const wanted = partitions === undefined ? null : new Set<number>(partitions);
    const out: WindowTotals = { expired: 0, swept: 0 };
    const first = slot - this.windowMs / this.slotMs + 1;
    for (const [n, counts] of this.slots) {
      if (n < first || n > slot) continue;
      for (const [p, [expired, swept]] of counts.byPartition) {
        if (wanted !== null && !wanted.has(p)) continue;
        out.expired += expired;
        out.swept += swept;
      }
    }
    return out;
  }

  private prune(slot: number): void {
    if (slot === this.prunedFor) return;
    this.prunedFor = slot;
    const first = slot - this.windowMs / this.slotMs + 1;
    for (const n of this.slots.keys()) if (n < first) this.slots.delete(n);
  }
}
