/**
 * Time as an injected port (STYLE.md 3): protocol code never reads the wall
 * clock itself, so the simulator can run it on virtual time.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch (virtual in the simulator). */
  nowMs(): number;
}

/** A clock the caller moves by hand: unit tests and the simulator. */
export class ManualClock implements Clock {
  constructor(private ms = 1_700_000_000_000) {}
  nowMs(): number { return this.ms; }
  advance(ms: number): void { this.ms += ms; }
  set(ms: number): void { this.ms = ms; }
}
