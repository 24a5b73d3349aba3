/**
 * The TTL sweep of every replica (DESIGN.md Data model: session; issue 5
 * part 2; docs/sessions-ttl.md): every `sweepIntervalMs` the node removes
 * its expired session records, in batches of at most `sweepBatchMax`,
 * yielding to the event loop (setImmediate) between batches so that no
 * request waits behind more than one batch. Like Cassandra's per-replica
 * expiry, there is no coordination between replicas: an expired session
 * reads as absent everywhere at once, so the sweep only reclaims space.
 *
 * One batch, all synchronous (so no write can slip in between the check and
 * the removal): ask the storage's expiry index for up to sweepBatchMax keys,
 * let the pure planner (replication/ttl-sweep.ts) pick the records whose
 * own expiry has passed, remove them from memory and queue their durable
 * deletion. The next batch starts once that deletion has committed (the
 * sweep never outruns the disk) and the event loop has had its turn.
 *
 * Each removal is counted in a per-partition SweepWindow, which the stats
 * query reads to report expired and swept per minute with each session
 * counted once (replication/sweep-window.ts). A record can come back after
 * its sweep: read repair, hinted handoff or anti-entropy may hand over the
 * expired copy of a replica that has not swept yet. Its expiry is then at or
 * before the cutoff of this node's last complete run, or before the index
 * bucket a run in progress has reached, and everything up to there was
 * removed once already; or the run in progress removed that very key (a run
 * remembers up to RUN_KEYS_MAX of them). Such a record is removed again but
 * counted only as `returned`, so a session's expiry is counted once per
 * replica. (Beyond RUN_KEYS_MAX removals in one run, a copy handed back
 * while its own one-second bucket is still being swept counts twice.)
 */
import { performance } from 'node:perf_hooks';
import { assert } from '../core/assert';
import type { Clock } from '../core/clock';
import type { RecordMeta } from '../core/storage-port';
import type { StoredObject } from '../crdt/stored-object';
import { SweepWindow } from '../replication/sweep-window';
import { planSweep, sweepHorizonMs } from '../replication/ttl-sweep';
import { Counter, Histogram } from 'prom-client';
import type { FeatureHost } from './feature-host';

/** Keys one run remembers having removed (a Set of this size rehashes in well under a millisecond). */
export const RUN_KEYS_MAX = 50_000;

/** What the sweep needs of a storage engine (MemoryStorage and SqliteStorage both fit). */
export interface SweepStorage {
  get(key: string): StoredObject | undefined;
  metaOf(key: string): RecordMeta | undefined;
  remove(key: string): Promise<void>;
  expiredKeys(nowMs: number, limit: number): string[];
}

export interface SweepBatchInfo {
  expired: number;
  destroyed: number;
  /** Of those, records this node had already swept once (see the module comment). */
  returned: number;
  /** Keys the index offered that were not removable (see SweepPlan.keep). */
  kept: number;
  /** How long the batch held the event loop, in ms. */
  pauseMs: number;
}

export interface SweepRunResult {
  expired: number;
  destroyed: number;
  returned: number;
  kept: number;
  batches: number;
  /** The longest batch of the run, in ms. */
  maxPauseMs: number;
}

export interface TtlSweeperOptions {
  storage: SweepStorage;
  clock: Clock;
  batchMax: number;
  window?: SweepWindow;
  /** Width of the storage's expiry-index buckets (storage/expiry-index.ts); default 1000. */
  indexBucketMs?: number;
  onBatch?: (info: SweepBatchInfo) => void;
  /** A failed removal: the run stops; the record is swept again after a restart. */
  onError?: (err: unknown) => void;
}

export interface SweepTotals {
  runs: number;
  batches: number;
  expired: number;
  destroyed: number;
  returned: number;
  kept: number;
  errors: number;
}

export class TtlSweeper {
  readonly window: SweepWindow;
  readonly totals: SweepTotals = { runs: 0, batches: 0, expired: 0, destroyed: 0, returned: 0, kept: 0, errors: 0 };
  /** Every record expiring at or before this has been removed once (by a complete run, or by whole buckets). */
  private cleanUpToMs = Number.NEGATIVE_INFINITY;
  /** Keys removed by the run in progress (at most RUN_KEYS_MAX). */
  private readonly removedThisRun = new Set<string>();
  private current: Promise<SweepRunResult> | null = null;
  private stopped = false;
  private readonly bucketMs: number;

  constructor(private readonly o: TtlSweeperOptions) {
    assert(Number.isSafeInteger(o.batchMax) && o.batchMax > 0, `sweepBatchMax must be a positive integer, got ${o.batchMax}`);
    this.window = o.window ?? new SweepWindow();
    this.bucketMs = o.indexBucketMs ?? 1000;
  }

  /** Sweep until nothing expired is left; a call during a run shares that run. */
  sweep(): Promise<SweepRunResult> {
    if (this.current === null) {
      this.current = this.run().finally(() => {
        this.current = null;
      });
    }
    return this.current;
  }

  /** Whether a run is in progress. */
  get running(): boolean {
    return this.current !== null;
  }

