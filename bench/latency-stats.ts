/**
 * Percentiles of latency samples (µs in, ms out), by sorting: a benchmark of
 * a few seconds holds at most a few million samples, which sort in well
 * under a second, and exact percentiles need no bucket-width caveats.
 * Percentile p is the sample at rank ceil(p/100 * n) (nearest rank).
 */

export interface LatencySummary {
  count: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

export function concatSamples(parts: readonly Float64Array[]): Float64Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Float64Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Sorted copy (typed-array sort is numeric). */
export function sorted(samples: Float64Array): Float64Array {
  return samples.slice().sort();
}

export function percentileOf(sortedUs: Float64Array, p: number): number {
  if (sortedUs.length === 0) return NaN;
  const rank = Math.min(sortedUs.length, Math.max(1, Math.ceil((p / 100) * sortedUs.length)));
  return sortedUs[rank - 1]! / 1000;
}

export function summarize(samplesUs: Float64Array): LatencySummary {
  const s = sorted(samplesUs);
  let sum = 0;
  for (let i = 0; i < s.length; i++) sum += s[i]!;
  return {
    count: s.length,
    meanMs: s.length === 0 ? NaN : sum / s.length / 1000,
    p50Ms: percentileOf(s, 50),
    p90Ms: percentileOf(s, 90),
    p99Ms: percentileOf(s, 99),
    p999Ms: percentileOf(s, 99.9),
    maxMs: s.length === 0 ? NaN : s[s.length - 1]! / 1000,
  };
}

/**
 * Points of a percentile plot: (percentile, ms) at percentiles spaced evenly
 * on the "number of nines" axis, -log10(1 - p), from 0 to 99.99 %.
 */
export function percentileCurve(samplesUs: Float64Array, points = 120): Array<[number, number]> {
  const s = sorted(samplesUs);
  if (s.length === 0) return [];
  const maxNines = Math.min(4, Math.log10(s.length)); // no more nines than the samples can show
  const out: Array<[number, number]> = [];
  for (let k = 0; k <= points; k++) {
    const nines = (k / points) * maxNines;
    const p = 100 * (1 - 10 ** -nines);
    out.push([p, percentileOf(s, p)]);
  }
  return out;
}
