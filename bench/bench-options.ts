/**
 * The flags of `npm run bench` (bench/session-bench.ts), parsed with
 * commander: one place that lists them all, with their defaults.
 */
import * as path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import type { RedisDurability } from './redis-process';

export interface BenchOptions {
  callers: number;
  duration: number;
  valueBytes: number;
  readShare: number;
  nodes: number;
  rounds: number;
  regions: number;
  delayMs: number;
  consistency: 'local' | 'global';
  sessions: number;
  warmup: number;
  redis: RedisDurability | 'off';
  scale: number[] | null;
  nodeArgs: string[];
  /** `ringstore node --sqlite-sync` of every node (full: fsync per commit, the node's default). */
  sqliteSync: 'full' | 'normal';
  /** Another build's bin/ringstore.js: run it as a second ringstore cluster instead of Redis (A/B of a change). */
  versus: string | null;
  /** Node arguments of the B cluster (default: --node-args). */
  versusNodeArgs: string[] | null;
  seed: number;
  out: string;
  progress: boolean;
  keepData: boolean;
}

function int(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    return n;
  };
}

function num(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a number from ${min} to ${max}`);
    return n;
  };
}

export function parseOptions(argv: string[]): BenchOptions {
  const p = new Command();
  p.name('session-bench')
    .description('ringstore vs connect-redis through the express-session Store interface (docs/benchmarks.md)')
    .option('--callers <n>', 'concurrent callers (requests in flight)', int('callers', 1, 100_000), 64)
    .option('--duration <s>', 'seconds per timed round per system', num('duration', 0.5, 3600), 5)
    .option('--value-bytes <n>', 'approximate JSON size of a session', int('value-bytes', 100, 1_000_000), 300)
    .option('--read-share <x>', 'share of gets, 0..1', num('read-share', 0, 1), 0.5)
    .option('--nodes <n>', 'ringstore nodes', int('nodes', 1, 32), 3)
    .option('--rounds <n>', 'timed rounds per system, alternating A B A B', int('rounds', 1, 100), 2)
    .option('--regions <k>', 'regions (with --delay-ms): compare local and global consistency', int('regions', 0, 16), 0)
    .option('--delay-ms <ms>', 'one-way delay injected between regions', num('delay-ms', 0, 10_000), 40)
    .option('--consistency <mode>', 'consistency of the ringstore requests (compare and scale modes)', 'global')
    .option('--sessions <n>', 'sessions in the pool', int('sessions', 1, 10_000_000), 5000)
    .option('--warmup <s>', 'untimed seconds per system before the first round (long enough for V8 to finish optimising the nodes)', num('warmup', 0, 600), 8)
    .option('--redis <mode>', 'redis-server durability: everysec (AOF fsync every second), always, none (no persistence), off (skip)', 'everysec')
    .option('--scale <list>', 'ringstore alone at each cluster size, e.g. 1,3,5')
    .option('--node-args <args>', 'extra node(1) arguments for each ringstore node, space-separated (e.g. "--cpu-prof")', '')
    .option('--sqlite-sync <mode>', '--regions mode: ringstore node --sqlite-sync of every node, full (fsync per commit) or normal (docs/operations.md)', 'full')
    .option('--versus <bin>', "another build's bin/ringstore.js, run as a second cluster instead of Redis (A/B of a change)")
    .option('--versus-node-args <args>', 'node(1) arguments of the --versus cluster (default: --node-args)')
    .option('--seed <n>', 'workload seed', int('seed', 0, 2 ** 32 - 1), 42)
    .option('--out <dir>', 'where JSON and SVG results go', 'artifacts/bench')
    .option('--no-progress', 'no progress bar')
    .option('--keep-data', 'keep the nodes\' data dirs');
  p.parse(argv, { from: 'user' });
  const x = p.opts<Record<string, unknown>>();
  const consistency = x.consistency as string;
  if (consistency !== 'local' && consistency !== 'global') throw new InvalidArgumentError('--consistency must be local or global');
  const sqliteSync = x.sqliteSync as string;
  if (sqliteSync !== 'full' && sqliteSync !== 'normal') throw new InvalidArgumentError('--sqlite-sync must be full or normal');
  const redis = x.redis as string;
  if (!['everysec', 'always', 'none', 'off'].includes(redis)) throw new InvalidArgumentError('--redis must be everysec, always, none or off');
  let scale: number[] | null = null;
  if (typeof x.scale === 'string') {
    scale = x.scale.split(',').map((s) => int('--scale entry', 1, 32)(s.trim()));
  }
  return {
    callers: x.callers as number, duration: x.duration as number, valueBytes: x.valueBytes as number,
    readShare: x.readShare as number, nodes: x.nodes as number, rounds: x.rounds as number, regions: x.regions as number,
    delayMs: x.delayMs as number, consistency, sessions: x.sessions as number, warmup: x.warmup as number,
    redis: redis as BenchOptions['redis'], scale,
    nodeArgs: (x.nodeArgs as string).split(' ').filter(Boolean), sqliteSync,
    versus: typeof x.versus === 'string' ? path.resolve(x.versus) : null,
    versusNodeArgs: typeof x.versusNodeArgs === 'string' ? x.versusNodeArgs.split(' ').filter(Boolean) : null, seed: x.seed as number, out: x.out as string,
    progress: x.progress as boolean, keepData: Boolean(x.keepData),
  };
}
