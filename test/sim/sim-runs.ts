/**
 * The bounded seed set `npm test` runs (issue 4: "a bounded number of seeds,
 * a few hundred events each, so CI stays fast"), shared by sim.test.ts and
 * mutations.test.ts. Runs of the unmutated simulator are memoized, so the
 * baseline both files need is computed once per mocha process.
 */
import { DEFAULT_EVENTS, runSimulation, type SimResult } from './simulation';

/** Seeds 1..TEST_SEEDS; the mutation tests must catch each injected bug within them. */
export const TEST_SEEDS = 16;
export const TEST_EVENTS = DEFAULT_EVENTS;

export const testSeeds = (): number[] => Array.from({ length: TEST_SEEDS }, (_, i) => i + 1);

const baseline = new Map<number, Promise<SimResult>>();

/** The unmutated run of `seed` at TEST_EVENTS (memoized). */
export function baselineRun(seed: number): Promise<SimResult> {
  let r = baseline.get(seed);
  if (!r) baseline.set(seed, (r = runSimulation({ seed, events: TEST_EVENTS })));
  return r;
}

export function replayHint(r: Pick<SimResult, 'seed' | 'mutation'>): string {
  const mutation = r.mutation === 'none' ? '' : ` --mutation ${r.mutation}`;
  return `npm run sim -- --seed ${r.seed}${TEST_EVENTS === DEFAULT_EVENTS ? '' : ` --events ${TEST_EVENTS}`}${mutation}`;
}

export function describeViolations(r: SimResult, max = 5): string {
  return [
    `seed ${r.seed} (mutation ${r.mutation}): ${r.violations.length} violation(s); replay: ${replayHint(r)}`,
    ...r.violations.slice(0, max).map((v) => `  ${v.kind} ${v.key}: ${v.detail}`),
  ].join('\n');
}
