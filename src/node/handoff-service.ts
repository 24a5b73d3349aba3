/**
 * Partition handoff on a running node (Dynamo 4.9; docs/membership.md):
 * watches the ring, plans and runs the pushes of replication/
 * partition-handoff.ts, serves the leave operation, and reports progress
 * in /admin/status as `handoff` (both directions) and `leave`.
 *
 * - Every `handoffIntervalMs`: if the ring changed since the last look, plan
 *   the pushes it asks of this node; once the ring has been still for a few
 *   gossip rounds, also sweep for orphans (data in partitions this node no
 *   longer replicates); then pump the streams.
 * - Pending targets are saved in storage meta `handoff.pending`, so a node
 *   that restarts mid-handoff finishes what it started.
 * - `POST /admin/leave`: the node's record turns 'leaving', every ring drops
 *   it, and its partitions become orphans that are handed to their new
 *   replicas; `leave.state` turns 'done' when it holds no keys, no hints and
 *   no pending handoff. Stop the node after that.
 * - Incoming streams are reported from the senders' `handoff-begin` and
 *   `handoff-end` notices.
 */
import { Gauge } from 'prom-client';
import { BadRequestError } from '../core/errors';
import type { NodeId } from '../core/ids';
import type { Ring } from '../ring/ring';
import { PartitionHandoff, type HandoffStatus, type PartitionProgress } from '../replication/partition-handoff';
import type { PeerMsg } from '../replication/peer-message';
import type { FeatureHost } from './feature-host';
import { sendJson } from './http-router';

const PENDING_META = 'handoff.pending';
/** Incoming entries kept for display, at most. */
const INCOMING_MAX = 4096;
/** Incoming entries older than this are forgotten. */
const INCOMING_TTL_MS = 10 * 60 * 1000;

interface Incoming {
  from: NodeId;
  partition: number;
  keys: number;
  state: 'receiving' | 'done';
  startedAtMs: number;
  doneAtMs: number | null;
}

export type LeaveState = 'member' | 'leaving' | 'done';

export interface LeaveStatus {
  state: LeaveState;
  keys: number;
  hints: number;
  pendingPartitions: number;
}

export class HandoffService {
  readonly engine: PartitionHandoff;
  private lastRing: Ring;
  private ringStillSinceMs: number;
  private readonly startedAtMs: number;
  private savedPending = '{}';
  private readonly incoming = new Map<string, Incoming>();
  private closed = false;

  constructor(private readonly host: FeatureHost) {
    const c = host.config;
    this.engine = new PartitionHandoff({
      self: host.id,
      network: host.network,
      storage: host.storage,
      ring: () => host.currentRing(),
      n: c.n,
      batchKeys: c.handoffBatchKeys,
      streamsMax: c.handoffStreamsMax,
      timeoutMs: c.requestTimeoutMs * 2,
      usable: (id) => host.memberStateOf(id) !== 'down',
      beforeDrop: async () => {
        const epoch = await host.advanceEpoch();
        host.logger.info({ epoch }, 'id epoch advanced before dropping handed-off records');
      },
      nowMs: () => host.clock.nowMs(),
      onError: (err, what) => host.logger.debug({ code: (err as { code?: string }).code, err: (err as Error).message }, what),
    });
    this.lastRing = host.currentRing();
    this.startedAtMs = host.clock.nowMs();
    this.ringStillSinceMs = this.startedAtMs;
    const saved = host.storage.getMeta(PENDING_META);
    if (saved) {
      try {
        this.engine.restore(JSON.parse(saved) as Record<string, string[]>);
        this.savedPending = saved;
      } catch (err) {
        host.logger.warn({ err: (err as Error).message }, 'saved handoff plan unreadable; orphan sweeps will cover it');
      }
    }
  }

  /** One look at the ring and the plan; starts streams in the background. */
  tick(): void {
    if (this.closed) return;
    const now = this.host.clock.nowMs();
    const ring = this.host.currentRing();
    if (ring.version !== this.lastRing.version) {
      this.engine.ringChanged(this.lastRing, ring);
      this.host.logger.info({ from: this.lastRing.version, to: ring.version, ...this.counts() }, 'ring changed: handoff planned');
      this.lastRing = ring;
      this.ringStillSinceMs = now;
    }
    // Orphans are judged only against a ring that has settled: right after a
    // change, or right after a start, this node's ring may still lag the
    // cluster's, and data would bounce between nodes that disagree.
    const settleMs = 3 * this.host.config.gossipIntervalMs;
    if (now - this.ringStillSinceMs >= settleMs && now - this.startedAtMs >= settleMs) this.engine.sweepOrphans();
    this.persist();
    if (!this.engine.idle()) {
      this.engine.pump().then(
        () => this.persist(),
        (err) => this.host.logger.error({ err }, 'partition handoff failed'),
      );
    }
  }

