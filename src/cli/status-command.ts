/**
 * `ringstore status`: a node's view of members, ring, hints and handoff
 * (DESIGN.md Interfaces: CLI). Handoff progress is drawn with cli-progress:
 * one bar for the partitions of the current round, and with --watch one bar
 * per moving partition, refreshed every second until nothing moves.
 */
import { Format, MultiBar, Presets, type SingleBar } from 'cli-progress';
import { adminJson, adminTarget, type AdminFlags, type AdminTarget } from './admin-http';

export interface HandoffTargetJson { id: string; state: string; keysSent: number; keysTotal: number; error?: string }

export interface HandoffPartitionJson {
  direction?: 'out' | 'in';
  partition: number;
  state: string;
  drop?: boolean;
  targets?: HandoffTargetJson[];
  from?: string;
  keys?: number;
}

export interface HandoffJson {
  active: number; done: number; total: number;
  keysSent?: number; bytesSent?: number; mbPerSec?: number;
  incoming?: { active: number; done: number; keys: number };
  partitions?: HandoffPartitionJson[];
}

export interface StatusJson {
  id: string; addr: string; region: string; ringVersion: string;
  members: Array<{ id: string; addr: string; region: string; state: string; incarnation?: number; phi?: number; silentMs?: number | null }>;
  partitions: { total: number; owned: number };
  hints: { pending: number };
  handoff: HandoffJson;
  leave?: { state: string; keys: number; hints: number; pendingPartitions: number };
  keys?: number;
  placement?: { n: number; regions: string[]; groups: Array<{ replicasPerRegion: Record<string, number>; partitions: number }>; inEveryRegion: number };
}

const BAR_SIZE = 30;
const PARTITION_LINES_MAX = 20;

export async function runStatus(o: AdminFlags & { json?: boolean; watch?: boolean }): Promise<void> {
  const out = (t: string): boolean => process.stdout.write(t);
  const target = adminTarget(o);
  const s = (await adminJson(target, '/admin/status')) as StatusJson;
  if (o.json) {
    out(JSON.stringify(s, null, 2) + '\n');
    return;
  }
  if (o.watch) {
    out(formatHeader(s) + '\n');
    await watchHandoff(target, s);
    return;
  }
  out(formatStatus(s));
}

/** The whole status as text: the node, its members, then handoff with a bar and per-partition lines. */
export function formatStatus(s: StatusJson): string {
  return [formatHeader(s), formatHandoff(s), ''].join('\n');
}

function formatHeader(s: StatusJson): string {
  const lines = [
    `node ${s.id} at ${s.addr}, region ${s.region}, ring ${s.ringVersion}`,
    `partitions owned ${s.partitions.owned}/${s.partitions.total}, keys ${s.keys ?? '?'}, hints pending ${s.hints.pending}`,
    ...formatPlacement(s),
    '',
    'members:',
    ...s.members.map((m) => {
      const extra = m.silentMs === undefined ? '' : m.silentMs === null ? '  never heard' : `  heard ${m.silentMs} ms ago, phi ${m.phi ?? 0}`;
      return `  ${m.id.padEnd(16)} ${m.addr.padEnd(22)} ${m.region.padEnd(12)} ${m.state.padEnd(8)}${extra}`;
    }),
    '',
  ];
  if (s.leave && s.leave.state !== 'member') {
    lines.push(`leave: ${s.leave.state} (${s.leave.keys} keys, ${s.leave.hints} hints, ${s.leave.pendingPartitions} partitions left)`, '');
  }
  return lines.join('\n');
}

/** Replicas per region, e.g. "256 partitions: region-a 1 + region-b 1 + region-c 1". */
function formatPlacement(s: StatusJson): string[] {
  const p = s.placement;
  if (p === undefined) return [];
  const lines = [`placement of the N=${p.n} replicas over ${p.regions.length} region(s); ` +
    `${p.inEveryRegion}/${s.partitions.total} partitions have a replica in every region:`];
  for (const g of p.groups) {
    lines.push(`  ${String(g.partitions).padStart(5)} partitions: ${p.regions.map((r) => `${r} ${g.replicasPerRegion[r] ?? 0}`).join(' + ')}`);
  }
  return lines;
}

