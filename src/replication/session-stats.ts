/**
 * Session TTL statistics (DESIGN.md HTTP API: `GET /admin/sessions/stats`;
 * docs/sessions-ttl.md): one node's partial figures over the partitions it
 * was asked about, the exact merge of partials from several nodes, and the
 * finished JSON.
 *
 * Partials are fixed-bucket histograms, so merging is adding counts: the
 * merge of the partials of disjoint sets of sessions equals the partial of
 * their union, whatever order or grouping the nodes answer in (a
 * commutative monoid, like Prometheus histograms summed over instances).
 * Everything the JSON shows is derived from the merged partial:
 * - `expiringWithin` and `ttlHistogram` are exact, because 60, 300 and 1800
 *   seconds are bucket bounds;
 * - the idle-time percentiles are estimated from the merged histogram by
 *   linear interpolation inside the bucket (Prometheus's
 *   histogram_quantile), so they land in the same bucket as the exact
 *   percentile; `max` is exact.
 *
 * A session counts when it is live at the asker's nowMs (not destroyed,
 * expiry after nowMs: crdt/session.ts, sessionIsLive). Remaining TTL is
 * expiresAtMs - nowMs; idle time is nowMs - touchedAtMs (the last write or
 * touch), at least 0. Pure: nowMs is a parameter.
 */
import { BadRequestError } from '../core/errors';
import type { PartitionId } from '../core/ids';
import { asPartitionId } from '../core/ids';
import type { StoredObject } from '../crdt/stored-object';

/** Upper bounds (seconds) of the remaining-TTL buckets; one more bucket holds the rest. */
export const TTL_BOUNDS_S: readonly number[] = Object.freeze([
  60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 14400, 43200, 86400, 604800,
]);

/** Upper bounds (seconds) of the idle-time buckets; one more bucket holds the rest. */
export const IDLE_BOUNDS_S: readonly number[] = Object.freeze([
  1, 2, 5, 10, 15, 30, 45, 60, 90, 120, 180, 240, 300, 450, 600, 900, 1200, 1500, 1800,
  2700, 3600, 7200, 14400, 28800, 43200, 86400, 172800, 604800,
]);

/** The `expiringWithin` keys of DESIGN.md; each must be one of TTL_BOUNDS_S. */
export const EXPIRING_WITHIN_S: readonly number[] = Object.freeze([60, 300, 1800]);

/** One node's figures for a set of partitions. Plain data: it travels in a peer message. */
export interface SessionStatsPartial {
  /** Partitions these figures cover. */
  partitions: number;
  /** Live sessions. */
  active: number;
  /** Live sessions per remaining-TTL bucket (not cumulative); length TTL_BOUNDS_S.length + 1. */
  ttlCounts: number[];
  /** Live sessions per idle-time bucket (not cumulative); length IDLE_BOUNDS_S.length + 1. */
  idleCounts: number[];
  /** Largest idle time of a live session, in ms (0 when none). */
  idleMaxMs: number;
  /** Live sessions whose expiry passed and that a sweep removed in the last minute. */
  expired: number;
  /** Session records (expired or destroyed) that a sweep removed in the last minute. */
  swept: number;
}

export type HistogramBucket = { le: number | '+Inf'; count: number };

/** The JSON of `GET /admin/sessions/stats`. */
export interface SessionStats {
  active: number;
  /** Seconds as keys: live sessions whose remaining TTL is at most that many seconds (cumulative). */
  expiringWithin: Record<string, number>;
  /** Cumulative, like Prometheus: the last bucket ('+Inf') equals `active`. */
  ttlHistogram: HistogramBucket[];
  idleSeconds: { p50: number; p90: number; max: number };
  /** Cumulative idle-time histogram, for the admin page's chart. */
  idleHistogram: HistogramBucket[];
  expiredPerMinute: number;
  sweptPerMinute: number;
  /** ISO 8601 time the figures refer to. */
  asOf: string;
  asOfMs: number;
  /** True when some partitions could not be counted (no replica answered). */
  partial: boolean;
  partitions: { total: number; covered: number };
  nodes: { asked: string[]; answered: string[]; failed: string[] };
}

