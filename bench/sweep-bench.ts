/**
 * TTL sweep benchmark (issue 5 part 2; docs/sessions-ttl.md): the largest
 * event-loop pause while one replica sweeps 1,000,000 expired sessions in
 * one go, with the node's own sweeper (node/ttl-sweeper.ts) over
 * MemoryStorage or SqliteStorage.
 *
 *   node dist/bench/sweep-bench.js [--sessions 1000000] [--engine memory|sqlite]
 *                                  [--batch 500] [--spread-ms 0]
 *
 * `--spread-ms 0` (the default, the worst case) gives every session the same
 * expiry instant, so the whole million lands in one expiry-index bucket and
 * one sweep run must remove all of it; a larger spread gives them expiries
 * spaced evenly over that many ms. The sessions are loaded first (not
 * measured), the manual clock is moved past every expiry, then one sweep
 * runs while perf_hooks.monitorEventLoopDelay (1 ms resolution) and a GC
 * observer watch. Printed, as JSON: the sweep's own batches (wall time of
 * the synchronous work between two yields: max, p99, p50, how many took
 * over 10 ms), the event loop's largest delay
 * during the sweep (which also holds GC pauses and, on a busy machine, time
 * the process was not scheduled), the longest GC pause, and an idle
 * baseline of the same delay measured just before.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';
import { ManualClock } from '../src/core/clock';
import { asPartitionId } from '../src/core/ids';
import { emptySession, sessionWrite } from '../src/crdt/session';
import type { StoredObject } from '../src/crdt/stored-object';
import { partitionOf } from '../src/ring/partitioner';
import { MemoryStorage } from '../src/storage/memory-storage';
import { SqliteStorage } from '../src/storage/sqlite-storage';
import { TtlSweeper, type SweepStorage } from '../src/node/ttl-sweeper';

const T0 = 1_700_000_000_000;
/** perf_hooks GC entry detail.kind (constants.NODE_PERFORMANCE_GC_*). */
const GC_KINDS: Record<number, string> = { 1: 'minor', 2: 'major', 4: 'incremental', 8: 'weakcb' };
const Q = 256;

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
}

/** A session as sessionWrite builds it (checked for one below), built directly: loading stays quick. */
function session(i: number, expiresAtMs: number): StoredObject {
  const t = T0 * 4 + i;
  return {
    kind: 'session',
    s: {
      fields: {
        cart: { v: `sku-${i % 97}`, t, n: 'n1' },
        csrf: { v: 'x'.repeat(64), t, n: 'n1' },
        user: { v: `user-${i}`, t, n: 'n1' },
      },
      expiresAtMs,
      touchedAtMs: T0 - 60_000,
      destroyed: false,
    },
  };
}

function sameShapeAsSessionWrite(): boolean {
  const built = sessionWrite(emptySession(), {
    set: { user: 'user-7', csrf: 'x'.repeat(64), cart: 'sku-7' }, expiresAtMs: T0,
  }, T0 * 4 + 7, 'n1', T0 - 60_000);
  return JSON.stringify({ kind: 'session', s: built }) === JSON.stringify(session(7, T0));
}

function pct(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? Math.round(s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]! * 100) / 100 : 0;
}

function ms(ns: number): number {
  return Math.round(ns / 1e4) / 100;
}

async function idleBaseline(durationMs: number): Promise<number> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  await new Promise((r) => setTimeout(r, durationMs));
  h.disable();
  return ms(h.max);
}

async function main(): Promise<void> {
  const sessions = Number(arg('sessions', '1000000'));
  const engine = arg('engine', 'memory');
  const batchMax = Number(arg('batch', '500'));
  const spreadMs = Number(arg('spread-ms', '0'));
  if (engine !== 'memory' && engine !== 'sqlite') throw new Error('--engine must be memory or sqlite');
  if (!sameShapeAsSessionWrite()) throw new Error('bench sessions no longer look like sessionWrite output');

  let dir: string | null = null;
  let storage: SweepStorage & { put: MemoryStorage<StoredObject>['put']; size(): number; close(): Promise<void> };
  if (engine === 'sqlite') {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringstore-sweep-bench-'));
    storage = await SqliteStorage.open<StoredObject>(path.join(dir, 'bench.db'));
  } else {
    storage = new MemoryStorage<StoredObject>();
  }

  const loadStarted = performance.now();
  const CHUNK = 20_000;
  for (let start = 0; start < sessions; start += CHUNK) {
    const writes: Array<Promise<void>> = [];
    for (let i = start; i < Math.min(sessions, start + CHUNK); i++) {
      const exp = T0 + (spreadMs > 0 ? Math.floor((i * spreadMs) / sessions) : 0);
      const key = `sess:${i.toString(36)}`;
      writes.push(storage.put(key, session(i, exp), { partition: asPartitionId(partitionOf(key, Q)), expiresAtMs: exp }));
    }
    await Promise.all(writes);
  }
  const loadMs = Math.round(performance.now() - loadStarted);
  if (storage.size() !== sessions) throw new Error(`loaded ${storage.size()} of ${sessions}`);

  const baselineMaxMs = await idleBaseline(2000);

  const clock = new ManualClock(T0 + spreadMs + 2000);
  const batchMs: number[] = [];
  const sweeper = new TtlSweeper({ storage, clock, batchMax, onBatch: (b) => batchMs.push(b.pauseMs) });
  let gcMaxMs = 0;
  const gcByKind: Record<string, { count: number; maxMs: number; totalMs: number }> = {};
  const gcObs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcMaxMs = Math.max(gcMaxMs, e.duration);
      const kind = GC_KINDS[(e as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0] ?? 'other';
      const k = (gcByKind[kind] ??= { count: 0, maxMs: 0, totalMs: 0 });
      k.count++;
      k.maxMs = Math.max(k.maxMs, Math.round(e.duration * 100) / 100);
      k.totalMs = Math.round((k.totalMs + e.duration) * 100) / 100;
    }
  });
  gcObs.observe({ entryTypes: ['gc'] });
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const started = performance.now();
  const r = await sweeper.sweep();
  const sweepMs = performance.now() - started;
  h.disable();
  gcObs.disconnect();
  if (storage.size() !== 0 || r.expired !== sessions) throw new Error(`swept ${r.expired}, ${storage.size()} left`);

  await storage.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  const out = {
    sessions,
    engine,
    batchMax,
    spreadMs,
    loadMs,
    sweepMs: Math.round(sweepMs),
    sweptPerSec: Math.round((sessions * 1000) / sweepMs),
    batches: r.batches,
    batchMs: {
      max: Math.round(r.maxPauseMs * 100) / 100,
      p99: pct(batchMs, 0.99),
      p50: pct(batchMs, 0.5),
      over10ms: batchMs.filter((x) => x > 10).length,
    },
    eventLoopDelayMs: { max: ms(h.max), p99: ms(h.percentile(99)), p50: ms(h.percentile(50)), mean: ms(h.mean) },
    longestGcMs: Math.round(gcMaxMs * 100) / 100,
    gcByKind,
    idleBaselineMaxMs: baselineMaxMs,
    node: process.version,
    loadavg: os.loadavg().map((x) => Math.round(x * 10) / 10),
  };
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}

main().catch((err) => {
  process.stderr.write(`sweep-bench: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