export function formatHandoff(s: StatusJson): string {
  const h = s.handoff;
  if (h.total === 0) return 'handoff: idle';
  const mb = ((h.bytesSent ?? 0) / 1e6).toFixed(1);
  const lines = [
    `handoff: ${h.active ? 'active' : 'idle'}, ${h.done}/${h.total} partitions done` +
      (h.incoming ? ` (incoming: ${h.incoming.active} active, ${h.incoming.done} done)` : '') +
      `, ${h.keysSent ?? 0} keys / ${mb} MB sent, ${h.mbPerSec ?? 0} MB/s`,
    `  ${bar(h.done, h.total)} ${percent(h.done, h.total)} | ${h.done}/${h.total} partitions`,
  ];
  const moving = (h.partitions ?? []).filter((p) => p.state !== 'done');
  for (const p of moving.slice(0, PARTITION_LINES_MAX)) lines.push(`  ${partitionLine(p)}`);
  if (moving.length > PARTITION_LINES_MAX) lines.push(`  ... ${moving.length - PARTITION_LINES_MAX} more moving`);
  return lines.join('\n');
}

function partitionLine(p: HandoffPartitionJson): string {
  const id = `p${p.partition}`.padEnd(7);
  if (p.direction === 'in') return `${id} in  <- ${(p.from ?? '?').padEnd(12)} ${p.state} (${p.keys ?? 0} keys)`;
  const targets = (p.targets ?? []).map((t) =>
    `${t.id} ${t.state} ${t.keysSent}/${t.keysTotal}${t.error ? ` (${t.error})` : ''}`).join(', ');
  return `${id} out -> ${targets}${p.drop ? '; then drop' : ''} [${p.state}]`;
}

/** A bar drawn by cli-progress's own bar formatter (the one its progress bars use). */
function bar(value: number, total: number): string {
  const progress = total > 0 ? Math.min(1, value / total) : 1;
  return Format.BarFormat(progress, {
    barsize: BAR_SIZE,
    barCompleteString: '\u2588'.repeat(BAR_SIZE),
    barIncompleteString: '\u2591'.repeat(BAR_SIZE),
    barGlue: '',
  } as never);
}

function percent(value: number, total: number): string {
  return `${Math.floor((total > 0 ? value / total : 1) * 100)}%`.padStart(4);
}

/**
 * --watch: a cli-progress MultiBar with one bar for the round and one per
 * moving partition stream, polled every second until the node has nothing
 * moving (and is not halfway through leaving).
 */
async function watchHandoff(target: AdminTarget, first: StatusJson, pollMs = 1000): Promise<void> {
  const multi = new MultiBar({
    format: ' {label} |{bar}| {value}/{total} {unit} {state}',
    hideCursor: true,
    clearOnComplete: false,
    stopOnComplete: false,
    noTTYOutput: true,
    notTTYSchedule: 2000,
  }, Presets.shades_classic);
  const total = multi.create(Math.max(first.handoff.total, 1), first.handoff.done, { label: 'round'.padEnd(16), unit: 'partitions', state: '' });
  const streams = new Map<string, SingleBar>();
  let s = first;
  try {
    for (;;) {
      total.setTotal(Math.max(s.handoff.total, 1));
      total.update(s.handoff.done, { state: `${((s.handoff.bytesSent ?? 0) / 1e6).toFixed(1)} MB, ${s.handoff.mbPerSec ?? 0} MB/s` });
      const seen = new Set<string>();
      for (const p of (s.handoff.partitions ?? []).filter((x) => x.state !== 'done').slice(0, PARTITION_LINES_MAX)) {
        for (const [key, label, value, max, state] of streamBars(p)) {
          seen.add(key);
          let b = streams.get(key);
          if (!b) streams.set(key, (b = multi.create(Math.max(max, 1), value, { label, unit: 'keys', state })));
          b.setTotal(Math.max(max, 1));
          b.update(value, { state });
        }
      }
      for (const [key, b] of streams) {
        if (seen.has(key)) continue;
        multi.remove(b);
        streams.delete(key);
      }
      const leaving = s.leave?.state === 'leaving';
      if (s.handoff.active === 0 && !leaving) break;
      await new Promise((r) => setTimeout(r, pollMs));
      s = (await adminJson(target, '/admin/status')) as StatusJson;
    }
  } finally {
    multi.stop();
  }
  process.stdout.write(`handoff done: ${s.handoff.done}/${s.handoff.total} partitions, ${s.handoff.keysSent ?? 0} keys sent` +
    (s.leave && s.leave.state !== 'member' ? `; leave ${s.leave.state}` : '') + '\n');
}

function streamBars(p: HandoffPartitionJson): Array<[string, string, number, number, string]> {
  if (p.direction === 'in') {
    return [[`in:${p.partition}:${p.from}`, `p${p.partition} <- ${p.from ?? '?'}`.padEnd(16), p.state === 'done' ? 1 : 0, 1, p.state]];
  }
  return (p.targets ?? []).map((t) => [
    `out:${p.partition}:${t.id}`, `p${p.partition} -> ${t.id}`.padEnd(16), t.keysSent, t.keysTotal, t.state + (t.error ? ` ${t.error}` : ''),
  ]);
}