export function emptyPartial(): SessionStatsPartial {
  return {
    partitions: 0,
    active: 0,
    ttlCounts: new Array<number>(TTL_BOUNDS_S.length + 1).fill(0),
    idleCounts: new Array<number>(IDLE_BOUNDS_S.length + 1).fill(0),
    idleMaxMs: 0,
    expired: 0,
    swept: 0,
  };
}

/** Adds sessions to a partial in place: one pass over a node's records, no copies. */
export class SessionStatsBuilder {
  private readonly p: SessionStatsPartial = emptyPartial();

  constructor(private readonly nowMs: number) {}

  /** Counts `obj` if it is a live session; anything else is ignored. */
  add(obj: StoredObject | undefined): void {
    if (obj === undefined || obj.kind !== 'session') return;
    const s = obj.s;
    if (s.destroyed || s.expiresAtMs <= this.nowMs) return;
    const idleMs = Math.max(0, this.nowMs - s.touchedAtMs);
    this.p.active += 1;
    this.p.ttlCounts[bucketOf(TTL_BOUNDS_S, s.expiresAtMs - this.nowMs)]! += 1;
    this.p.idleCounts[bucketOf(IDLE_BOUNDS_S, idleMs)]! += 1;
    if (idleMs > this.p.idleMaxMs) this.p.idleMaxMs = idleMs;
  }

  addPartitions(count: number): void {
    this.p.partitions += count;
  }

  addSweeps(expired: number, swept: number): void {
    this.p.expired += expired;
    this.p.swept += swept;
  }

  /** The figures so far (a copy: the builder may go on). */
  result(): SessionStatsPartial {
    return mergePartials(emptyPartial(), this.p);
  }
}

/** The partial of the union of two disjoint sets of partitions. */
export function mergePartials(a: SessionStatsPartial, b: SessionStatsPartial): SessionStatsPartial {
  return {
    partitions: a.partitions + b.partitions,
    active: a.active + b.active,
    ttlCounts: a.ttlCounts.map((c, i) => c + b.ttlCounts[i]!),
    idleCounts: a.idleCounts.map((c, i) => c + b.idleCounts[i]!),
    idleMaxMs: Math.max(a.idleMaxMs, b.idleMaxMs),
    expired: a.expired + b.expired,
    swept: a.swept + b.swept,
  };
}

export interface StatsCoverage {
  nowMs: number;
  partitionsTotal: number;
  asked: readonly string[];
  answered: readonly string[];
  failed: readonly string[];
}

/** The finished JSON of DESIGN.md from a merged partial. */
export function finishStats(p: SessionStatsPartial, cov: StatsCoverage): SessionStats {
  const ttlHistogram = cumulative(TTL_BOUNDS_S, p.ttlCounts);
  const expiringWithin: Record<string, number> = {};
  for (const s of EXPIRING_WITHIN_S) {
    expiringWithin[String(s)] = ttlHistogram[TTL_BOUNDS_S.indexOf(s)]!.count;
  }
  const maxS = p.idleMaxMs / 1000;
  return {
    active: p.active,
    expiringWithin,
    ttlHistogram,
    idleSeconds: {
      p50: roundMs(histogramQuantile(IDLE_BOUNDS_S, p.idleCounts, 0.5, maxS)),
      p90: roundMs(histogramQuantile(IDLE_BOUNDS_S, p.idleCounts, 0.9, maxS)),
      max: roundMs(maxS),
    },
    idleHistogram: cumulative(IDLE_BOUNDS_S, p.idleCounts),
    expiredPerMinute: p.expired,
    sweptPerMinute: p.swept,
    asOf: new Date(cov.nowMs).toISOString(),
    asOfMs: cov.nowMs,
    partial: p.partitions < cov.partitionsTotal,
    partitions: { total: cov.partitionsTotal, covered: p.partitions },
    nodes: { asked: [...cov.asked], answered: [...cov.answered], failed: [...cov.failed] },
  };
}

