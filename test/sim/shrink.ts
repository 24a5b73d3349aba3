/**
 * Shrinking a failing run's fault schedule (as QuickCheck and Hypothesis
 * shrink inputs; FoundationDB and TigerBeetle replay from the seed instead):
 * faults are left out one at a time, in schedule order, and a removal is kept
 * when the run still fails. The workload is drawn from its own random stream,
 * so it stays the same while faults go. One greedy pass: each kept fault was
 * needed for the failure when it was tried (a later removal may make it
 * removable after all; run the shrinker again on the result to go further).
 */
import { runSimulation, type SimOptions, type SimResult } from './simulation';

export interface ShrinkResult {
  /** Fault indices left out. */
  dropped: number[];
  /** The run with those faults left out. */
  result: SimResult;
  runs: number;
}

export async function shrinkFaults(
  opts: Omit<SimOptions, 'disabledFaults' | 'traceSink'>,
  onStep: (tried: number, total: number, kept: number) => void = () => undefined,
): Promise<ShrinkResult | null> {
  let best = await runSimulation(opts);
  let runs = 1;
  if (best.violations.length === 0) return null;
  const dropped = new Set<number>();
  const indices = best.faults.map((f) => f.index);
  for (const [i, index] of indices.entries()) {
    const trial = new Set(dropped).add(index);
    const r = await runSimulation({ ...opts, disabledFaults: trial });
    runs++;
    if (r.violations.length > 0) {
      dropped.add(index);
      best = r;
    }
    onStep(i + 1, indices.length, indices.length - dropped.size);
  }
  return { dropped: [...dropped].sort((a, b) => a - b), result: best, runs };
}
