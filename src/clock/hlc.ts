/**
 * Hybrid logical clock (Kulkarni, Demirbas, Madappa, Avva, Leone, "Logical
 * Physical Clocks and Consistent Snapshots in Globally Distributed
 * Databases", OPODIS 2014, the HLC algorithm's send and receive rules) for
 * the last-writer-wins stamps of session fields (DESIGN.md Data model:
 * session).
 *
 * A stamp packs the pair (l, c) into one number: physicalMs * 1000 + logical,
 * so stamps compare with `<` and msgpack as one integer. Safe integers hold
 * physical times until about the year 2255. When the logical part would pass
 * 999 the physical part advances by 1 ms: in this packing that is simply
 * stamp + 1. Either way stamps stay strictly increasing per instance, and stay
 * within a few ms of the wall clock unless one node mints over a million
 * stamps per second.
 */
import { BadRequestError } from '../core/errors';
import type { Clock } from '../core/clock';

export type HlcStamp = number;

/** Logical events per physical millisecond before the physical part advances. */
export const HLC_LOGICAL_PER_MS = 1000;

export interface HlcOptions {
  /**
   * A remote stamp further than this ahead of the local clock is refused, so
   * one peer with a broken clock cannot drag every node's stamps forward.
   */
  maxDriftMs?: number;
}

export const DEFAULT_HLC_MAX_DRIFT_MS = 60_000;

export function hlcPhysicalMs(stamp: HlcStamp): number {
  return Math.floor(stamp / HLC_LOGICAL_PER_MS);
}

export function hlcLogical(stamp: HlcStamp): number {
  return stamp % HLC_LOGICAL_PER_MS;
}

export function hlcStamp(physicalMs: number, logical = 0): HlcStamp {
  return physicalMs * HLC_LOGICAL_PER_MS + logical;
}

export class Hlc {
  private last: HlcStamp = 0;
  private readonly maxDriftMs: number;

  constructor(private readonly clock: Clock, options: HlcOptions = {}) {
    this.maxDriftMs = options.maxDriftMs ?? DEFAULT_HLC_MAX_DRIFT_MS;
  }

  /**
   * Send/local event rule: l = max(l, pt); c = 0 when l moved to pt, else
   * c + 1. Packed, that is max(pt * 1000, last + 1).
   */
  now(): HlcStamp {
    this.last = Math.max(hlcStamp(Math.floor(this.clock.nowMs())), this.last + 1);
    return this.last;
  }

  /**
   * Receive rule: the receive event gets a stamp above the local one, the
   * remote one and the physical clock (packed: max(pt * 1000, last + 1,
   * remote + 1)), so every later now() orders after the remote event.
   * Throws BadRequestError for a stamp that is malformed or more than
   * maxDriftMs ahead of the local clock; the local clock is then unchanged.
   */
  observe(remote: HlcStamp): void {
    if (!Number.isSafeInteger(remote) || remote < 0) {
      throw new BadRequestError(`bad HLC stamp ${String(remote)}`);
    }
    const pt = Math.floor(this.clock.nowMs());
    const aheadMs = hlcPhysicalMs(remote) - pt;
    if (aheadMs > this.maxDriftMs) {
      throw new BadRequestError(`HLC stamp is ${aheadMs} ms ahead of the local clock; the limit is ${this.maxDriftMs} ms`);
    }
    this.last = Math.max(hlcStamp(pt), this.last + 1, remote + 1);
  }

  /** The last stamp issued or observed (0 before the first). */
  peek(): HlcStamp {
    return this.last;
  }
}
