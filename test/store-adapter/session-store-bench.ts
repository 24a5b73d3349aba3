/**
 * Session store benchmark (issue 5 "Figures"; DESIGN.md Reference figures):
 * the express-session Store interface driven directly, `inflight` loops each
 * loading a session (get) and saving it with one field changed (set), so
 * 50% get / 50% set, for a fixed time; ops/s and latency percentiles per
 * operation. RingstoreSessionStore runs against a local 3-node cluster of
 * real node processes (SQLite, N=3, R=W=2); side by side in the same run,
 * connect-redis against a local redis-server (no persistence) when one is
 * installed, so the ratio can be compared across machines.
 *
 *   node dist/test/store-adapter/session-store-bench.js [--seconds 5] [--inflight 64] [--sessions 2000] [--no-redis]
 */
import { spawn } from 'node:child_process';
import type session from 'express-session';
import { RingstoreSessionStore } from '../../store-adapter';
import { ProcessCluster, freePorts, sleep, waitFor } from '../cluster/process-cluster';

type Store = session.Store;
type Data = session.SessionData & Record<string, unknown>;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const SECONDS = arg('seconds', 5);
const INFLIGHT = arg('inflight', 64);
const SESSIONS = arg('sessions', 2000);

function sessionFor(i: number): Data {
  return {
    cookie: { originalMaxAge: 3_600_000, expires: new Date(Date.now() + 3_600_000).toISOString(), httpOnly: true, path: '/' },
    user: `user-${i}`,
    cart: ['sku-1', 'sku-2', 'sku-3'],
    views: 0,
  } as unknown as Data;
}

const call = <T>(fn: (cb: (err: unknown, v?: T) => void) => void): Promise<T | undefined> =>
  new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));

function pct(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function run(name: string, store: Store): Promise<void> {
  for (let i = 0; i < SESSIONS; i += 100) {
    await Promise.all(Array.from({ length: Math.min(100, SESSIONS - i) }, (_, j) => call<void>((cb) => store.set(`bench-${i + j}`, sessionFor(i + j), cb))));
  }
  const gets: number[] = [];
  const sets: number[] = [];
  let errors = 0;
  const deadline = Date.now() + SECONDS * 1000;
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: INFLIGHT }, async (_, w) => {
    for (let k = w; Date.now() < deadline; k += INFLIGHT) {
      const sid = `bench-${(k * 7919) % SESSIONS}`;
      try {
        let t = process.hrtime.bigint();
        const s = ((await call<session.SessionData | null>((cb) => store.get(sid, cb))) ?? sessionFor(0)) as Data;
        gets.push(Number(process.hrtime.bigint() - t) / 1e6);
        s.views = Number(s.views ?? 0) + 1;
        t = process.hrtime.bigint();
        await call<void>((cb) => store.set(sid, s, cb));
        sets.push(Number(process.hrtime.bigint() - t) / 1e6);
      } catch {
        errors++;
      }
    }
  }));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const all = [...gets, ...sets].sort((a, b) => a - b);
  gets.sort((a, b) => a - b);
  sets.sort((a, b) => a - b);
  const f = (x: number): string => x.toFixed(2);
  console.log(`${name}: ${Math.round(all.length / secs)} ops/s (${INFLIGHT} in flight, 50% get / 50% set, ${SECONDS} s, ${errors} errors)`);
  console.log(`  all  p50 ${f(pct(all, 50))} ms  p99 ${f(pct(all, 99))} ms`);
  console.log(`  get  p50 ${f(pct(gets, 50))} ms  p99 ${f(pct(gets, 99))} ms  (${gets.length})`);
  console.log(`  set  p50 ${f(pct(sets, 50))} ms  p99 ${f(pct(sets, 99))} ms  (${sets.length})`);
}

async function ringstore(): Promise<void> {
  const cluster = await ProcessCluster.create({ nodes: 3 });
  cluster.startAll();
  try {
    await cluster.waitConverged();
    const store = new RingstoreSessionStore({ nodes: cluster.specs.map((s) => cluster.addr(s.id)) });
    await store.client.ready();
    await waitFor('all nodes connected', () => store.client.connections().filter((c) => c.state === 'open').length === 3, 10_000, 20);
    await run('ringstore (3 node processes, N=3 R=2 W=2)', store);
    await store.close();
  } finally {
    await cluster.stopAll();
    cluster.cleanup();
  }
}

async function redis(): Promise<void> {
  const [port] = await freePorts(1);
  const server = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const failed = new Promise<never>((_, reject) => server.once('error', reject));
  try {
    await Promise.race([failed, sleep(300)]);
    /* eslint-disable @typescript-eslint/no-require-imports */
    const { createClient } = require('redis') as typeof import('redis');
    const { RedisStore } = require('connect-redis') as { RedisStore: new (o: object) => Store };
    const client = createClient({ url: `redis://127.0.0.1:${port}` });
    await client.connect();
    await run('connect-redis (redis-server, no persistence)', new RedisStore({ client, prefix: 'sess:' }));
    await client.quit();
  } finally {
    server.kill('SIGKILL');
  }
}

async function main(): Promise<void> {
  await ringstore();
  if (!process.argv.includes('--no-redis')) {
    try {
      await redis();
    } catch (err) {
      console.log(`connect-redis: skipped (${(err as Error).message})`);
    }
  }
}

main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
