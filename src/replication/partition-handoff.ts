/**
 * Partition handoff (Dynamo 4.9, adding and removing storage nodes): streams
 * this node's copy of each partition in the plan (handoff-plan.ts) to its
 * pending targets, and drops a partition this node no longer replicates only
 * after every target has acknowledged every key.
 *
 * Streaming: a `handoff-begin` notice, then the partition's keys as ordinary
 * `put` messages in batches of `batchKeys`, each batch sent at once and
 * awaited (a replica acknowledges a put only after its commit, so a batch
 * lands in one group commit), then `handoff-end`. Puts merge on arrival
 * (replica.ts), so a stream that restarts after a failure, or overlaps with
 * live writes, read repair or another old replica's stream, does no harm.
 * At most `streamsMax` (partition, target) streams run at once.
 *
 * Dropping: only keys whose stored version is the very object every target
 * acknowledged are removed; a key written meanwhile stays, and is handed on
 * by the next orphan sweep. Before a pass removes any opaque or cart record (both hold dots), the
 * node's IdMint epoch is advanced durably (`beforeDrop`; see id-mint.ts: a
 * node that forgets a key's dots must never mint them again).
 *
 * A session copy already expired (by nowMs) is not sent: it counts as
 * acknowledged, so it is dropped with the partition (it reads as absent
 * everywhere, and its new replica would refuse it, replica.ts).
 *
 * Targets the failure detector holds down are not tried (they keep their
 * place in the plan); failed streams retry with exponential backoff. Data
 * is never dropped because a target is unreachable.
 */
import type { NodeId, PartitionId } from '../core/ids';
import { asPartitionId } from '../core/ids';
import type { Network } from '../core/network-port';
import type { Storage } from '../core/storage-port';
import { ClosedError } from '../core/errors';
import { objectByteSize, objectExpiresAtMs, type StoredObject } from '../crdt/stored-object';
import type { Ring } from '../ring/ring';
import { mergePending, orphanTargets, replicates, ringChangeTargets, type PendingTargets } from './handoff-plan';
import type { PeerMsg } from './peer-message';

/** Partitions whose streams are all done that trigger a drop pass before the run ends. */
const SETTLE_BATCH_PARTITIONS = 16;

export interface PartitionHandoffDeps {
  self: NodeId;
  network: Network<PeerMsg>;
  storage: Storage<StoredObject>;
  /** The ring now (read again before every drop). */
  ring: () => Ring;
  n: number;
  batchKeys: number;
  streamsMax: number;
  timeoutMs: number;
  /** Whether a target is worth trying now (the failure detector does not hold it down). */
  usable: (id: NodeId) => boolean;
  /** Runs before a pass removes opaque or cart records: advance the IdMint epoch durably. */
  beforeDrop: () => Promise<void>;
  nowMs: () => number;
  /** Called with errors of background work (streams that failed are also retried). */
  onError?: (err: unknown, what: string) => void;
  retryBaseMs?: number;
  retryMaxMs?: number;
}

export type TargetState = 'pending' | 'streaming' | 'waiting' | 'done';
export type PartitionState = 'pending' | 'streaming' | 'waiting' | 'dropping' | 'done';

export interface TargetProgress {
  id: NodeId;
  state: TargetState;
  keysSent: number;
  keysTotal: number;
  /** Keys not sent because their session had expired. */
  keysExpired: number;
  attempts: number;
  error?: string;
}

export interface PartitionProgress {
  partition: number;
  state: PartitionState;
  /** Whether this node drops its copy once every target has it. */
  drop: boolean;
  targets: TargetProgress[];
  keysDropped: number;
}

export interface HandoffStatus {
  /** Partitions with work left. */
  active: number;
  /** Partitions finished since the current round of work began. */
  done: number;
  total: number;
  keysSent: number;
  bytesSent: number;
  keysDropped: number;
  /** When the current round began and (if idle) ended, in ms. */
  startedAtMs: number | null;
  finishedAtMs: number | null;
  /** bytesSent over the time spent streaming, in MB/s (10^6 bytes). */
  mbPerSec: number;
  partitions: PartitionProgress[];
}

interface Target extends TargetProgress {
  nextTryMs: number;
  /** key -> the exact version the target acknowledged. */
  acked: Map<string, StoredObject>;
}

