/**
 * `npm run bench` (issue 6; issue 9 point 4 with --regions): the session
 * workload of session-workload.ts through the express-session Store
 * interface, against a fresh local ringstore cluster (RingstoreSessionStore,
 * real node processes, SQLite on disk, N=3 R=2 W=2 by default) and, side by
 * side, a fresh redis-server through connect-redis. Rounds alternate
 * A B A B so that drift of a shared machine falls on both; the report gives
 * ops/s, p50/p99/p99.9, CPU time per operation of each system, the longest
 * event-loop pause of each node, and the ratio. Results go to
 * artifacts/bench/ as JSON and an SVG chart. docs/benchmarks.md has the
 * figures and how to read them.
 *
 * Three modes:
 *   default          ringstore vs connect-redis
 *   --regions K      K regions with --delay-ms between them (POST /admin/faults on
 *                    every node); a client in region r1 talking to r1's nodes;
 *                    `local` vs `global` consistency
 *   --scale 1,3,5    ringstore alone on clusters of each size (N = min(3, nodes))
 *
 *   node dist/bench/session-bench.js --help
 */
import { performance } from 'node:perf_hooks';
import { SingleBar, Presets } from 'cli-progress';
import { RingstoreSessionStore } from '../store-adapter';
import { BenchCluster, sleep, type NodeStatusBody } from './bench-cluster';
import type { CurveSeries } from './bench-chart';
import { parseOptions, type BenchOptions } from './bench-options';
import {
  printReport, short, writeArtifacts, type NodeRoundFigures, type Report, type RoundRecord, type SystemSummary,
} from './bench-report';
import { concatSamples, percentileCurve, summarize } from './latency-stats';
import { LoopProbe, ownLoopDelay } from './loop-probe';
import { RedisProcess, type RedisDurability } from './redis-process';
import { harnessFloor, preload, runWorkload, type Store, type WorkloadOptions, type WorkloadResult } from './session-workload';

