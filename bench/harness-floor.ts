/**
 * `npm run bench:harness` (issue 15, "the benchmark honest for both sides"):
 * where the difference lies between a minimal Redis loop and connect-redis
 * in `npm run bench`. One process, one fresh redis-server, `callers`
 * concurrent loops, 50/50 get/set of ~300-byte sessions from a pool, the
 * variants alternating round by round (A B C D A B C D):
 *
 *   no-op store   the bench harness (session-workload.ts) against a Store
 *                 that answers at once: the harness's own CPU per operation;
 *   raw redis     GET / SET EX of a prepared string with node-redis, no
 *                 harness, no JSON: the minimal loop;
 *   raw + JSON    the same with JSON.stringify / JSON.parse of the session;
 *   connect-redis the harness through connect-redis's Store, as npm run
 *                 bench drives it.
 *
 * Prints ops/s, the client's CPU ms per operation and redis-server's, per
 * variant. docs/benchmarks.md ("How honest the harness is") reads them.
 *
 *   node dist/bench/harness-floor.js [--callers 64] [--duration 3] [--rounds 2] [--redis everysec|none]
 */
import { performance } from 'node:perf_hooks';
import { Command } from 'commander';
import { Prng } from '../src/core/prng';
import { RedisProcess, type RedisDurability } from './redis-process';
import { makeSession, NoopStore, preload, runWorkload, sessionId, type Store, type WorkloadOptions } from './session-workload';

interface Figures {
  ops: number;
  elapsedMs: number;
  clientCpuMs: number;
  serverCpuMs: number;
}

/** The two node-redis calls the minimal loop makes. */
interface KvClient {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, opts: { EX: number }): Promise<unknown>;
}

/** The minimal loop: `callers` loops of GET / SET EX, no Store, no harness. */
async function rawLoop(client: KvClient, w: WorkloadOptions, json: boolean, expiresIso: string): Promise<Omit<Figures, 'serverCpuMs'>> {
  const rng = new Prng(w.seed);
  const prepared = JSON.stringify(makeSession(0, w.valueBytes, 0, expiresIso));
  let ops = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + w.durationMs;
  await Promise.all(Array.from({ length: w.callers }, async () => {
    while (performance.now() < deadline) {
      const i = rng.int(w.sessions);
      const key = `sess:${sessionId(i)}`;
      if (rng.next() < w.readShare) {
        const v = await client.get(key);
        if (json && v !== null) JSON.parse(v);
      } else {
        const v = json ? JSON.stringify(makeSession(i, w.valueBytes, ops, expiresIso)) : prepared;
        await client.set(key, v, { EX: 1800 });
      }
      ops++;
    }
  }));
  const cpu = process.cpuUsage(cpu0);
  return { ops, elapsedMs: performance.now() - t0, clientCpuMs: (cpu.user + cpu.system) / 1000 };
}

async function main(): Promise<void> {
  const o = new Command()
    .option('--callers <n>', 'concurrent loops', (v) => Number.parseInt(v, 10), 64)
    .option('--duration <s>', 'seconds per round per variant', Number.parseFloat, 3)
    .option('--rounds <n>', 'rounds, alternating the variants', (v) => Number.parseInt(v, 10), 2)
    .option('--sessions <n>', 'sessions in the pool', (v) => Number.parseInt(v, 10), 5000)
    .option('--redis <mode>', 'redis-server durability: everysec, always, none', 'everysec')
    .parse()
    .opts<{ callers: number; duration: number; rounds: number; sessions: number; redis: string }>();
  if (!['everysec', 'always', 'none'].includes(o.redis)) throw new Error('--redis must be everysec, always or none');
  const w: WorkloadOptions = { callers: o.callers, durationMs: o.duration * 1000, readShare: 0.5, valueBytes: 300, sessions: o.sessions, seed: 42 };
  const expiresIso = new Date(Date.now() + 3_600_000).toISOString();
  const redis = await RedisProcess.start(o.redis as RedisDurability);
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { createClient } = require('redis') as typeof import('redis');
  const { RedisStore } = require('connect-redis') as { RedisStore: new (o: object) => Store };
  /* eslint-enable @typescript-eslint/no-require-imports */
  const client = createClient({ url: redis.url });
  client.on('error', (err: Error) => process.stderr.write(`redis client: ${err.message}\n`));
  try {
    await client.connect();
    const store = new RedisStore({ client, prefix: 'sess:' });
    const kv = client as unknown as KvClient;
    await preload(store, w, expiresIso);
    const noop = new NoopStore(makeSession(0, w.valueBytes, 0, expiresIso));
    const variants: Array<{ name: string; run(): Promise<Omit<Figures, 'serverCpuMs'>> }> = [
      { name: 'no-op store (harness alone)', run: () => runWorkload(noop, w, expiresIso) },
      { name: 'raw redis GET/SET', run: () => rawLoop(kv, w, false, expiresIso) },
      { name: 'raw redis + JSON', run: () => rawLoop(kv, w, true, expiresIso) },
      { name: 'connect-redis via harness', run: () => runWorkload(store, w, expiresIso) },
    ];
    const totals = variants.map(() => ({ ops: 0, elapsedMs: 0, clientCpuMs: 0, serverCpuMs: 0 }));
    for (let round = 0; round < o.rounds; round++) {
      for (const [k, v] of variants.entries()) {
        const s0 = redis.cpuMs();
        const f = await v.run();
        const t = totals[k]!;
        t.ops += f.ops;
        t.elapsedMs += f.elapsedMs;
        t.clientCpuMs += f.clientCpuMs;
        t.serverCpuMs += redis.cpuMs() - s0;
      }
    }
    process.stdout.write(`${o.callers} callers, 50% get / 50% set, ~300-byte sessions, ${o.rounds} x ${o.duration} s per variant, alternating; redis ${o.redis}\n`);
    process.stdout.write(`${'variant'.padEnd(30)} ${'ops/s'.padStart(8)} ${'client CPU ms/op'.padStart(17)} ${'redis CPU ms/op'.padStart(16)}\n`);
    for (const [k, v] of variants.entries()) {
      const t = totals[k]!;
      const server = k === 0 ? '-' : (t.serverCpuMs / t.ops).toFixed(4);
      process.stdout.write(
        `${v.name.padEnd(30)} ${Math.round((t.ops / t.elapsedMs) * 1000).toString().padStart(8)} ${(t.clientCpuMs / t.ops).toFixed(4).padStart(17)} ${server.padStart(16)}\n`,
      );
    }
  } finally {
    await client.quit().catch(() => undefined);
    await redis.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