  /** Stop after the batch in progress; resolves once the sweep has let go of the storage. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.current !== null) await this.current;
  }

  private async run(): Promise<SweepRunResult> {
    const { storage, clock, batchMax } = this.o;
    const result: SweepRunResult = { expired: 0, destroyed: 0, returned: 0, kept: 0, batches: 0, maxPauseMs: 0 };
    this.totals.runs += 1;
    this.removedThisRun.clear();
    while (!this.stopped) {
      const started = performance.now();
      const nowMs = clock.nowMs();
      const cutoffMs = sweepHorizonMs(nowMs, this.bucketMs);
      const keys = storage.expiredKeys(cutoffMs, batchMax);
      if (keys.length === 0) {
        // Everything up to cutoffMs is gone: a record expiring by then that
        // shows up later has been swept here before.
        this.cleanUpToMs = Math.max(this.cleanUpToMs, cutoffMs);
        break;
      }
      const plan = planSweep(keys.map((key) => ({ key, obj: storage.get(key) })), nowMs);
      const removals: Array<Promise<void>> = [];
      let expired = 0;
      let destroyed = 0;
      let returned = 0;
      let latestMs = Number.NEGATIVE_INFINITY;
      for (const { key, reason, expiresAtMs } of plan.remove) {
        const partition = storage.metaOf(key)!.partition;
        removals.push(storage.remove(key));
        if (reason === 'expired') expired += 1;
        else destroyed += 1;
        if (expiresAtMs <= this.cleanUpToMs || this.removedThisRun.has(key)) {
          returned += 1;
        } else {
          this.window.record(partition, reason, nowMs);
          if (this.removedThisRun.size < RUN_KEYS_MAX) this.removedThisRun.add(key);
        }
        if (expiresAtMs > latestMs) latestMs = expiresAtMs;
      }
      // The index hands out whole buckets, oldest first: every bucket before
      // the one this batch ended in is now empty, even within a long run.
      if (plan.remove.length > 0) {
        this.cleanUpToMs = Math.max(this.cleanUpToMs, Math.floor(latestMs / this.bucketMs) * this.bucketMs - 1);
      }
      const pauseMs = performance.now() - started;
      result.batches += 1;
      result.expired += expired;
      result.destroyed += destroyed;
      result.returned += returned;
      result.kept += plan.keep.length;
      result.maxPauseMs = Math.max(result.maxPauseMs, pauseMs);
      this.totals.batches += 1;
      this.totals.expired += expired;
      this.totals.destroyed += destroyed;
      this.totals.returned += returned;
      this.totals.kept += plan.keep.length;
      this.o.onBatch?.({ expired, destroyed, returned, kept: plan.keep.length, pauseMs });
      // Only unremovable keys left at the head of the index: asking again
      // would return the same ones forever.
      if (plan.remove.length === 0) break;
      try {
        await Promise.all(removals);
      } catch (err) {
        this.totals.errors += 1;
        this.o.onError?.(err);
        break;
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    // Past this run, cleanUpToMs covers what it completed.
    this.removedThisRun.clear();
    return result;
  }
}

/** Install the sweep on a node: timer, metrics, close hook. Returns it for the stats API. */
export function installTtlSweeper(host: FeatureHost): TtlSweeper {
  const registry = host.metrics.registry;
  const removed = new Counter({
    name: 'ringstore_sweep_removed_total',
    help: 'Session records removed by this node\'s TTL sweeps, by reason (expired session or destroyed tombstone)',
    labelNames: ['reason'], registers: [registry],
  });
  const returned = new Counter({
    name: 'ringstore_sweep_returned_total',
    help: 'Of the removed records, those this node had swept before (handed back by read repair, hints or anti-entropy)',
    registers: [registry],
  });
  const kept = new Counter({
    name: 'ringstore_sweep_kept_total',
    help: 'Keys the expiry index offered that were not removable (index and object disagree)',
    registers: [registry],
  });
  const runs = new Counter({ name: 'ringstore_sweep_runs_total', help: 'TTL sweep runs', registers: [registry] });
  const errors = new Counter({ name: 'ringstore_sweep_errors_total', help: 'TTL sweep runs stopped by a storage error', registers: [registry] });
  const pause = new Histogram({
    name: 'ringstore_sweep_batch_pause_seconds',
    help: 'How long one sweep batch held the event loop',
    buckets: [0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1],
    registers: [registry],
  });
  let warnedKept = false;
  const sweeper = new TtlSweeper({
    storage: host.storage,
    clock: host.clock,
    batchMax: host.config.sweepBatchMax,
    onBatch: (b) => {
      if (b.expired > 0) removed.inc({ reason: 'expired' }, b.expired);
      if (b.destroyed > 0) removed.inc({ reason: 'destroyed' }, b.destroyed);
      if (b.returned > 0) returned.inc(b.returned);
      if (b.kept > 0) {
        kept.inc(b.kept);
        if (!warnedKept) host.logger.warn({ kept: b.kept }, 'sweep: expiry index offered keys that are not expired sessions');
        warnedKept = true;
      }
      pause.observe(b.pauseMs / 1000);
    },
    onError: (err) => {
      errors.inc();
      host.logger.error({ err }, 'sweep: removal failed; the run stopped');
    },
  });
  // Zero series from the start, so a dashboard shows 0 rather than nothing.
  removed.inc({ reason: 'expired' }, 0);
  removed.inc({ reason: 'destroyed' }, 0);
  host.every(host.config.sweepIntervalMs, () => {
    // A run still going (a million sessions expiring at once) just goes on.
    if (sweeper.running) return;
    runs.inc();
    sweeper.sweep().catch((err) => host.logger.error({ err }, 'sweep: run failed'));
  });
  host.onClose(() => sweeper.stop());
  return sweeper;
}
