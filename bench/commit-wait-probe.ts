/**
 * The commit wait of SqliteStorage alone, at a light node's write rate:
 * `rows` puts every `everyMs` ms, each timed from put() to its promise (the
 * group commit it joined), with synchronous=FULL and NORMAL, twice each in
 * turn. It isolates the part of a write's latency that `--sqlite-sync`
 * changes (docs/benchmarks.md, "Local sets: --sqlite-sync full vs normal").
 *
 *   node dist/bench/commit-wait-probe.js [seconds per run, default 5]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { asPartitionId } from '../src/core/ids';
import { SqliteStorage, type SqliteSynchronous } from '../src/storage/sqlite-storage';
import { sleep } from './bench-cluster';
import { summarize } from './latency-stats';

/** ~250 commits/s of ~5 rows: what a node of the regions benchmark commits at 8 callers. */
const ROWS = 5;
const EVERY_MS = 4;

async function run(level: SqliteSynchronous, seconds: number): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'commit-wait-'));
  const s = await SqliteStorage.open<{ v: string; i: number }>(path.join(dir, 'ringstore.db'), { synchronous: level });
  const latUs: number[] = [];
  const pending: Promise<void>[] = [];
  let i = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    for (let k = 0; k < ROWS; k++) {
      const t0 = performance.now();
      pending.push(s.put(`k${i++ % 5000}`, { v: 'x'.repeat(300), i }, { partition: asPartitionId(0), expiresAtMs: null })
        .then(() => { latUs.push((performance.now() - t0) * 1000); }));
    }
    await sleep(EVERY_MS);
  }
  await Promise.all(pending);
  await s.close();
  fs.rmSync(dir, { recursive: true, force: true });
  const x = summarize(Float64Array.from(latUs));
  process.stdout.write(`${level}: ${x.count} puts, commit wait p50 ${x.p50Ms.toFixed(2)} ms p99 ${x.p99Ms.toFixed(2)} ms ` +
    `max ${x.maxMs.toFixed(2)} ms; loadavg ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 5);
  if (!(seconds > 0)) throw new Error('seconds must be a positive number');
  for (const level of ['FULL', 'NORMAL', 'FULL', 'NORMAL'] as const) await run(level, seconds);
}

if (require.main === module) {
  main().then(() => process.exit(0), (err: unknown) => {
    process.stderr.write(`commit-wait-probe: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  });
}
