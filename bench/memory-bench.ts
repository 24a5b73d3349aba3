/**
 * Memory and disk per stored session (issue 6 "Memory"): one node's storage
 * engine (SqliteStorage, the one a node runs) loaded with --sessions
 * sessions (default 1,000,000), in this process, measuring
 *
 *   - RAM: RSS and V8 heap after a full GC, before and after the load, per
 *     session; again after the anti-entropy hash trees over every partition
 *     are built (a node keeps them, built lazily by anti-entropy);
 *   - disk: the SQLite file (after close, so the WAL is checkpointed) per
 *     session;
 *   - restart: how long open() takes to load them all back, and the RAM a
 *     freshly restarted node holds.
 *
 * Sessions are the session CRDT a node stores (crdt/session.ts, written
 * by sessionWrite with the fields of the session benchmark: cookie, user,
 * views, data; ~300 bytes of JSON by default), each passed through msgpack
 * once as it would arrive off the wire, so no two share strings.
 *
 *   node dist/bench/memory-bench.js [--sessions 1000000] [--value-bytes 300] [--keep]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { pack, unpack } from 'msgpackr';
import { asPartitionId } from '../src/core/ids';
import { emptySession, sessionWrite } from '../src/crdt/session';
import type { StoredObject } from '../src/crdt/stored-object';
import { partitionOf } from '../src/ring/partitioner';
import { PartitionTrees } from '../src/replication/anti-entropy/partition-trees';
import { SqliteStorage } from '../src/storage/sqlite-storage';
import { DEFAULT_CONFIG } from '../src/core/config';
import { makeSession, sessionId } from './session-workload';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

interface Mem { rss: number; heapUsed: number; external: number; arrayBuffers: number }

function settledMemory(): Mem {
  for (let i = 0; i < 3; i++) gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
}

const mb = (b: number): string => `${(b / 1e6).toFixed(1)} MB`;
const per = (b: number, n: number): string => `${Math.round(b / n)} B`;

function storedSession(i: number, valueBytes: number, nowMs: number): StoredObject {
  const fields = makeSession(i, valueBytes, 1, new Date(nowMs + 3_600_000).toISOString()) as Record<string, unknown>;
  const s = sessionWrite(emptySession(), { set: fields, expiresAtMs: nowMs + 1_800_000 + (i % 600_000) }, nowMs * 1000 + (i % 1000), 'n1', nowMs);
  // As it arrives off the wire: fresh strings, nothing shared between sessions.
  return unpack(pack({ kind: 'session', s })) as StoredObject;
}

async function main(): Promise<void> {
  const sessions = arg('sessions', 1_000_000);
  const valueBytes = arg('value-bytes', 300);
  const q = DEFAULT_CONFIG.partitions;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringstore-membench-'));
  const file = path.join(dir, 'ringstore.db');
  const out = (s: string): void => { process.stdout.write(`${s}\n`); };
  const sample = storedSession(0, valueBytes, Date.now());
  out(`memory bench: ${sessions} sessions of ~${valueBytes} B JSON (${pack(sample).length} B as stored msgpack), SqliteStorage at ${file}`);
  out(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? '?'}, node ${process.version}`);
  try {
    await loadPhase(file, sessions, valueBytes, q, out);
    // Restart: a fresh engine loads everything back into memory (the first
    // engine and its trees are garbage now).
    const beforeOpen = settledMemory();
    const r0 = performance.now();
    const reopened = await SqliteStorage.open<StoredObject>(file);
    const reopenS = (performance.now() - r0) / 1000;
    const afterOpen = settledMemory();
    out(`restart: open() loaded ${reopened.size()} sessions in ${reopenS.toFixed(1)} s (${Math.round(reopened.size() / reopenS)} /s); ` +
      `RSS +${mb(afterOpen.rss - beforeOpen.rss)} (${per(afterOpen.rss - beforeOpen.rss, sessions)} per session), ` +
      `heap +${mb(afterOpen.heapUsed - beforeOpen.heapUsed)}; process RSS now ${mb(afterOpen.rss)}`);
    await reopened.close();
  } finally {
    if (!process.argv.includes('--keep')) fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function loadPhase(file: string, sessions: number, valueBytes: number, q: number, out: (s: string) => void): Promise<void> {
  {
    const storage = await SqliteStorage.open<StoredObject>(file);
    const before = settledMemory();
    const nowMs = Date.now();
    const t0 = performance.now();
    let pending: Array<Promise<void>> = [];
    for (let i = 0; i < sessions; i++) {
      const key = `sess:${sessionId(i)}`;
      const obj = storedSession(i, valueBytes, nowMs);
      pending.push(storage.put(key, obj, { partition: partitionOf(key, q), expiresAtMs: (obj as { s: { expiresAtMs: number } }).s.expiresAtMs }));
      if (pending.length >= 10_000) {
        await Promise.all(pending);
        pending = [];
        if (i % 100_000 === 99_999) process.stderr.write(`  ${i + 1} loaded, ${Math.round((i + 1) / ((performance.now() - t0) / 1000))} sessions/s\n`);
      }
    }
    await Promise.all(pending);
    const loadS = (performance.now() - t0) / 1000;
    const loaded = settledMemory();
    out(`load: ${loadS.toFixed(1)} s (${Math.round(sessions / loadS)} sessions/s, durable, group commit)`);
    out(`RAM after load: RSS +${mb(loaded.rss - before.rss)} (${per(loaded.rss - before.rss, sessions)} per session), ` +
      `V8 heap +${mb(loaded.heapUsed - before.heapUsed)} (${per(loaded.heapUsed - before.heapUsed, sessions)} per session), ` +
      `external +${mb(loaded.external - before.external)}`);

    const treesT0 = performance.now();
    const trees = new PartitionTrees(storage, {
      partitions: q, shape: { fanout: DEFAULT_CONFIG.antiEntropyTreeFanout, depth: DEFAULT_CONFIG.antiEntropyTreeDepth }, rebuildMs: 3_600_000,
    });
    // As the node builds them (anti-entropy-service.ts): in slices, yielding between.
    let sliceStarted = performance.now();
    let sliceMaxMs = 0;
    const yieldTurn = (): Promise<void> => {
      sliceMaxMs = Math.max(sliceMaxMs, performance.now() - sliceStarted);
      return new Promise((resolve) => setImmediate(() => { sliceStarted = performance.now(); resolve(); }));
    };
    const loop = monitorEventLoopDelay({ resolution: 1 });
    let gcMaxMs = 0;
    let gcMaxKind = 0;
    const gcWatch = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        if (e.duration > gcMaxMs) {
          gcMaxMs = e.duration;
          gcMaxKind = (e as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0;
        }
      }
    });
    gcWatch.observe({ entryTypes: ['gc'] });
    loop.enable();
    for (let p = 0; p < q; p++) {
      sliceStarted = performance.now();
      await trees.prepare(asPartitionId(p), () => nowMs, yieldTurn);
      sliceMaxMs = Math.max(sliceMaxMs, performance.now() - sliceStarted);
    }
    loop.disable();
    gcWatch.disconnect();
    const treesS = (performance.now() - treesT0) / 1000;
    const withTrees = settledMemory();
    out(`anti-entropy hash trees over every partition: built in ${treesS.toFixed(1)} s, RSS +${mb(withTrees.rss - loaded.rss)} ` +
      `(${per(withTrees.rss - loaded.rss, sessions)} per session), heap +${mb(withTrees.heapUsed - loaded.heapUsed)}`);
    out(`tree builds held the event loop at most ${sliceMaxMs.toFixed(1)} ms per slice; event-loop delay max ` +
      `${(loop.max / 1e6).toFixed(1)} ms, p99 ${(loop.percentile(99) / 1e6).toFixed(1)} ms (monitorEventLoopDelay, GC included); longest GC pause ${gcMaxMs.toFixed(1)} ms ` +
      `(${gcMaxKind === 1 ? 'scavenge' : gcMaxKind === 2 ? 'mark-compact' : `kind ${gcMaxKind}`})`);
    const total = withTrees.rss - before.rss;
    out(`RAM per stored session, records plus trees: ${per(total, sessions)} (RSS)`);

    await storage.close();
    const dbBytes = fs.statSync(file).size;
    const walBytes = fs.existsSync(`${file}-wal`) ? fs.statSync(`${file}-wal`).size : 0;
    out(`disk: ${mb(dbBytes + walBytes)} (${per(dbBytes + walBytes, sessions)} per session; WAL ${mb(walBytes)})`);
  }
}

if (require.main === module) {
  main().then(() => process.exit(0), (err: unknown) => {
    process.stderr.write(`memory-bench: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  });
}