export class PartitionHandoff {
  private pending = new Map<PartitionId, Map<NodeId, Target>>();
  /** Partitions finished in the current round, for status. */
  private finished = new Map<PartitionId, PartitionProgress>();
  private dropping = new Set<PartitionId>();
  private running = 0;
  private busySinceMs = 0;
  private settling = false;
  private settleAgain = false;
  private pumping: Promise<void> | null = null;
  private stopped = false;
  private round = { startedAtMs: null as number | null, finishedAtMs: null as number | null, keysSent: 0, bytesSent: 0, keysDropped: 0, streamMs: 0 };

  constructor(private readonly d: PartitionHandoffDeps) {}

  /** Plan the pushes a ring change asks of this node. */
  ringChanged(from: Ring, to: Ring): void {
    this.schedule(ringChangeTargets(this.d.self, from, to, this.d.n, (p) => this.holds(p)), to);
  }

  /** Plan pushes of every partition this node holds but does not replicate. */
  sweepOrphans(): void {
    const ring = this.d.ring();
    const orphans = orphanTargets(this.d.self, ring, this.d.n, (p) => this.holds(p) && !this.pending.has(p));
    this.schedule(orphans, ring);
  }

  /** Pending targets per partition, for persisting across a restart. */
  snapshot(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [p, targets] of this.pending) {
      const left = [...targets.values()].filter((t) => t.state !== 'done').map((t) => t.id);
      if (left.length > 0) out[String(p)] = left;
    }
    return out;
  }

  /** Take back a snapshot() after a restart (restricted to today's replicas). */
  restore(saved: Record<string, string[]>): void {
    const plan: PendingTargets = new Map();
    for (const [p, ids] of Object.entries(saved)) plan.set(asPartitionId(Number(p)), new Set(ids as NodeId[]));
    this.schedule(plan, this.d.ring());
  }

  /** Start no more streams or drops; resolves when the current run has wound down. */
  stop(): Promise<void> {
    this.stopped = true;
    return this.pumping ?? Promise.resolve();
  }

  idle(): boolean {
    return this.pending.size === 0 && this.running === 0;
  }

  /**
   * Run streams until nothing is due, then drop what can be dropped.
   * Concurrent calls share one run.
   */
  pump(): Promise<void> {
    if (!this.pumping && !this.stopped) {
      this.pumping = this.run().finally(() => {
        this.pumping = null;
      });
    }
    return this.pumping ?? Promise.resolve();
  }

  status(): HandoffStatus {
    const ring = this.d.ring();
    const partitions: PartitionProgress[] = [];
    for (const [p, targets] of this.pending) {
      const ts = [...targets.values()];
      const state: PartitionState =
        this.dropping.has(p) ? 'dropping'
        : ts.some((t) => t.state === 'streaming') ? 'streaming'
        : ts.some((t) => t.state === 'waiting') ? 'waiting'
        : ts.every((t) => t.state === 'done') ? 'dropping'
        : 'pending';
      partitions.push({
        partition: p, state, drop: !replicates(ring, p, this.d.n, this.d.self),
        targets: ts.map(progressOf), keysDropped: 0,
      });
    }
    partitions.push(...this.finished.values());
    partitions.sort((a, b) => a.partition - b.partition);
    const r = this.round;
    const busyMs = r.streamMs + (this.running > 0 ? this.d.nowMs() - this.busySinceMs : 0);
    return {
      active: this.pending.size,
      done: this.finished.size,
      total: this.pending.size + this.finished.size,
      keysSent: r.keysSent,
      bytesSent: r.bytesSent,
      keysDropped: r.keysDropped,
      startedAtMs: r.startedAtMs,
      finishedAtMs: r.finishedAtMs,
      mbPerSec: busyMs > 0 ? Number((r.bytesSent / 1e6 / (busyMs / 1000)).toFixed(3)) : 0,
      partitions,
    };
  }

  private holds(p: PartitionId): boolean {
    for (const _ of this.d.storage.keysInPartition(p)) return true;
    return false;
  }

  private schedule(additions: PendingTargets, ring: Ring): void {
    const current: PendingTargets = new Map([...this.pending].map(([p, ts]) => [p, new Set(ts.keys())]));
    const merged = mergePending(current, additions, ring, this.d.n, this.d.self);
    const next = new Map<PartitionId, Map<NodeId, Target>>();
    for (const [p, ids] of merged) {
      const old = this.pending.get(p);
      const targets = new Map<NodeId, Target>();
      for (const id of ids) targets.set(id, old?.get(id) ?? newTarget(id));
      next.set(p, targets);
    }
    // A partition struck off while its streams run keeps nothing; they finish harmlessly.
    if (next.size > 0 && this.pending.size === 0 && this.running === 0) this.startRound();
    this.pending = next;
  }

  private startRound(): void {
    this.finished.clear();
    this.round = { startedAtMs: this.d.nowMs(), finishedAtMs: null, keysSent: 0, bytesSent: 0, keysDropped: 0, streamMs: 0 };
  }

  private async run(): Promise<void> {
    const workers: Promise<void>[] = [];
    for (let i = 0; i < this.d.streamsMax; i++) workers.push(this.worker());
    await Promise.all(workers);
    await this.settle();
  }

  private async worker(): Promise<void> {
    for (;;) {
      const next = this.nextDue();
      if (!next) return;
      const [p, target] = next;
      if (this.running++ === 0) this.busySinceMs = this.d.nowMs();
      try {
        await this.stream(p, target);
      } finally {
        if (--this.running === 0) this.round.streamMs += this.d.nowMs() - this.busySinceMs;
      }
      // Settle in batches as partitions complete: acknowledged versions are not held for the
      // whole run, and one epoch bump covers many partitions' drops.
      if (this.readyCount() >= SETTLE_BATCH_PARTITIONS) await this.settle();
    }
  }

  private readyCount(): number {
    let ready = 0;
    for (const targets of this.pending.values()) if ([...targets.values()].every((t) => t.state === 'done')) ready++;
    return ready;
  }

  /** The first (partition, target) stream that is due: not running, not done, not backing off, target usable. */
  private nextDue(): [PartitionId, Target] | null {
    if (this.stopped) return null;
    const now = this.d.nowMs();
    for (const [p, targets] of this.pending) {
      for (const t of targets.values()) {
        if (t.state === 'streaming' || t.state === 'done' || t.nextTryMs > now) continue;
        if (!this.d.usable(t.id)) {
          t.state = 'waiting';
          t.error = 'target is down';
          continue;
        }
        t.state = 'streaming';
        return [p, t];
      }
    }
    return null;
  }

  private async stream(p: PartitionId, t: Target): Promise<void> {
    const { network, storage, timeoutMs, batchKeys } = this.d;
    const keys = [...storage.keysInPartition(p)];
    t.keysTotal = keys.length;
    t.keysSent = 0;
    t.keysExpired = 0;
    t.attempts++;
    t.acked = new Map();
    try {
      await network.request(t.id, { type: 'handoff-begin', partition: p, keys: keys.length }, timeoutMs);
      for (let i = 0; i < keys.length; i += batchKeys) {
        if (this.stopped) throw new ClosedError('partition handoff');
        const batch = keys.slice(i, i + batchKeys);
        await Promise.all(batch.map(async (key) => {
          const obj = storage.get(key);
          if (obj === undefined) return; // removed meanwhile (swept, or dropped by an earlier pass)
          const exp = objectExpiresAtMs(obj);
          if (exp !== null && exp <= this.d.nowMs()) {
            t.acked.set(key, obj);
            t.keysExpired++;
            return;
          }
          await network.request(t.id, { type: 'put', key, obj }, timeoutMs);
          t.acked.set(key, obj);
          t.keysSent++;
          this.round.keysSent++;
          this.round.bytesSent += objectByteSize(obj);
        }));
      }
      await network.request(t.id, { type: 'handoff-end', partition: p, keys: t.keysSent }, timeoutMs);
      t.state = 'done';
      delete t.error;
    } catch (err) {
      t.state = 'waiting';
      t.acked = new Map();
      t.error = (err as { code?: string }).code ?? (err as Error).message;
      const base = this.d.retryBaseMs ?? 500;
      const max = this.d.retryMaxMs ?? 10_000;
      t.nextTryMs = this.d.nowMs() + Math.min(max, base * 2 ** Math.min(t.attempts - 1, 20));
      this.d.onError?.(err, `handoff of partition ${p} to ${t.id}`);
    }
  }

  /**
   * Settle every partition whose targets all have our copy: drop it if we no
   * longer replicate it, then strike it from the plan. One pass at a time;
   * partitions that become ready during a pass are taken by a further pass,
   * so one epoch bump covers all the drops that were waiting for it.
   */
  private async settle(): Promise<void> {
    if (this.stopped) return;
    if (this.settling) {
      this.settleAgain = true;
      return;
    }
    this.settling = true;
    try {
      do {
        this.settleAgain = false;
        await this.settleOnce();
      } while (this.settleAgain);
    } finally {
      this.settling = false;
    }
    if (this.pending.size === 0 && this.running === 0 && this.round.startedAtMs !== null && this.round.finishedAtMs === null) {
      this.round.finishedAtMs = this.d.nowMs();
    }
  }

  private async settleOnce(): Promise<void> {
    const ready: Array<[PartitionId, Target[]]> = [];
    for (const [p, targets] of this.pending) {
      const ts = [...targets.values()];
      if (ts.every((t) => t.state === 'done')) ready.push([p, ts]);
    }
    if (ready.length === 0) return;
    const ring = this.d.ring();
    const drops = ready.filter(([p]) => !replicates(ring, p, this.d.n, this.d.self));
    for (const [p, ts] of ready) if (!drops.some(([q]) => q === p)) this.finish(p, ts, false, 0);
    if (drops.length === 0) return;
    for (const [p] of drops) this.dropping.add(p);
    try {
      // Opaque values and carts both hold dots of this node's epoch actor.
      const dotted = drops.some(([p, ts]) => this.droppable(p, ts).some((k) => {
        const kind = this.d.storage.get(k)?.kind;
        return kind === 'opaque' || kind === 'cart';
      }));
      if (dotted) await this.d.beforeDrop();
      const now = this.d.ring();
      for (const [p, ts] of drops) {
        // Check again after the await: the plan or the ring may have moved, a write may have landed.
        if (!this.stillPlanned(p, ts) || replicates(now, p, this.d.n, this.d.self)) continue;
        const keys = this.droppable(p, ts);
        // remove() takes the key out of memory at once; only the commit is awaited.
        await Promise.all(keys.map((k) => this.d.storage.remove(k)));
        this.round.keysDropped += keys.length;
        this.finish(p, ts, true, keys.length);
      }
    } finally {
      for (const [p] of drops) this.dropping.delete(p);
    }
  }

  /** Keys of p whose stored version is exactly what every target acknowledged. */
  private droppable(p: PartitionId, ts: Target[]): string[] {
    const out: string[] = [];
    for (const k of this.d.storage.keysInPartition(p)) {
      const cur = this.d.storage.get(k);
      if (cur !== undefined && ts.every((t) => t.acked.get(k) === cur)) out.push(k);
    }
    return out;
  }

  /** Whether the plan for p still holds exactly the targets `ts` (a ring change may have added one). */
  private stillPlanned(p: PartitionId, ts: Target[]): boolean {
    const targets = this.pending.get(p);
    return targets !== undefined && [...targets.values()].every((t) => ts.includes(t));
  }

  private finish(p: PartitionId, ts: Target[], drop: boolean, keysDropped: number): void {
    if (!this.stillPlanned(p, ts)) return;
    this.pending.delete(p);
    for (const t of ts) t.acked = new Map();
    this.finished.set(p, { partition: p, state: 'done', drop, targets: ts.map(progressOf), keysDropped });
  }
}

function newTarget(id: NodeId): Target {
  return { id, state: 'pending', keysSent: 0, keysTotal: 0, keysExpired: 0, attempts: 0, nextTryMs: 0, acked: new Map() };
}

function progressOf(t: Target): TargetProgress {
  const p: TargetProgress = { id: t.id, state: t.state, keysSent: t.keysSent, keysTotal: t.keysTotal, keysExpired: t.keysExpired, attempts: t.attempts };
  if (t.error !== undefined) p.error = t.error;
  return p;
}
