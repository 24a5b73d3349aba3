/** The wall clock, for real nodes; protocol code only sees the Clock port. */
import type { Clock } from '../core/clock';

export class SystemClock implements Clock {
  nowMs(): number {
    return Date.now();
  }
}
