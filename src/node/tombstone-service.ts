/**
 * Tombstone reaping on a running node (replication/tombstone-reaper.ts;
 * docs/operations.md, Tombstones): every `tombstoneReapIntervalMs` one
 * reaper pass, unless one is still running; answers the peers'
 * 'tomb-check' messages; reports `tombstones` in /admin/status and
 * ringstore_tombstones_held / ringstore_tombstones_reaped_total in /metrics.
 */
import { Counter, Gauge } from 'prom-client';
import { BadRequestError } from '../core/errors';
import { TombstoneReaper } from '../replication/tombstone-reaper';
import { validatePeerMsg } from '../replication/wire-validate';
import type { FeatureHost } from './feature-host';

export function installTombstoneReaper(host: FeatureHost): TombstoneReaper {
  const c = host.config;
  const reaper = new TombstoneReaper({
    self: host.id,
    replica: host.replica,
    network: host.network,
    ring: () => host.currentRing(),
    n: c.n,
    clock: host.clock,
    graceMs: c.tombstoneGraceMs,
    batchMax: c.tombstoneReapBatchMax,
    timeoutMs: c.requestTimeoutMs,
    beforeDrop: async () => {
      const epoch = await host.advanceEpoch();
      host.logger.debug({ epoch }, 'id epoch advanced before reaping tombstones');
    },
    onError: (err, what) => host.logger.debug({ code: (err as { code?: string }).code, err: (err as Error).message }, what),
  });
  host.addPeerHandler('tomb-check', (_from, raw) => {
    const msg = validatePeerMsg(raw, c.limits, c.n);
    if (msg.type !== 'tomb-check') throw new BadRequestError('expected tomb-check');
    return reaper.answer(msg);
  });
  host.addStatus('tombstones', () => reaper.status());
  const registry = host.metrics.registry;
  new Gauge({
    name: 'ringstore_tombstones_held', help: 'Opaque delete tombstones this node holds (own copies)', registers: [registry],
    collect() { this.set(host.replica.tombstoneCount()); },
  });
  const reaped = new Counter({ name: 'ringstore_tombstones_reaped_total', help: 'Tombstones this node reaped once every primary held them', registers: [registry] });
  const refused = new Counter({
    name: 'ringstore_copies_refused_total',
    help: 'Incoming copies not stored: expired sessions, or opaque copies a reaped tombstone dominates',
    labelNames: ['reason'], registers: [registry],
  });
  refused.inc({ reason: 'expired' }, 0);
  refused.inc({ reason: 'reaped' }, 0);
  reaped.inc(0);
  let seen = { reaped: 0, expired: 0, reapedRefused: 0 };
  // Counters follow the replica's own tallies (it also counts reaps and refusals other paths cause).
  const sync = (): void => {
    const s = host.replica.stats;
    if (s.reaped > seen.reaped) reaped.inc(s.reaped - seen.reaped);
    if (s.refusedExpired > seen.expired) refused.inc({ reason: 'expired' }, s.refusedExpired - seen.expired);
    if (s.refusedReaped > seen.reapedRefused) refused.inc({ reason: 'reaped' }, s.refusedReaped - seen.reapedRefused);
    seen = { reaped: s.reaped, expired: s.refusedExpired, reapedRefused: s.refusedReaped };
  };
  let closed = false;
  host.onClose(() => {
    closed = true;
  });
  if (c.tombstoneReapIntervalMs > 0) {
    host.every(c.tombstoneReapIntervalMs, () => {
      sync();
      if (closed) return;
      reaper.tick().then((r) => {
        sync();
        if (r.reaped > 0) host.logger.info({ reaped: r.reaped, held: host.replica.tombstoneCount() }, 'tombstones reaped');
      }, (err) => {
        if (!closed) host.logger.warn({ err: (err as Error).message }, 'tombstone reaper pass failed');
      });
    });
  }
  return reaper;
}