  status(): HandoffStatus & { incoming: { active: number; done: number; keys: number } } {
    const out = this.engine.status();
    const now = this.host.clock.nowMs();
    let active = 0;
    let done = 0;
    let keys = 0;
    const partitions: Array<PartitionProgress & { direction: 'out' } | { direction: 'in'; partition: number; from: string; state: string; keys: number }> =
      out.partitions.map((p) => ({ ...p, direction: 'out' as const }));
    for (const [k, e] of this.incoming) {
      if (now - e.startedAtMs > INCOMING_TTL_MS) {
        this.incoming.delete(k);
        continue;
      }
      // A sender that died mid-stream is not moving anything any more.
      const stalled = e.state === 'receiving' && this.host.memberStateOf(e.from) === 'down';
      if (e.state === 'receiving' && !stalled) active++;
      if (e.state === 'done') {
        done++;
        keys += e.keys;
      }
      partitions.push({ direction: 'in', partition: e.partition, from: e.from, state: stalled ? 'stalled' : e.state, keys: e.keys });
    }
    return {
      ...out,
      active: out.active + active,
      done: out.done + done,
      total: out.total + active + done,
      partitions: partitions as PartitionProgress[],
      incoming: { active, done, keys },
    };
  }

  leaveStatus(): LeaveStatus {
    const keys = this.host.storage.size();
    const hints = this.host.replica.hintCount();
    const pendingPartitions = this.engine.status().active;
    const state: LeaveState = !this.host.isLeaving() ? 'member'
      : keys === 0 && hints === 0 && pendingPartitions === 0 ? 'done' : 'leaving';
    return { state, keys, hints, pendingPartitions };
  }

  leave(): LeaveStatus {
    if (!this.host.isLeaving()) {
      this.host.leave();
      this.host.logger.warn({ keys: this.host.storage.size() }, 'leaving the cluster: handing off every partition');
      this.tick();
    }
    return this.leaveStatus();
  }

  /** Record a sender's begin/end notice (validated here: feature handlers see raw input). */
  notice(from: NodeId, msg: PeerMsg): PeerMsg {
    const m = msg as { type: string; partition?: unknown; keys?: unknown };
    const q = this.host.currentRing().q;
    if (!Number.isSafeInteger(m.partition) || (m.partition as number) < 0 || (m.partition as number) >= q ||
      !Number.isSafeInteger(m.keys) || (m.keys as number) < 0) {
      throw new BadRequestError(`malformed ${String(m.type).slice(0, 20)}`);
    }
    const key = `${from}:${m.partition as number}`;
    const now = this.host.clock.nowMs();
    if (m.type === 'handoff-begin') {
      this.incoming.delete(key);
      if (this.incoming.size >= INCOMING_MAX) this.incoming.delete(this.incoming.keys().next().value!);
      this.incoming.set(key, { from, partition: m.partition as number, keys: m.keys as number, state: 'receiving', startedAtMs: now, doneAtMs: null });
    } else {
      const e = this.incoming.get(key);
      if (e) {
        e.state = 'done';
        e.keys = m.keys as number;
        e.doneAtMs = now;
      }
    }
    return { type: 'handoff-ok' };
  }

  close(): Promise<void> {
    this.closed = true;
    return this.engine.stop();
  }

  private counts(): { pendingPartitions: number } {
    return { pendingPartitions: this.engine.status().active };
  }

  private persist(): void {
    if (this.closed) return;
    const json = JSON.stringify(this.engine.snapshot());
    if (json === this.savedPending) return;
    this.savedPending = json;
    this.host.storage.setMeta(PENDING_META, json).catch((err) => this.host.logger.warn({ err: (err as Error).message }, 'saving handoff plan failed'));
  }
}

export function installHandoffService(host: FeatureHost): HandoffService {
  const service = new HandoffService(host);
  host.addPeerHandler('handoff-begin', (from, msg) => service.notice(from, msg));
  host.addPeerHandler('handoff-end', (from, msg) => service.notice(from, msg));
  host.addStatus('handoff', () => service.status());
  host.addStatus('leave', () => service.leaveStatus());
  host.router.add('POST', '/admin/leave', (_req, res) => {
    const before = host.isLeaving();
    const st = service.leave();
    sendJson(res, before ? 200 : 202, { leave: st });
  });
  host.every(host.config.handoffIntervalMs, () => service.tick());
  host.onClose(() => service.close());
  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({ name, help, registers: [host.metrics.registry], collect() { this.set(read()); } });
  };
  gauge('ringstore_handoff_partitions_active', 'Partitions moving to or from this node', () => service.status().active);
  gauge('ringstore_handoff_keys_sent', 'Keys streamed by partition handoff in the current round', () => service.engine.status().keysSent);
  return service;
}
