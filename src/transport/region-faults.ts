/**
 * Injected region faults of the ws transport (DESIGN.md `/admin/faults`): the
 * regions cut off from this node and the extra delay per region. The network
 * asks delayFor() before each message it sends: a message to a cut region is
 * dropped (a request to it rejects at once), one to a delayed region is held
 * for that long before it is queued. Only this node's outgoing side is
 * affected; the peer's own faults govern what it sends back.
 */
import { BadRequestError } from '../core/errors';

/** POST /admin/faults body: per-region extra delay and regions cut off. */
export interface Faults {
  delayMs?: Record<string, number>;
  cut?: string[];
}

export class RegionFaults {
  private cut = new Set<string>();
  private delayed = new Map<string, number>();

  /**
   * Replace the faults with `faults`, checked first: a malformed body throws
   * BadRequestError and leaves the current faults in place.
   */
  set(faults: Faults): void {
    const delays = new Map<string, number>();
    for (const [region, ms] of Object.entries(faults.delayMs ?? {})) {
      if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
        throw new BadRequestError(`delay for region ${JSON.stringify(region)} must be a number of ms >= 0`);
      }
      if (ms > 0) delays.set(region, ms);
    }
    const cut = faults.cut ?? [];
    if (!Array.isArray(cut) || !cut.every((r) => typeof r === 'string')) {
      throw new BadRequestError('cut must be a list of region names');
    }
    this.delayed = delays;
    this.cut = new Set(cut);
  }

  /** The faults in force, as GET /admin/faults shows them. */
  describe(): { delayMs: Record<string, number>; cut: string[] } {
    return { delayMs: Object.fromEntries(this.delayed), cut: [...this.cut] };
  }

  /** -1 when `region` is cut, else its injected delay (0 for none, and for a peer of unknown region). */
  delayFor(region: string | undefined): number {
    if (region === undefined) return 0;
    if (this.cut.has(region)) return -1;
    return this.delayed.get(region) ?? 0;
  }
}
