/**
 * Cluster-wide session TTL statistics (DESIGN.md HTTP API:
 * `GET /admin/sessions/stats`; issue 5 part 2; docs/sessions-ttl.md), the
 * admin page that draws them (`GET /admin/sessions`), and this node's share
 * of them in `/metrics`.
 *
 * Any node answers. It assigns every ring partition to the first node of
 * that partition's preference list that its failure detector calls alive
 * (replication/partition-assignment.ts),
 * asks each of those nodes, with the peer message 'session-stats', for the
 * partial figures of its partitions at one instant (the asker's nowMs), and
 * merges the partials (replication/session-stats.ts). Each partition is
 * counted by one replica, so each session is counted once.
 *
 * A node that does not answer (down, cut off, slow past requestTimeoutMs):
 * its partitions are reassigned to the next alive replica of each
 * preference list and asked again, at most N rounds. Only partitions none
 * of whose replicas answered are missing; then the answer says
 * `"partial": true` and `partitions.covered` tells how much it covers.
 *
 * A node scans its records of the asked partitions in memory, yielding to
 * the event loop every SCAN_YIELD_KEYS records, so a stats query never
 * stalls the node serving it. Requests that arrive while a query is running
 * share its answer.
 */
import type * as http from 'node:http';
import { Gauge } from 'prom-client';
import type { NodeId, PartitionId } from '../core/ids';
import { BadRequestError, RingstoreError } from '../core/errors';
import { partitionsOwnedBy } from '../ring/ring';
import { allPartitions, assignPartitions } from '../replication/partition-assignment';
import type { PeerMsg } from '../replication/peer-message';
import {
  EXPIRING_WITHIN_S, SessionStatsBuilder, TTL_BOUNDS_S, emptyPartial, finishStats, histogramQuantile, IDLE_BOUNDS_S,
  mergePartials, validateSessionStatsPartial, validateSessionStatsRequest,
  type SessionStats, type SessionStatsPartial,
} from '../replication/session-stats';
import type { SweepWindow } from '../replication/sweep-window';
import type { FeatureHost } from './feature-host';
import { sendJson } from './http-router';
import { sessionsAdminPage } from './sessions-admin-page';

/** Records scanned between two yields to the event loop (~1 ms of work). */
export const SCAN_YIELD_KEYS = 5000;

/** How long one scan of this node's share serves /metrics scrapes. */
const METRICS_SHARE_TTL_MS = 1000;

export class SessionStatsService {
  private inflight: Promise<SessionStats> | null = null;

  constructor(private readonly host: FeatureHost, private readonly window: SweepWindow) {}

