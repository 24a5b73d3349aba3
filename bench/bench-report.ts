/**
 * What `npm run bench` reports (bench/session-bench.ts): the records of each
 * timed round and each system, the table and notes printed at the end, and
 * the JSON and SVG written to artifacts/bench/.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { renderChart, type CurveSeries, type TimelineSeries } from './bench-chart';
import type { BenchOptions } from './bench-options';
import type { LatencySummary } from './latency-stats';

export interface NodeRoundFigures {
  id: string;
  eventLoopMaxMs: number;
  eventLoopP99Ms: number;
  gcMaxMs: number;
  gcTotalMs: number;
  peerMessagesSent: number;
  peerFramesSent: number;
  commits: number;
  rowsWritten: number;
  reads: number;
  writes: number;
  readRepairs: number;
}

export interface RoundRecord {
  system: string;
  round: number;
  startS: number;
  opsPerS: number;
  ops: number;
  errors: number;
  errorSamples: string[];
  elapsedMs: number;
  latency: LatencySummary;
  get: LatencySummary;
  set: LatencySummary;
  serverCpuMsPerOp: number;
  clientCpuMsPerOp: number;
  nodes: NodeRoundFigures[];
  /** Longest event-loop pause of an idle probe process (the machine's floor) and of the bench client. */
  probeLoopMaxMs: number;
  clientLoopMaxMs: number;
  /** Client WebSocket frames (both ways) per operation. */
  clientFramesPerOp: number;
  timeline: number[];
  bucketMs: number;
}

export interface SystemSummary {
  system: string;
  opsPerS: number;
  roundsOpsPerS: number[];
  ops: number;
  errors: number;
  latency: LatencySummary;
  get: LatencySummary;
  set: LatencySummary;
  serverCpuMsPerOp: number;
  clientCpuMsPerOp: number;
  /** Longest event-loop pause of each node over all rounds. */
  eventLoopMaxMs: Record<string, number>;
  /** Longest GC pause of each node over all rounds. */
  gcMaxMs: Record<string, number>;
  probeLoopMaxMs: number;
  clientLoopMaxMs: number;
  /** Peer messages sent by all nodes per client operation. */
  peerMessagesPerOp: number | null;
  /** WebSocket frames those messages took, per client operation. */
  peerFramesPerOp: number | null;
  /** SQLite group commits per second per node, and rows per commit. */
  commitsPerSPerNode: number | null;
  rowsPerCommit: number | null;
}


export interface Report {
  mode: 'compare' | 'regions' | 'scale';
  rounds: RoundRecord[];
  summaries: SystemSummary[];
  curves: CurveSeries[];
  extra: Record<string, unknown>;
}

export function short(name: string): string {
  const i = name.indexOf(' (');
  return name.startsWith('ringstore local') || name.startsWith('ringstore global') || i < 0 ? name : name.slice(0, i);
}

export const f1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(x >= 100 ? 0 : x >= 10 ? 1 : 2) : '-');

