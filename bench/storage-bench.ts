/**
 * Storage benchmark: rows/s of SqliteStorage's group commit (DESIGN.md layer
 * 5, "Reference figures") for 100,000 puts of ~300-byte session-like values,
 * with synchronous=FULL and NORMAL, in two shapes:
 *   - all at once: every put issued before the first commit (bulk load,
 *     handoff of a whole partition);
 *   - 256 in flight: each finished put starts the next, as a node serving
 *     256 concurrent requests would (batches are then ~256 rows).
 *
 * Run after building: `node dist/bench/storage-bench.js [puts]`.
 * Each run uses a fresh file in a temp dir, removed at the end, after one
 * untimed warm-up run. On the 2-core machine the put path (msgpack encode,
 * memory indexes) and sqlite3's parameter binding share the main thread,
 * while SQLite itself runs on a worker thread.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pack } from 'msgpackr';
import { asPartitionId } from '../src/core/ids';
import { SqliteStorage, type SqliteSynchronous } from '../src/storage/sqlite-storage';

interface SessionLike {
  fields: Record<string, { v: string; ts: number; node: string }>;
  expiresAtMs: number;
}

function valueFor(i: number): SessionLike {
  return {
    fields: {
      user: { v: `user-${i}`, ts: 1_700_000_000_000 + i, node: 'node-1' },
      cart: { v: `sku-${i % 97}:2,sku-${i % 13}:1`, ts: 1_700_000_000_000 + i, node: 'node-2' },
      csrf: { v: 'x'.repeat(120), ts: 1_700_000_000_000 + i, node: 'node-1' },
      flash: { v: 'y'.repeat(40), ts: 1_700_000_000_000 + i, node: 'node-3' },
    },
    expiresAtMs: 1_700_000_000_000 + 1_800_000 + i,
  };
}

interface Result {
  rowsPerSec: number;
  commits: number;
  ms: number;
}

async function run(file: string, puts: number, synchronous: SqliteSynchronous, inFlight: number | 'all'): Promise<Result> {
  const s = await SqliteStorage.open<SessionLike>(file, { synchronous });
  const values = Array.from({ length: puts }, (_, i) => valueFor(i));
  const put = (i: number): Promise<void> =>
    s.put(`sess:${i}`, values[i]!, { partition: asPartitionId(i % 256), expiresAtMs: values[i]!.expiresAtMs });
  const t0 = performance.now();
  if (inFlight === 'all') {
    await Promise.all(values.map((_, i) => put(i)));
  } else {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < puts) await put(next++);
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
  }
  const ms = performance.now() - t0;
  const { commits, rowsWritten } = s.stats();
  await s.close();
  if (rowsWritten !== puts) throw new Error(`wrote ${rowsWritten} rows, expected ${puts}`);
  return { rowsPerSec: Math.round((puts / ms) * 1000), commits, ms: Math.round(ms) };
}

async function main(): Promise<void> {
  const puts = Number(process.argv[2] ?? 100_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringstore-bench-'));
  try {
    console.log(`${puts} puts, value ${pack(valueFor(0)).length} bytes msgpack-encoded, node ${process.version}`);
    console.log('synchronous  in flight   rows/s    commits  rows/commit  ms');
    // Warm-up: let V8 optimise the put path before anything is timed.
    await run(path.join(dir, 'warmup.db'), Math.min(puts, 20_000), 'NORMAL', 'all');
    let n = 0;
    for (const synchronous of ['FULL', 'NORMAL'] as const) {
      for (const inFlight of ['all', 256] as const) {
        const r = await run(path.join(dir, `bench-${n++}.db`), puts, synchronous, inFlight);
        console.log(
          `${synchronous.padEnd(11)}  ${String(inFlight).padEnd(9)}  ${String(r.rowsPerSec).padStart(7)}  ` +
            `${String(r.commits).padStart(7)}  ${String(Math.round(puts / r.commits)).padStart(11)}  ${r.ms}`,
        );
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
