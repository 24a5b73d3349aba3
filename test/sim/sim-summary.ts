/**
 * The figures issue 4 asks the simulator to report, aggregated over runs:
 * messages per client operation, load balance across nodes (max/mean keys
 * held), time to converge after heal (virtual ms), plus how many operations
 * were acknowledged and how often a retried coordination left one write
 * under two dots; what anti-entropy and the fallback sweep repaired in the
 * quiet period; joins, leaves and the share of keys a join moved.
 * docs/simulation.md quotes them.
 */
import type { SimResult } from './simulation';

export interface Distribution {
  count: number;
  mean: number;
  p50: number;
  p95: number;
  max: number;
}

export interface SimSummary {
  seeds: number;
  violations: number;
  events: number;
  clientOps: number;
  ackedShare: number;
  msgsPerOp: number;
  loadMaxOverMean: { mean: number; max: number };
  convergeMs: Distribution;
  neverConverged: number;
  sweepRounds: number;
  /** Keys the quiet period's anti-entropy repaired, and read repairs the fallback sweep made after it (all runs). */
  aeRepairs: number;
  sweepRepairs: number;
  /** Runs whose sweep still repaired something. */
  runsSweepRepaired: number;
  aeExchangesPerRun: number;
  joins: number;
  leaves: number;
  /** Per join: keys written so far whose replica set changed, over those keys; and the same for partitions. */
  keysMovedOnJoin: Distribution;
  partitionsMovedOnJoin: Distribution;
  /** Anomalies (one write under two dots), by kind. */
  anomalies: Record<string, number>;
  violationKinds: Record<string, number>;
}

export function distribution(values: readonly number[]): Distribution {
  if (values.length === 0) return { count: 0, mean: 0, p50: 0, p95: 0, max: 0 };
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { count: s.length, mean: s.reduce((a, b) => a + b, 0) / s.length, p50: at(0.5), p95: at(0.95), max: s[s.length - 1]! };
}

export function summarize(results: readonly SimResult[]): SimSummary {
  const sum = (f: (r: SimResult) => number): number => results.reduce((a, r) => a + f(r), 0);
  const clientOps = sum((r) => r.clientOps);
  const balance = results.map((r) => {
    const mean = r.keysPerNode.reduce((a, b) => a + b, 0) / r.keysPerNode.length;
    return mean === 0 ? 1 : Math.max(...r.keysPerNode) / mean;
  });
  const kinds = countKinds(results.flatMap((r) => r.violations.map((v) => v.kind)));
  return {
    seeds: results.length,
    violations: sum((r) => r.violations.length),
    events: sum((r) => r.events),
    clientOps,
    ackedShare: clientOps === 0 ? 0 : sum((r) => r.ackedOps) / clientOps,
    msgsPerOp: clientOps === 0 ? 0 : sum((r) => r.loadMessages) / clientOps,
    loadMaxOverMean: {
      mean: balance.length === 0 ? 0 : balance.reduce((a, b) => a + b, 0) / balance.length,
      max: balance.length === 0 ? 0 : Math.max(...balance),
    },
    convergeMs: distribution(results.flatMap((r) => (r.convergeMs === null ? [] : [r.convergeMs]))),
    neverConverged: results.filter((r) => r.convergeMs === null).length,
    sweepRounds: results.length === 0 ? 0 : sum((r) => r.sweepRounds) / results.length,
    aeRepairs: sum((r) => r.aeRepairs),
    sweepRepairs: sum((r) => r.sweepRepairs),
    runsSweepRepaired: results.filter((r) => r.sweepRepairs > 0).length,
    aeExchangesPerRun: results.length === 0 ? 0 : sum((r) => r.aeExchanges) / results.length,
    joins: sum((r) => r.joins),
    leaves: sum((r) => r.leaves),
    keysMovedOnJoin: distribution(results.flatMap((r) => r.joinFigures.filter((j) => j.keys > 0).map((j) => j.keysMoved / j.keys))),
    partitionsMovedOnJoin: distribution(results.flatMap((r) => r.joinFigures.map((j) => j.partitionsMoved / j.partitions))),
    anomalies: countKinds(results.flatMap((r) => r.anomalies.map((a) => a.split(' ')[0]!))),
    violationKinds: kinds,
  };
}

function countKinds(kinds: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of kinds) out[k] = (out[k] ?? 0) + 1;
  return out;
}