/** One system under test: a Store plus how to read the server side's CPU time and per-node figures. */
interface System {
  name: string;
  color: string;
  store: Store;
  /** Server-side CPU ms so far (all node processes, or redis-server). */
  serverCpuMs(): number;
  /** WebSocket frames the client sent and received so far (ringstore only). */
  clientFrames(): number;
  /** Before a timed round (reset event-loop windows). */
  beforeRound(): Promise<void>;
  /** After a timed round: per-node figures. */
  afterRound(): Promise<NodeRoundFigures[]>;
  close(): Promise<void>;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

// ---- systems ----

async function ringstoreSystem(
  name: string, color: string, cluster: BenchCluster, storeOpts: ConstructorParameters<typeof RingstoreSessionStore>[0],
): Promise<System> {
  const store = new RingstoreSessionStore(storeOpts);
  await store.client.ready();
  await waitUntil(`${name}: connections to every node`, () =>
    store.client.connections().filter((c) => c.state === 'open').length >= cluster.nodes.length, 15_000);
  let before: NodeStatusBody[] = [];
  return {
    name, color, store,
    serverCpuMs: () => cluster.cpuMs().reduce((a, b) => a + b, 0),
    clientFrames: () => store.client.linkCounters.framesSent + store.client.linkCounters.framesReceived,
    beforeRound: async () => {
      await cluster.resetEventLoop();
      before = await cluster.statuses();
    },
    afterRound: async () => {
      const after = await cluster.statuses();
      return after.map((s, i) => {
        const b = before[i]!;
        return {
          id: s.id,
          eventLoopMaxMs: s.perf?.eventLoop.maxMs ?? NaN,
          eventLoopP99Ms: s.perf?.eventLoop.p99Ms ?? NaN,
          gcMaxMs: s.perf?.gc?.maxMs ?? NaN,
          gcTotalMs: s.perf?.gc?.totalMs ?? NaN,
          peerMessagesSent: (s.perf?.peer.messagesSent ?? NaN) - (b.perf?.peer.messagesSent ?? NaN),
          peerFramesSent: (s.perf?.peer.framesSent ?? NaN) - (b.perf?.peer.framesSent ?? NaN),
          commits: (s.perf?.storage?.commits ?? NaN) - (b.perf?.storage?.commits ?? NaN),
          rowsWritten: (s.perf?.storage?.rowsWritten ?? NaN) - (b.perf?.storage?.rowsWritten ?? NaN),
          reads: s.stats.reads - b.stats.reads,
          writes: s.stats.writes - b.stats.writes,
          readRepairs: s.stats.readRepairs - b.stats.readRepairs,
        };
      });
    },
    close: () => store.close(),
  };
}

async function redisSystem(durability: RedisDurability, color: string): Promise<{ system: System; redis: RedisProcess }> {
  const redis = await RedisProcess.start(durability);
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { createClient } = require('redis') as typeof import('redis');
  const { RedisStore } = require('connect-redis') as { RedisStore: new (o: object) => Store };
  /* eslint-enable @typescript-eslint/no-require-imports */
  const client = createClient({ url: redis.url });
  client.on('error', (err: Error) => process.stderr.write(`redis client: ${err.message}\n`));
  await client.connect();
  const store = new RedisStore({ client, prefix: 'sess:' });
  const system: System = {
    name: `connect-redis (redis-server, ${durability === 'none' ? 'no persistence' : `appendfsync ${durability}`})`,
    color, store,
    serverCpuMs: () => redis.cpuMs(),
    clientFrames: () => NaN,
    beforeRound: async () => undefined,
    afterRound: async () => [],
    close: async () => {
      await client.quit();
    },
  };
  return { system, redis };
}

// ---- running rounds ----

interface RunContext {
  o: BenchOptions;
  bar: SingleBar | null;
  /** Timed ms done so far, over the whole run (progress bar, chart time axis). */
  doneMs: number;
  probe: LoopProbe;
  own: ReturnType<typeof ownLoopDelay>;
}

async function prepare(ctx: RunContext, sys: System, w: WorkloadOptions, expiresIso: string): Promise<void> {
  ctx.bar?.update({ phase: `${short(sys.name)}: preloading ${w.sessions} sessions`, rate: '-' });
  await preload(sys.store, w, expiresIso);
  if (ctx.o.warmup > 0) {
    ctx.bar?.update({ phase: `${short(sys.name)}: warm-up`, rate: '-' });
    await runWorkload(sys.store, { ...w, durationMs: ctx.o.warmup * 1000, seed: w.seed + 7 }, expiresIso);
  }
}

async function timedRound(
  ctx: RunContext, sys: System, round: number, w: WorkloadOptions, expiresIso: string,
): Promise<{ record: RoundRecord; samples: WorkloadResult }> {
  await sys.beforeRound();
  await ctx.probe.reset();
  ctx.own.reset();
  const cpu0 = sys.serverCpuMs();
  const frames0 = sys.clientFrames();
  // Rounds are placed back to back on the chart's time axis (timed seconds), in the order they ran.
  const startS = ctx.doneMs / 1000;
  const base = ctx.doneMs;
  const res: WorkloadResult = await runWorkload(sys.store, { ...w, seed: w.seed + round }, expiresIso, (ops, elapsedMs) => {
    ctx.bar?.update(Math.min(base + elapsedMs, base + w.durationMs), {
      phase: `${short(sys.name)} round ${round + 1}`, rate: String(Math.round((ops * 1000) / Math.max(1, elapsedMs))),
    });
  });
  const serverCpu = sys.serverCpuMs() - cpu0;
  const probe = await ctx.probe.read();
  const own = ctx.own.read();
  ctx.doneMs = base + w.durationMs;
  ctx.bar?.update(ctx.doneMs);
  const nodes = await sys.afterRound();
  const record: RoundRecord = {
    system: sys.name, round, startS,
    opsPerS: (res.ops * 1000) / res.elapsedMs, ops: res.ops, errors: res.errors, errorSamples: res.errorSamples,
    elapsedMs: res.elapsedMs,
    latency: summarize(concatSamples([res.getUs, res.setUs])), get: summarize(res.getUs), set: summarize(res.setUs),
    serverCpuMsPerOp: serverCpu / Math.max(1, res.ops), clientCpuMsPerOp: res.clientCpuMs / Math.max(1, res.ops),
    nodes, probeLoopMaxMs: probe.maxMs, clientLoopMaxMs: own.maxMs,
    clientFramesPerOp: (sys.clientFrames() - frames0) / Math.max(1, res.ops), timeline: res.timeline, bucketMs: res.bucketMs,
  };
  return { record, samples: res };
}

/** Prepare every system, then rounds A B A B ...; summaries per system. */
async function alternate(ctx: RunContext, systems: System[], w: WorkloadOptions, expiresIso: string): Promise<{ rounds: RoundRecord[]; summaries: SystemSummary[]; curves: CurveSeries[] }> {
  for (const s of systems) await prepare(ctx, s, w, expiresIso);
  const rounds: RoundRecord[] = [];
  const samplesOf = new Map<RoundRecord, WorkloadResult>();
  for (let r = 0; r < ctx.o.rounds; r++) {
    for (const s of systems) {
      const { record, samples } = await timedRound(ctx, s, r, w, expiresIso);
      rounds.push(record);
      samplesOf.set(record, samples);
    }
  }
  const summaries: SystemSummary[] = [];
  const curves: CurveSeries[] = [];
  for (const s of systems) {
    const mine = rounds.filter((x) => x.system === s.name);
    const samples = mine.map((x) => samplesOf.get(x)!);
    const all = concatSamples(samples.flatMap((x) => [x.getUs, x.setUs]));
    const ops = mine.reduce((a, x) => a + x.ops, 0);
    const ms = mine.reduce((a, x) => a + x.elapsedMs, 0);
    const elMax: Record<string, number> = {};
    const gcMax: Record<string, number> = {};
    let msgs = 0;
    let frames = 0;
    let commits = 0;
    let rows = 0;
    let haveMsgs = false;
    for (const x of mine) {
      for (const n of x.nodes) {
        elMax[n.id] = Math.max(elMax[n.id] ?? 0, n.eventLoopMaxMs);
        gcMax[n.id] = Math.max(gcMax[n.id] ?? 0, n.gcMaxMs);
        if (Number.isFinite(n.peerMessagesSent)) {
          msgs += n.peerMessagesSent;
          frames += n.peerFramesSent;
          commits += n.commits;
          rows += n.rowsWritten;
          haveMsgs = true;
        }
      }
    }
    summaries.push({
      system: s.name,
      opsPerS: (ops * 1000) / ms,
      roundsOpsPerS: mine.map((x) => x.opsPerS),
      ops,
      errors: mine.reduce((a, x) => a + x.errors, 0),
      latency: summarize(all),
      get: summarize(concatSamples(samples.map((x) => x.getUs))),
      set: summarize(concatSamples(samples.map((x) => x.setUs))),
      serverCpuMsPerOp: mine.reduce((a, x) => a + x.serverCpuMsPerOp * x.ops, 0) / Math.max(1, ops),
      clientCpuMsPerOp: mine.reduce((a, x) => a + x.clientCpuMsPerOp * x.ops, 0) / Math.max(1, ops),
      eventLoopMaxMs: elMax,
      gcMaxMs: gcMax,
      probeLoopMaxMs: Math.max(...mine.map((x) => x.probeLoopMaxMs)),
      clientLoopMaxMs: Math.max(...mine.map((x) => x.clientLoopMaxMs)),
      peerMessagesPerOp: haveMsgs ? msgs / Math.max(1, ops) : null,
      peerFramesPerOp: haveMsgs ? frames / Math.max(1, ops) : null,
      commitsPerSPerNode: haveMsgs ? (commits * 1000) / ms / Math.max(1, mine[0]!.nodes.length) : null,
      rowsPerCommit: haveMsgs ? rows / Math.max(1, commits) : null,
    });
    curves.push({ name: short(s.name), color: s.color, points: percentileCurve(all) });
  }
  return { rounds, summaries, curves };
}

// ---- modes ----

function workloadOf(o: BenchOptions): WorkloadOptions {
  return {
    callers: o.callers, durationMs: o.duration * 1000, readShare: o.readShare, valueBytes: o.valueBytes,
    sessions: o.sessions, seed: o.seed,
  };
}

function quorumFor(nodes: number): { n: number; r: number; w: number } {
  const n = Math.min(3, nodes);
  const q = Math.floor(n / 2) + 1;
  return { n, r: q, w: q };
}

async function compareMode(ctx: RunContext): Promise<Report> {
  const { o } = ctx;
  const q = quorumFor(o.nodes);
  const cluster = await BenchCluster.start({ nodes: o.nodes, ...q, nodeArgs: o.nodeArgs, keepData: o.keepData });
  let redis: RedisProcess | null = null;
  const systems: System[] = [];
  const others: BenchCluster[] = [];
  try {
    systems.push(await ringstoreSystem(`ringstore (${o.nodes} nodes, N=${q.n} R=${q.r} W=${q.w}, SQLite)`, COLORS[0]!, cluster, {
      nodes: cluster.addrs(), client: { consistency: o.consistency },
    }));
    if (o.versus !== null) {
      const other = await BenchCluster.start({
        nodes: o.nodes, ...q, nodeArgs: o.versusNodeArgs ?? o.nodeArgs, keepData: o.keepData, bin: o.versus,
      });
      others.push(other);
      systems.push(await ringstoreSystem(`ringstore B (${o.versus}${o.versusNodeArgs ? ` ${o.versusNodeArgs.join(' ')}` : ''})`, COLORS[1]!, other, {
        nodes: other.addrs(), client: { consistency: o.consistency },
      }));
    } else if (o.redis !== 'off') {
      try {
        const r = await redisSystem(o.redis, COLORS[1]!);
        redis = r.redis;
        systems.push(r.system);
      } catch (err) {
        process.stderr.write(`connect-redis skipped: ${(err as Error).message}\n`);
      }
    }
    const res = await alternate(ctx, systems, workloadOf(o), expiresIso());
    const dataBytes = cluster.dataBytes();
    const harness = await harnessFloor({ ...workloadOf(o), durationMs: Math.min(2000, o.duration * 1000) }, expiresIso());
    return { mode: 'compare', ...res, extra: { nodeDataBytes: dataBytes, harness } };
  } finally {
    for (const s of systems) await s.close().catch(() => undefined);
    await cluster.stop();
    for (const c of others) await c.stop();
    await redis?.stop();
  }
}

async function regionsMode(ctx: RunContext): Promise<Report> {
  const { o } = ctx;
  const regions = Array.from({ length: o.regions }, (_, i) => `r${i + 1}`);
  const nodes = Math.max(o.nodes, o.regions);
  const q = quorumFor(nodes);
  const cluster = await BenchCluster.start({
    nodes, ...q, regions, nodeArgs: o.nodeArgs, keepData: o.keepData, sqliteSync: o.sqliteSync,
  });
  const systems: System[] = [];
  try {
    await cluster.delayBetweenRegions(o.delayMs);
    const home = regions[0]!;
    const local = cluster.addrs(home);
    const sync = `SQLite ${o.sqliteSync}`;
    systems.push(await ringstoreSystem(`ringstore local (client in ${home}, ${sync})`, COLORS[2]!, cluster, {
      nodes: local, region: home, prefix: 'local:',
    }));
    systems.push(await ringstoreSystem(`ringstore global (client in ${home}, ${sync})`, COLORS[3]!, cluster, {
      nodes: local, prefix: 'global:', client: { region: home, consistency: 'global' },
    }));
    const res = await alternate(ctx, systems, workloadOf(o), expiresIso());
    return { mode: 'regions', ...res, extra: { regions, nodes, delayMs: o.delayMs, home, sqliteSync: o.sqliteSync } };
  } finally {
    for (const s of systems) await s.close().catch(() => undefined);
    await cluster.stop();
  }
}

async function scaleMode(ctx: RunContext): Promise<Report> {
  const { o } = ctx;
  const all: Report = { mode: 'scale', rounds: [], summaries: [], curves: [], extra: { sizes: [] as unknown[] } };
  for (const [k, nodes] of o.scale!.entries()) {
    const q = quorumFor(nodes);
    const cluster = await BenchCluster.start({ nodes, ...q, nodeArgs: o.nodeArgs, keepData: o.keepData });
    const systems: System[] = [];
    try {
      systems.push(await ringstoreSystem(`ringstore ${nodes} node${nodes > 1 ? 's' : ''} (N=${q.n} R=${q.r} W=${q.w})`, COLORS[k % COLORS.length]!, cluster, {
        nodes: cluster.addrs(), client: { consistency: o.consistency },
      }));
      const res = await alternate(ctx, systems, workloadOf(o), expiresIso());
      all.rounds.push(...res.rounds);
      all.summaries.push(...res.summaries);
      all.curves.push(...res.curves);
      const keys = (await cluster.statuses()).map((s) => s.keys);
      (all.extra.sizes as unknown[]).push({ nodes, ...q, keysPerNode: keys, opsPerSPerNode: res.summaries[0]!.opsPerS / nodes });
    } finally {
      for (const s of systems) await s.close().catch(() => undefined);
      await cluster.stop();
    }
  }
  return all;
}

// ---- main ----

function expiresIso(): string {
  return new Date(Date.now() + 3_600_000).toISOString();
}

async function waitUntil(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const mode = o.scale !== null ? 'scale' : o.regions > 1 ? 'regions' : 'compare';
  const systemsPerSize = mode === 'scale' ? 1 : mode === 'regions' ? 2 : o.redis === 'off' && o.versus === null ? 1 : 2;
  const sizes = mode === 'scale' ? o.scale!.length : 1;
  const totalMs = sizes * systemsPerSize * o.rounds * o.duration * 1000;
  const bar = o.progress
    ? new SingleBar({ format: '{bar} {percentage}% | {phase} | {rate} ops/s', hideCursor: true, clearOnComplete: true }, Presets.shades_classic)
    : null;
  bar?.start(totalMs, 0, { phase: 'starting cluster', rate: '-' });
  const ctx: RunContext = { o, bar, doneMs: 0, probe: LoopProbe.start(), own: ownLoopDelay() };
  let rep: Report;
  try {
    rep = mode === 'scale' ? await scaleMode(ctx) : mode === 'regions' ? await regionsMode(ctx) : await compareMode(ctx);
  } finally {
    bar?.stop();
    ctx.probe.stop();
  }
  printReport(o, rep);
  const files = writeArtifacts(o, rep);
  process.stdout.write(`\nresults: ${files.json}\nchart:   ${files.svg}\n`);
}

if (require.main === module) {
  main().then(() => process.exit(0), (err: unknown) => {
    process.stderr.write(`session-bench: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  });
}