export function printReport(o: BenchOptions, rep: Report): void {
  const line = (s = ''): void => { process.stdout.write(`${s}\n`); };
  line();
  line(`workload: ${o.callers} callers, ${Math.round(o.readShare * 100)}% get / ${Math.round((1 - o.readShare) * 100)}% set, ` +
    `~${o.valueBytes}-byte sessions, pool ${o.sessions}, ${o.rounds} round(s) of ${o.duration} s per system, alternating`);
  line(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? '?'}, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}, node ${process.version}`);
  line();
  const head = ['system', 'ops/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'get p99', 'set p99', 'srv CPU ms/op', 'cli CPU ms/op', 'errors'];
  const rows = rep.summaries.map((s) => [
    short(s.system), f1(s.opsPerS), f1(s.latency.p50Ms), f1(s.latency.p99Ms), f1(s.latency.p999Ms), f1(s.latency.maxMs),
    f1(s.get.p99Ms), f1(s.set.p99Ms), s.serverCpuMsPerOp.toFixed(3), s.clientCpuMsPerOp.toFixed(3), String(s.errors),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmtRow = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  line(fmtRow(head));
  for (const r of rows) line(fmtRow(r));
  line();
  for (const s of rep.summaries) {
    line(`${s.system}`);
    line(`  per round ops/s: ${s.roundsOpsPerS.map((x) => Math.round(x)).join(', ')}`);
    line(`  get p50/p99 ${f1(s.get.p50Ms)}/${f1(s.get.p99Ms)} ms, set p50/p99 ${f1(s.set.p50Ms)}/${f1(s.set.p99Ms)} ms`);
    const el = Object.entries(s.eventLoopMaxMs);
    if (el.length > 0) line(`  longest event-loop pause per node: ${el.map(([id, ms]) => `${id} ${f1(ms)} ms`).join(', ')}`);
    const gcs = Object.entries(s.gcMaxMs);
    if (gcs.length > 0) line(`  longest GC pause per node: ${gcs.map(([id, ms]) => `${id} ${f1(ms)} ms`).join(', ')}`);
    line(`  longest pause of an idle probe process (the machine's scheduling floor): ${f1(s.probeLoopMaxMs)} ms; of the bench client: ${f1(s.clientLoopMaxMs)} ms`);
    if (s.peerMessagesPerOp !== null) {
      const cf = rep.rounds.filter((r) => r.system === s.system).map((r) => r.clientFramesPerOp);
      line(`  peer messages per operation (all nodes): ${s.peerMessagesPerOp.toFixed(2)} in ${(s.peerFramesPerOp ?? NaN).toFixed(2)} frames; ` +
        `client frames per operation (both ways): ${(cf.reduce((a, b) => a + b, 0) / Math.max(1, cf.length)).toFixed(2)}`);
      line(`  SQLite group commits per second per node: ${f1(s.commitsPerSPerNode ?? NaN)}, rows per commit: ${f1(s.rowsPerCommit ?? NaN)}`);
    }
    const errs = rep.rounds.filter((r) => r.system === s.system).flatMap((r) => r.errorSamples);
    if (errs.length > 0) line(`  first errors: ${[...new Set(errs)].slice(0, 3).join(' | ')}`);
  }
  const harness = rep.extra.harness as { opsPerS: number; clientCpuMsPerOp: number } | undefined;
  if (harness !== undefined) {
    line();
    line(`bench harness alone (a no-op store, same callers): ${Math.round(harness.opsPerS)} ops/s, ` +
      `client CPU ${harness.clientCpuMsPerOp.toFixed(4)} ms/op (included in each system's cli CPU above)`);
  }
  if (rep.mode === 'compare' && rep.summaries.length === 2) {
    const [a, b] = rep.summaries as [SystemSummary, SystemSummary];
    line();
    line(`ratio ${o.versus === null ? 'ringstore / connect-redis' : 'this build / B'}: ops/s ${(a.opsPerS / b.opsPerS).toFixed(2)}, ` +
      `p99 ${(a.latency.p99Ms / b.latency.p99Ms).toFixed(2)}, server CPU per op ${(a.serverCpuMsPerOp / b.serverCpuMsPerOp).toFixed(2)}, ` +
      `total CPU per op ${((a.serverCpuMsPerOp + a.clientCpuMsPerOp) / (b.serverCpuMsPerOp + b.clientCpuMsPerOp)).toFixed(2)}`);
    if (o.versus === null) line(`issue 6 targets: ops/s ratio >= 1.0: ${a.opsPerS >= b.opsPerS ? 'met' : 'NOT met'}; ` +
      `ringstore p99 < 10 ms: ${a.latency.p99Ms < 10 ? 'met' : 'NOT met'}; ` +
      `no event-loop pause over 10 ms: ${Object.values(a.eventLoopMaxMs).every((x) => x <= 10) ? 'met' : 'NOT met'}`);
  }
  if (rep.mode === 'regions') {
    line();
    line(`${rep.extra.delayMs} ms one way between regions (${(rep.extra.regions as string[]).join(', ')}), ${rep.extra.nodes} nodes; client in ${rep.extra.home}:`);
    for (const s of rep.summaries) line(`  ${short(s.system).padEnd(40)} p50 ${f1(s.latency.p50Ms)} ms  p99 ${f1(s.latency.p99Ms)} ms`);
  }
  if (rep.mode === 'scale') {
    line();
    line('nodes  N  ops/s total  ops/s per node  srv CPU ms/op  peer msgs/op  keys per node');
    for (const [k, size] of (rep.extra.sizes as Array<{ nodes: number; n: number; opsPerSPerNode: number; keysPerNode: number[] }>).entries()) {
      const s = rep.summaries[k]!;
      line(`${String(size.nodes).padStart(5)}  ${size.n}  ${f1(s.opsPerS).padStart(11)}  ${f1(size.opsPerSPerNode).padStart(14)}  ` +
        `${s.serverCpuMsPerOp.toFixed(3).padStart(13)}  ${(s.peerMessagesPerOp ?? NaN).toFixed(2).padStart(12)}  ${size.keysPerNode.join(' ')}`);
    }
  }
}

export function writeArtifacts(o: BenchOptions, rep: Report): { json: string; svg: string } {
  fs.mkdirSync(o.out, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const base = path.join(o.out, `session-bench-${rep.mode}-${stamp}`);
  const machine = {
    cpus: os.cpus().length, model: os.cpus()[0]?.model, totalMemBytes: os.totalmem(), loadavg: os.loadavg(),
    node: process.version, platform: `${os.platform()} ${os.release()}`,
  };
  const { curves: _c, ...rest } = rep;
  const json = `${base}.json`;
  fs.writeFileSync(json, JSON.stringify({ date: new Date().toISOString(), command: process.argv.slice(2), options: o, machine, ...rest }, null, 2));
  const timelines: TimelineSeries[] = rep.rounds.map((r) => ({
    name: short(r.system), color: rep.curves.find((c) => c.name === short(r.system))?.color ?? '#000',
    // Whole buckets only: the last one is cut short by the deadline.
    startS: r.startS, bucketMs: r.bucketMs, counts: r.timeline.slice(0, Math.floor(r.elapsedMs / r.bucketMs)),
  }));
  const title = rep.mode === 'compare'
    ? `${rep.summaries.map((x) => short(x.system)).join(' vs ')} through the express-session Store interface`
    : rep.mode === 'regions' ? `ringstore, ${String(rep.extra.delayMs)} ms between ${o.regions} regions: local vs global`
      : 'ringstore at several cluster sizes';
  const subtitle = `${o.callers} callers, ${Math.round(o.readShare * 100)}% get, ~${o.valueBytes} B sessions, ${o.rounds} x ${o.duration} s per system; ` +
    `${machine.cpus} cores, load ${os.loadavg()[0]!.toFixed(1)}`;
  const svg = `${base}.svg`;
  fs.writeFileSync(svg, renderChart(title, subtitle, rep.curves, timelines));
  return { json, svg };
}
