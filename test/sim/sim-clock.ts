/**
 * A node's wall clock in the simulator: virtual time plus the node's own
 * skew, which faults change (a clock that jumps ahead or falls behind). The
 * node's Hlc stamps session fields from it, so skew exercises last-writer-
 * wins exactly as badly set clocks would (DESIGN.md Data model: session).
 */
import type { Clock } from '../../src/core/clock';
import type { EventQueue } from './event-queue';

/** Virtual time 0 is this wall-clock instant, so stamps look like real ones. */
export const SIM_EPOCH_MS = 1_700_000_000_000;

export class SkewedClock implements Clock {
  constructor(private readonly queue: EventQueue, public skewMs = 0) {}

  /** Whole milliseconds, as Date.now(): stamps go on the wire, whose validation wants integers. */
  nowMs(): number {
    return Math.floor(SIM_EPOCH_MS + this.queue.now() + this.skewMs);
  }
}

/** The true time of the run: what clients use to compute session expiries. */
export function trueNowMs(queue: EventQueue): number {
  return Math.floor(SIM_EPOCH_MS + queue.now());
}
