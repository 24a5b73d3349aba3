/**
 * `ringstore sessions stats --node HOST:PORT [--json]` (DESIGN.md Interfaces:
 * CLI; docs/sessions-ttl.md): the cluster-wide session TTL figures of
 * `GET /admin/sessions/stats`, as a table, or that JSON with --json.
 */
import type { SessionStats } from '../replication/session-stats';
import { adminJson, adminTarget, type AdminFlags } from './admin-http';

export async function runSessionsStats(
  o: AdminFlags & { json?: boolean },
  out: (text: string) => void = (t) => process.stdout.write(t),
): Promise<void> {
  const s = (await adminJson(adminTarget(o), '/admin/sessions/stats')) as SessionStats;
  if (o.json) {
    out(JSON.stringify(s, null, 2) + '\n');
    return;
  }
  out(formatSessionStats(s, o.node));
}

/** The table: headline figures, then both histograms with bars scaled to the largest bucket. */
export function formatSessionStats(s: SessionStats, from: string): string {
  const w = s.expiringWithin;
  const lines = [
    `sessions, cluster-wide as of ${s.asOf} (asked ${from}; ${s.nodes.answered.length} node(s) answered, ` +
      `${s.partitions.covered}/${s.partitions.total} partitions)`,
  ];
  if (s.partial) {
    lines.push(`PARTIAL: no replica answered for ${s.partitions.total - s.partitions.covered} partitions` +
      (s.nodes.failed.length ? ` (no answer from ${s.nodes.failed.join(', ')})` : ''));
  }
  lines.push(
    '',
    row('active', num(s.active)),
    row('expiring within 1 min', num(w['60'] ?? 0)),
    row('expiring within 5 min', num(w['300'] ?? 0)),
    row('expiring within 30 min', num(w['1800'] ?? 0)),
    row('expired per minute', num(s.expiredPerMinute)),
    row('swept per minute', num(s.sweptPerMinute)),
    row('idle p50 / p90 / max', `${dur(s.idleSeconds.p50)} / ${dur(s.idleSeconds.p90)} / ${dur(s.idleSeconds.max)}`),
    '',
    'remaining TTL     sessions  (cumulative)',
    ...histogram(s.ttlHistogram),
    '',
    'idle time         sessions  (cumulative)',
    ...histogram(trimIdle(s.idleHistogram)),
  );
  return lines.join('\n') + '\n';
}

function row(label: string, value: string): string {
  return `  ${label.padEnd(24)} ${value}`;
}

function histogram(h: SessionStats['ttlHistogram']): string[] {
  let prev = 0;
  const per = h.map((b) => {
    const n = b.count - prev;
    prev = b.count;
    return n;
  });
  const max = Math.max(1, ...per);
  return h.map((b, i) => {
    const bar = '#'.repeat(Math.round((30 * per[i]!) / max));
    return `  <= ${(b.le === '+Inf' ? 'inf' : dur(b.le)).padEnd(12)} ${num(b.count).padStart(10)}  ${bar}`;
  });
}

/** Idle buckets past the one holding the largest idle time add nothing but rows. */
function trimIdle(h: SessionStats['idleHistogram']): SessionStats['idleHistogram'] {
  const total = h.length ? h[h.length - 1]!.count : 0;
  const full = h.findIndex((b) => b.count === total);
  return full < 0 ? h : h.slice(0, Math.max(full + 1, Math.min(8, h.length)));
}

function num(n: number): string {
  return n.toLocaleString('en-US');
}

function dur(s: number): string {
  if (s < 60) return `${Math.round(s * 10) / 10}s`;
  if (s < 3600) return `${Math.round(s / 6) / 10}m`;
  if (s < 86400) return `${Math.round(s / 360) / 10}h`;
  return `${Math.round(s / 8640) / 10}d`;
}