  /** This node's figures for `partitions` at nowMs, from its own records. */
  async localPartial(partitions: readonly PartitionId[], nowMs: number): Promise<SessionStatsPartial> {
    const { storage } = this.host;
    const b = new SessionStatsBuilder(nowMs);
    let scanned = 0;
    for (const p of partitions) {
      for (const key of storage.keysInPartition(p)) {
        b.add(storage.get(key));
        if (++scanned % SCAN_YIELD_KEYS === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    b.addPartitions(partitions.length);
    // The window is this node's own sweep record: read it on this node's clock.
    const w = this.window.totals(this.host.clock.nowMs(), partitions);
    b.addSweeps(w.expired, w.swept);
    return b.result();
  }

  /** The cluster-wide figures; concurrent callers share one query. */
  clusterStats(): Promise<SessionStats> {
    if (this.inflight === null) {
      this.inflight = this.query().finally(() => {
        this.inflight = null;
      });
    }
    return this.inflight;
  }

  /** Answer a peer's 'session-stats' request. */
  async answer(raw: PeerMsg): Promise<PeerMsg> {
    const req = validateSessionStatsRequest(raw, this.host.config.partitions);
    return { type: 'session-stats-ok', partial: await this.localPartial(req.partitions, req.nowMs) };
  }

  private async query(): Promise<SessionStats> {
    const { host } = this;
    const nowMs = host.clock.nowMs();
    const ring = host.currentRing();
    const failed = new Set<NodeId>();
    const asked = new Set<NodeId>();
    const answered = new Set<NodeId>();
    let merged = emptyPartial();
    let todo = allPartitions(ring);
    // Each round drops the nodes that failed; a partition has at most N
    // replicas, so N rounds exhaust them.
    for (let round = 0; round < host.config.n && todo.length > 0; round++) {
      const plan = assignPartitions(ring, host.config.n, todo, (id) => this.isAlive(id) && !failed.has(id));
      const retry: PartitionId[] = [];
      const partials = await Promise.all([...plan.byNode].map(async ([node, parts]) => {
        asked.add(node);
        try {
          const partial = await this.ask(node, parts, nowMs);
          answered.add(node);
          return partial;
        } catch (err) {
          failed.add(node);
          retry.push(...parts);
          host.logger.warn({ peer: node, partitions: parts.length, err: errorText(err) }, 'session stats: no answer; asking the next replicas');
          return null;
        }
      }));
      for (const p of partials) if (p !== null) merged = mergePartials(merged, p);
      todo = retry;
    }
    return finishStats(merged, {
      nowMs,
      partitionsTotal: ring.q,
      asked: [...asked].sort(),
      answered: [...answered].sort(),
      failed: [...failed].sort(),
    });
  }

  private async ask(node: NodeId, partitions: PartitionId[], nowMs: number): Promise<SessionStatsPartial> {
    if (node === this.host.id) return this.localPartial(partitions, nowMs);
    const reply = await this.host.network.request(
      node, { type: 'session-stats', partitions, nowMs }, this.host.config.requestTimeoutMs,
    );
    if (reply.type !== 'session-stats-ok') throw new BadRequestError(`unexpected reply ${reply.type} to session-stats`);
    const partial = validateSessionStatsPartial(reply.partial, this.host.config.partitions);
    if (partial.partitions !== partitions.length) {
      throw new BadRequestError(`session-stats answered for ${partial.partitions} of ${partitions.length} partitions`);
    }
    return partial;
  }

  /** Alive as this node's failure detector sees it (itself included). */
  private isAlive(id: NodeId): boolean {
    return id === this.host.id || this.host.memberStateOf(id) === 'alive';
  }
}

/**
 * Install the stats route, the admin page, the peer handler and this node's
 * share of the figures in /metrics. `window` is the sweep's removal record
 * (node/ttl-sweeper.ts).
 */
export function installSessionStatsApi(host: FeatureHost, sweep: { window: SweepWindow }): SessionStatsService {
  const service = new SessionStatsService(host, sweep.window);
  host.addPeerHandler('session-stats', (_from, msg) => service.answer(msg));
  host.router.add('GET', '/admin/sessions/stats', async (_req: http.IncomingMessage, res: http.ServerResponse) => {
    sendJson(res, 200, await service.clusterStats());
  });
  host.router.add('GET', '/admin/sessions', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    const html = sessionsAdminPage();
    res.writeHead(200, {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Length': Buffer.byteLength(html),
      'Cache-Control': 'no-store',
      // Everything is inline and the data comes from this node: nothing else may load.
      'Content-Security-Policy': "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'",
    });
    res.end(html);
  });
  installShareMetrics(host, service, sweep.window);
  return service;
}

/**
 * This node's share in /metrics: the sessions of the partitions it is the
 * primary owner of (the ring's owners partition the ring exactly), so
 * summing a gauge over all nodes gives the cluster-wide figure with each
 * session counted once, as Prometheus users expect of per-instance series.
 * The idle quantiles are per node and do not sum.
 */
function installShareMetrics(host: FeatureHost, service: SessionStatsService, window: SweepWindow): void {
  const registers = [host.metrics.registry];
  let cached: { atMs: number; partial: Promise<SessionStatsPartial> } | null = null;
  const share = (): Promise<SessionStatsPartial> => {
    const nowMs = host.clock.nowMs();
    if (cached === null || nowMs - cached.atMs >= METRICS_SHARE_TTL_MS) {
      const owned = partitionsOwnedBy(host.currentRing(), host.id);
      cached = { atMs: nowMs, partial: service.localPartial(owned, nowMs) };
    }
    return cached.partial;
  };
  new Gauge({
    name: 'ringstore_sessions_active', help: 'Live sessions in the partitions this node owns', registers,
    async collect() { this.set((await share()).active); },
  });
  new Gauge({
    name: 'ringstore_sessions_expiring_within', labelNames: ['seconds'], registers,
    help: 'Live sessions (in partitions this node owns) whose remaining TTL is at most `seconds`',
    async collect() {
      const p = await share();
      for (const s of EXPIRING_WITHIN_S) {
        const i = TTL_BOUNDS_S.indexOf(s);
        this.set({ seconds: String(s) }, p.ttlCounts.slice(0, i + 1).reduce((a, b) => a + b, 0));
      }
    },
  });
  new Gauge({
    name: 'ringstore_sessions_ttl_remaining', labelNames: ['le'], registers,
    help: 'Live sessions (in partitions this node owns) by remaining TTL in seconds, cumulative',
    async collect() {
      const p = await share();
      let sum = 0;
      p.ttlCounts.forEach((c, i) => {
        sum += c;
        this.set({ le: i < TTL_BOUNDS_S.length ? String(TTL_BOUNDS_S[i]) : '+Inf' }, sum);
      });
    },
  });
  new Gauge({
    name: 'ringstore_sessions_idle_seconds', labelNames: ['quantile'], registers,
    help: 'Idle time of live sessions in the partitions this node owns (estimated from a histogram; 1 is the exact max)',
    async collect() {
      const p = await share();
      const maxS = p.idleMaxMs / 1000;
      this.set({ quantile: '0.5' }, histogramQuantile(IDLE_BOUNDS_S, p.idleCounts, 0.5, maxS));
      this.set({ quantile: '0.9' }, histogramQuantile(IDLE_BOUNDS_S, p.idleCounts, 0.9, maxS));
      this.set({ quantile: '1' }, maxS);
    },
  });
  new Gauge({
    name: 'ringstore_sessions_expired_per_minute', registers,
    help: 'Live sessions in the partitions this node owns that expired and were swept here in the last minute',
    collect() { this.set(window.totals(host.clock.nowMs(), partitionsOwnedBy(host.currentRing(), host.id)).expired); },
  });
  new Gauge({
    name: 'ringstore_sessions_swept_per_minute', registers,
    help: 'Session records (expired or destroyed) in the partitions this node owns swept here in the last minute',
    collect() { this.set(window.totals(host.clock.nowMs(), partitionsOwnedBy(host.currentRing(), host.id)).swept); },
  });
}

function errorText(err: unknown): string {
  if (err instanceof RingstoreError) return err.code;
  return err instanceof Error ? err.message : String(err);
}
