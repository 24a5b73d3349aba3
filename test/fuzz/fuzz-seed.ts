/**
 * Seeds and counts of the fuzz tests: every run prints its seed (replay it
 * with FUZZ_SEED=...) and how many cases ran (STYLE.md 4).
 */
export function fuzzSeed(): number {
  const fromEnv = process.env.FUZZ_SEED;
  const seed = fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) : Date.now() % 2 ** 31;
  if (!Number.isSafeInteger(seed)) throw new Error(`FUZZ_SEED must be an integer, got ${fromEnv}`);
  return seed;
}

/** Scale of the runs: FUZZ_SCALE=4 runs four times as many cases (bounded by default for CI). */
export function fuzzRuns(base: number): number {
  const scale = Number(process.env.FUZZ_SCALE ?? '1');
  return Math.max(1, Math.round(base * (Number.isFinite(scale) && scale > 0 ? scale : 1)));
}

export function report(what: string, cases: number, seed: number, extra = ''): void {
  console.log(`      fuzz ${what}: ${cases} cases (seed ${seed}; replay with FUZZ_SEED=${seed})${extra ? `; ${extra}` : ''}`);
}
