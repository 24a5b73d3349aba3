/**
 * `npm run sim`: runs the deterministic simulator over many seeds (issue 4;
 * TigerBeetle's VOPR and FoundationDB's simulation runs are the model) and
 * ends with one line
 *
 *   sim: S seeds, V violations, E events, M msgs/op
 *
 * Every failing seed is printed with the command that replays it; the exit
 * code is 1 when any run broke an invariant.
 *
 *   npm run sim -- --seeds 1000                 many seeds, progress bar on stderr
 *   npm run sim -- --seed 17 --verbose          replay one seed with its full trace
 *   npm run sim -- --seed 17 --shrink           leave out faults while it still fails
 *   npm run sim -- --seeds 50 --mutation ack-before-commit   show that a known bug is caught
 *   npm run sim -- --seeds 500 --strict         also fail on anomalies (one write under two dots)
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { Presets, SingleBar } from 'cli-progress';
import { describeFault } from './fault-schedule';
import { isMutationName, MUTATION_DESCRIPTIONS, MUTATION_NAMES, type MutationName } from './mutations';
import { shrinkFaults } from './shrink';
import { DEFAULT_EVENTS, runSimulation, type SimResult } from './simulation';
import { summarize, type SimSummary } from './sim-summary';

export const DEFAULT_SEEDS = 100;

interface CliOptions {
  seeds: number;
  startSeed: number;
  events: number;
  seed?: number;
  verbose: boolean;
  mutation: MutationName;
  antiEntropy: boolean;
  reap: boolean;
  dropFaults: number[];
  shrink: boolean;
  json: boolean;
  strict: boolean;
}

function intArg(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    return n;
  };
}

function indexList(v: string): number[] {
  const list = v.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (list.some((n) => !Number.isSafeInteger(n) || n < 0)) throw new InvalidArgumentError('--drop-faults takes fault indices, e.g. 3,7,12');
  return list;
}

/** The command line that reruns exactly this run. */
export function replayCommand(r: Pick<SimResult, 'seed' | 'mutation' | 'antiEntropy'> & { reap?: boolean }, events: number, dropped: readonly number[] = []): string {
  const parts = ['npm run sim --', `--seed ${r.seed}`];
  if (events !== DEFAULT_EVENTS) parts.push(`--events ${events}`);
  if (r.mutation !== 'none') parts.push(`--mutation ${r.mutation}`);
  if (!r.antiEntropy) parts.push('--no-anti-entropy');
  if (r.reap && r.mutation !== 'reap-unconfirmed') parts.push('--reap');
  if (dropped.length > 0) parts.push(`--drop-faults ${dropped.join(',')}`);
  return parts.join(' ');
}

function printFailure(r: SimResult, events: number, dropped: readonly number[], out: (s: string) => void): void {
  out(`seed ${r.seed}: ${r.violations.length} violation(s) (${r.nodes} nodes, ${r.regions} regions, mutation ${r.mutation})`);
  for (const v of r.violations.slice(0, 10)) out(`  ${v.kind} ${v.key}: ${v.detail}`);
  if (r.violations.length > 10) out(`  ... and ${r.violations.length - 10} more`);
  out(`  replay: ${replayCommand(r, events, dropped)}`);
}

function printSummary(s: SimSummary, out: (line: string) => void): void {
  out(`client operations: ${s.clientOps} (${(100 * s.ackedShare).toFixed(1)}% acknowledged); messages per operation during load: ${s.msgsPerOp.toFixed(2)}`);
  out(`load balance (keys per node, max/mean): mean ${s.loadMaxOverMean.mean.toFixed(3)}, worst ${s.loadMaxOverMean.max.toFixed(3)}`);
  if (s.convergeMs.count > 0) {
    out(
      `time to converge after heal (virtual ms): p50 ${s.convergeMs.p50.toFixed(0)}, p95 ${s.convergeMs.p95.toFixed(0)}, ` +
        `max ${s.convergeMs.max.toFixed(0)}, mean ${s.convergeMs.mean.toFixed(0)}${s.neverConverged > 0 ? `; never converged: ${s.neverConverged}` : ''}`,
    );
  }
  out(
    `anti-entropy after heal: ${s.aeRepairs} keys repaired (${s.aeExchangesPerRun.toFixed(0)} exchanges per run); ` +
      `fallback repair sweep: ${s.sweepRepairs} read repairs in ${s.runsSweepRepaired} runs, rounds mean ${s.sweepRounds.toFixed(2)}`,
  );
  const k = s.keysMovedOnJoin;
  out(
    `membership: ${s.joins} joins, ${s.leaves} leaves; keys moved on join: mean ${(100 * k.mean).toFixed(1)}%, ` +
      `p50 ${(100 * k.p50).toFixed(1)}%, max ${(100 * k.max).toFixed(1)}%; partitions moved on join: mean ${(100 * s.partitionsMovedOnJoin.mean).toFixed(1)}%`,
  );
}