/**
 * The q-quantile (0 < q <= 1) of values counted in buckets with the given
 * upper bounds (seconds; the last count is everything above the last bound),
 * interpolating linearly inside the bucket where the rank falls, as
 * Prometheus's histogram_quantile does. The open last bucket and the
 * estimate itself are capped by `maxS`, the exact largest value. 0 when empty.
 */
export function histogramQuantile(bounds: readonly number[], counts: readonly number[], q: number, maxS: number): number {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return 0;
  const rank = q * total;
  let before = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (c > 0 && before + c >= rank) {
      const lower = i === 0 ? 0 : bounds[i - 1]!;
      const upper = i < bounds.length ? bounds[i]! : Math.max(maxS, lower);
      const est = lower + ((upper - lower) * (rank - before)) / c;
      return Math.min(est, maxS);
    }
    before += c;
  }
  return maxS;
}

/** Index of the bucket holding `valueMs`: the first bound (in s) it does not exceed, else the overflow bucket. */
export function bucketOf(boundsS: readonly number[], valueMs: number): number {
  let lo = 0;
  let hi = boundsS.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (valueMs <= boundsS[mid]! * 1000) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function cumulative(bounds: readonly number[], counts: readonly number[]): HistogramBucket[] {
  const out: HistogramBucket[] = [];
  let sum = 0;
  for (let i = 0; i < counts.length; i++) {
    sum += counts[i]!;
    out.push({ le: i < bounds.length ? bounds[i]! : '+Inf', count: sum });
  }
  return out;
}

function roundMs(s: number): number {
  return Math.round(s * 1000) / 1000;
}

// ---- the wire (peer messages 'session-stats' / 'session-stats-ok') ----

const isObj = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);
const isCount = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;

function countsOk(x: unknown, length: number, total: number): x is number[] {
  if (!Array.isArray(x) || x.length !== length || !x.every(isCount)) return false;
  return x.reduce((a: number, b: number) => a + b, 0) === total;
}

/** A partial from a peer: rejected unless every count is sane and the histograms add up to `active`. */
export function validateSessionStatsPartial(x: unknown, partitionsMax: number): SessionStatsPartial {
  if (
    !isObj(x) || !isCount(x.partitions) || x.partitions > partitionsMax || !isCount(x.active) ||
    !isCount(x.idleMaxMs) || !isCount(x.expired) || !isCount(x.swept) ||
    !countsOk(x.ttlCounts, TTL_BOUNDS_S.length + 1, x.active) ||
    !countsOk(x.idleCounts, IDLE_BOUNDS_S.length + 1, x.active)
  ) {
    throw new BadRequestError('malformed session stats');
  }
  return {
    partitions: x.partitions, active: x.active, ttlCounts: x.ttlCounts, idleCounts: x.idleCounts,
    idleMaxMs: x.idleMaxMs, expired: x.expired, swept: x.swept,
  };
}

/** A stats request from a peer: distinct partitions of this ring and a plausible time. */
export function validateSessionStatsRequest(x: unknown, q: number): { partitions: PartitionId[]; nowMs: number } {
  if (!isObj(x) || !isCount(x.nowMs) || !Array.isArray(x.partitions) || x.partitions.length > q) {
    throw new BadRequestError('malformed session stats request');
  }
  const seen = new Set<number>();
  for (const p of x.partitions as unknown[]) {
    if (!Number.isSafeInteger(p) || (p as number) < 0 || (p as number) >= q || seen.has(p as number)) {
      throw new BadRequestError('malformed session stats request (partitions)');
    }
    seen.add(p as number);
  }
  return { partitions: [...seen].map(asPartitionId), nowMs: x.nowMs };
}
