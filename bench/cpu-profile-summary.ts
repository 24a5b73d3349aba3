/**
 * Top self-time functions of V8 CPU profiles (`node --cpu-prof`), without a
 * GUI: how the hot spots in docs/benchmarks.md were found. Give it
 * .cpuprofile files (e.g. from `npm run bench -- --node-args "--cpu-prof
 * --cpu-prof-dir=/tmp/prof"`); it prints, per file, the share of samples
 * whose top frame is each function and each source file, and the share of
 * samples each function is anywhere on the stack of (inclusive time).
 *
 *   node dist/bench/cpu-profile-summary.js [--top 25] FILE.cpuprofile...
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  /** µs since the previous sample. */
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function where(cf: CallFrame): string {
  const file = cf.url === '' ? '' : cf.url.replace(/^file:\/\//, '');
  const short = file.includes('node_modules/')
    ? file.slice(file.lastIndexOf('node_modules/') + 'node_modules/'.length)
    : file.includes('/dist/') ? file.slice(file.indexOf('/dist/') + 6) : path.basename(file);
  return short === '' ? '' : `${short}:${cf.lineNumber + 1}`;
}

function label(cf: CallFrame): string {
  const w = where(cf);
  return `${cf.functionName || '(anonymous)'}${w ? ` ${w}` : ''}`;
}

function fileOf(cf: CallFrame): string {
  const w = where(cf);
  return w === '' ? `(${cf.functionName || 'native'})` : w.replace(/:\d+$/, '');
}

export function summarizeProfile(p: Profile, top: number): string {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const self = new Map<string, number>();
  const files = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const id of p.samples) {
    const n = byId.get(id);
    if (!n) continue;
    total++;
    if (n.callFrame.functionName === '(idle)') {
      idle++;
      continue;
    }
    const l = label(n.callFrame);
    self.set(l, (self.get(l) ?? 0) + 1);
    const f = fileOf(n.callFrame);
    files.set(f, (files.get(f) ?? 0) + 1);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const cl = label(byId.get(cur)!.callFrame);
      if (seen.has(cl)) continue;
      seen.add(cl);
      inclusive.set(cl, (inclusive.get(cl) ?? 0) + 1);
    }
  }
  const busy = total - idle;
  const pct = (x: number): string => `${((100 * x) / Math.max(1, busy)).toFixed(1).padStart(5)}%`;
  const out: string[] = [];
  const secs = (p.endTime - p.startTime) / 1e6;
  out.push(`${total} samples over ${secs.toFixed(1)} s, ${((100 * idle) / Math.max(1, total)).toFixed(1)}% idle; shares below are of busy samples`);
  out.push('self time by function:');
  for (const [l, c] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) out.push(`  ${pct(c)}  ${l}`);
  out.push('self time by file:');
  for (const [l, c] of [...files].sort((a, b) => b[1] - a[1]).slice(0, top)) out.push(`  ${pct(c)}  ${l}`);
  out.push('inclusive time by function:');
  for (const [l, c] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) out.push(`  ${pct(c)}  ${l}`);
  out.push(...longTasks(p, byId, parent, 10));
  return out.join('\n');
}

/**
 * The longest stretches of consecutive busy samples (no idle sample between):
 * event-loop turns that ran long. For each, its wall time and the app
 * functions (dist/ files) most often on its stack.
 */
function longTasks(p: Profile, byId: Map<number, ProfileNode>, parent: Map<number, number>, top: number): string[] {
  const stretches: Array<{ ms: number; ids: number[] }> = [];
  let cur: { ms: number; ids: number[] } | null = null;
  for (let i = 0; i < p.samples.length; i++) {
    const n = byId.get(p.samples[i]!);
    const idle = n === undefined || n.callFrame.functionName === '(idle)';
    if (idle) {
      if (cur) stretches.push(cur);
      cur = null;
      continue;
    }
    cur ??= { ms: 0, ids: [] };
    cur.ms += (p.timeDeltas[i] ?? 0) / 1000;
    cur.ids.push(p.samples[i]!);
  }
  if (cur) stretches.push(cur);
  stretches.sort((a, b) => b.ms - a.ms);
  const out = ['longest busy stretches (ms of wall time, samples, app functions most often on the stack):'];
  for (const st of stretches.slice(0, top)) {
    const counts = new Map<string, number>();
    for (const id of st.ids) {
      const seen = new Set<string>();
      for (let c: number | undefined = id; c !== undefined; c = parent.get(c)) {
        const cf = byId.get(c)!.callFrame;
        if (!cf.url.includes('/dist/') && !['(garbage collector)', '(program)'].includes(cf.functionName)) continue;
        const l = label(cf);
        if (!seen.has(l)) counts.set(l, (counts.get(l) ?? 0) + 1);
        seen.add(l);
      }
    }
    const common = [...counts].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([l, c]) => `${l} (${c})`).join('; ');
    out.push(`  ${st.ms.toFixed(1).padStart(7)} ms  ${String(st.ids.length).padStart(5)}  ${common}`);
  }
  return out;
}

function main(): void {
  const args = process.argv.slice(2);
  let top = 25;
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--top') top = Number(args[++i]);
    else files.push(args[i]!);
  }
  if (files.length === 0) {
    process.stderr.write('usage: cpu-profile-summary [--top N] FILE.cpuprofile...\n');
    process.exit(2);
  }
  for (const f of files) {
    process.stdout.write(`== ${f}\n${summarizeProfile(JSON.parse(fs.readFileSync(f, 'utf8')) as Profile, top)}\n\n`);
  }
}

if (require.main === module) main();