/** "kind key: detail" as a violation (--strict). */
function anomalyAsViolation(a: string): SimResult['violations'][number] {
  const m = /^(\S+) (\S+): (.*)$/.exec(a);
  return m ? { kind: m[1]!, key: m[2]!, detail: m[3]! } : { kind: 'anomaly', key: '-', detail: a };
}

/** The trace lines about the first violation's key and operation, and every fault, crash and restart. */
async function traceExcerpt(r: SimResult, events: number, dropped: ReadonlySet<number>, max = 80): Promise<string[]> {
  const v = r.violations[0]!;
  const opId = /op#\d+/.exec(v.detail)?.[0];
  const lines: string[] = [];
  const wanted = (line: string): boolean =>
    line.includes(` ${v.key}`) || (opId !== undefined && line.includes(`${opId} `)) ||
    / (fault#\d+ [a-z]|crashed|started epoch|VIOLATION)/.test(line);
  const again = await runSimulation({
    seed: r.seed, events, mutation: r.mutation, antiEntropy: r.antiEntropy, reap: r.reap, disabledFaults: dropped,
    traceSink: (line) => { if (wanted(line) && !line.includes(' ev ')) lines.push(line); },
  });
  if (again.traceHash !== r.traceHash) lines.push(`(replay diverged: trace ${again.traceHash} != ${r.traceHash})`);
  return lines.length > max ? [...lines.slice(0, max / 2), `... ${lines.length - max} lines ...`, ...lines.slice(-max / 2)] : lines;
}

async function main(argv: string[]): Promise<number> {
  const program = new Command()
    .name('sim')
    .description('deterministic simulation of ringstore replication under seeded faults')
    .option('--seeds <n>', 'number of seeds to run', intArg('--seeds', 1, 1_000_000), DEFAULT_SEEDS)
    .option('--start-seed <s>', 'first seed', intArg('--start-seed', 0, 0xffffffff), 1)
    .option('--events <e>', 'scheduled events (client operations + faults) per seed', intArg('--events', 1, 1_000_000), DEFAULT_EVENTS)
    .option('--seed <s>', 'run this one seed (replay)', intArg('--seed', 0, 0xffffffff))
    .option('--verbose', 'print every trace line (use with --seed)', false)
    .addOption(
      new Option('--mutation <name>', `run with an injected bug: ${MUTATION_NAMES.filter((m) => m !== 'none').join(', ')}`)
        .default('none')
        .argParser((v: string) => {
          if (!isMutationName(v)) throw new InvalidArgumentError(`unknown mutation ${v}; one of ${MUTATION_NAMES.join(', ')}`);
          return v;
        }),
    )
    .option('--no-anti-entropy', 'repair after heal by the read-repair sweep alone, without anti-entropy exchanges')
    .option('--reap', 'reap tombstones, with a scripted outage of ten graces and deletes during it (docs/simulation.md)', false)
    .option('--drop-faults <list>', 'leave these fault indices out (from --shrink)', indexList, [] as number[])
    .option('--shrink', 'shrink the fault schedule of the first failing seed', false)
    .option('--json', 'print the summary as JSON before the last line', false)
    .option('--strict', 'count anomalies (one write held under two dots) as violations', false)
    .exitOverride();
  program.parse(argv);
  const o = program.opts<CliOptions>();
  const out = (line: string): void => { process.stdout.write(`${line}\n`); };
  const seeds = o.seed !== undefined ? [o.seed] : Array.from({ length: o.seeds }, (_, i) => o.startSeed + i);
  const dropped = new Set(o.dropFaults);
  if (o.mutation !== 'none') out(`mutation ${o.mutation}: ${MUTATION_DESCRIPTIONS[o.mutation]}`);

  const bar = seeds.length > 1 && !o.verbose
    ? new SingleBar({ format: 'sim [{bar}] {value}/{total} seeds | {violations} violations | {eta_formatted}', stream: process.stderr, hideCursor: true }, Presets.shades_classic)
    : null;
  bar?.start(seeds.length, 0, { violations: 0 });
  const results: SimResult[] = [];
  const failures: SimResult[] = [];
  let violations = 0;
  for (const seed of seeds) {
    const r = await runSimulation({
      seed,
      events: o.events,
      mutation: o.mutation,
      antiEntropy: o.antiEntropy,
      reap: o.reap || o.mutation === 'reap-unconfirmed',
      disabledFaults: dropped,
      traceSink: o.verbose ? out : undefined,
    });
    if (o.strict) r.violations.push(...r.anomalies.map(anomalyAsViolation));
    // Keep the figures, drop the bulky parts: a long run must not hold every trace.
    results.push({ ...r, traceTail: [], faults: [] });
    if (r.violations.length > 0) {
      failures.push(r);
      violations += r.violations.length;
    }
    bar?.increment(1, { violations });
  }
  bar?.stop();

  for (const r of failures) {
    printFailure(r, o.events, [...dropped], out);
    if (seeds.length === 1 && !o.verbose) {
      // The run is deterministic: run it again to pick out the trace lines that matter.
      const excerpt = await traceExcerpt(r, o.events, dropped);
      out(`  trace excerpt (faults, crashes, restarts and ${r.violations[0]!.key}; --verbose prints all):`);
      for (const line of excerpt) out(`    ${line}`);
    }
  }
  if (o.shrink && failures.length > 0) {
    const first = failures[0]!;
    out(`shrinking the fault schedule of seed ${first.seed} (${first.faults.length} faults)...`);
    const shrunk = await shrinkFaults({ seed: first.seed, events: o.events, mutation: o.mutation, antiEntropy: o.antiEntropy, reap: first.reap });
    if (shrunk) {
      const kept = first.faults.filter((f) => !shrunk.dropped.includes(f.index));
      out(`still fails with ${kept.length} of ${first.faults.length} faults (${shrunk.runs} runs):`);
      for (const f of kept) out(`  fault#${f.index} at ${f.atMs.toFixed(1)} ms: ${describeFault(f.fault)}`);
      out(`  replay: ${replayCommand(first, o.events, shrunk.dropped)}`);
    }
  }
  const summary = summarize(results);
  printSummary(summary, out);
  const withAnomalies = results.filter((r) => r.anomalies.length > 0);
  if (withAnomalies.length > 0 && !o.strict) {
    const total = withAnomalies.reduce((n, r) => n + r.anomalies.length, 0);
    out(`anomalies (not violations; --strict counts them): ${total} in ${withAnomalies.length} seeds, ${JSON.stringify(summary.anomalies)}`);
    for (const r of withAnomalies.slice(0, 3)) out(`  seed ${r.seed}: ${r.anomalies[0]} (replay: ${replayCommand(r, o.events, [...dropped])})`);
  }
  if (o.json) out(JSON.stringify(summary));
  out(`sim: ${results.length} seeds, ${violations} violations, ${summary.events} events, ${summary.msgsPerOp.toFixed(2)} msgs/op`);
  return violations > 0 ? 1 : 0;
}

if (require.main === module) {
  // `npm run sim | head` closes stdout early: stop quietly rather than crash on EPIPE.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  main(process.argv).then(
    (code) => { process.exitCode = code; },
    (err: unknown) => {
      const e = err as { code?: string; exitCode?: number; message?: string };
      // commander has already printed its own usage errors and --help; a usage error exits 2, not 1 (which means violations).
      if (typeof e.code === 'string' && e.code.startsWith('commander.')) process.exitCode = e.exitCode === 0 ? 0 : 2;
      else {
        process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
        process.exitCode = 2;
      }
    },
  );
}
