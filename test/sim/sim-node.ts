/**
 * One simulated node: the real Replica, Coordinator and HintedHandoff over
 * MemoryStorage and a MemoryHub endpoint, wired as RingstoreNode wires them
 * (src/node/ringstore-node.ts), with its timers on the virtual event queue.
 *
 * Crash and restart follow a real process: crash() loses every uncommitted
 * write (MemoryStorage.crash) and resets the node's links (it leaves the
 * hub, so requests to and from it fail at once); start() after a crash
 * reopens the committed state, persists a new id epoch (old + 1, as
 * RingstoreNode.start does, so no dot minted before the crash is minted
 * again), and builds a fresh Replica, Coordinator and HintedHandoff. The
 * old instances may still hold pending promises; they fail against the
 * closed storage and the closed endpoint, and nothing they finish counts.
 *
 * Besides, as RingstoreNode's features do: anti-entropy (hash trees per
 * partition over the node's own copies, answering peers' tree queries as
 * node/anti-entropy-service.ts does; the simulation drives the exchanges)
 * and partition handoff (replication/partition-handoff.ts, ticked on the
 * virtual clock the way node/handoff-service.ts ticks it, its plan saved in
 * meta so a restart finishes it). The ring is read through `ring()`, so a
 * membership change reaches every node, and a node that leaves stops for
 * good (state 'left') once it has handed everything off.
 *
 * And tombstone reaping (replication/tombstone-reaper.ts), ticked every
 * `tombstoneReapIntervalMs` of virtual time as node/tombstone-service.ts
 * ticks it (0, the simulator's default outside its reap runs: no reaping),
 * its epoch bump shared with partition handoff's.
 */
import type { NodeId, PartitionId } from '../../src/core/ids';
import { NotReplicaError } from '../../src/core/errors';
import type { NodeConfig } from '../../src/core/config';
import type { Random } from '../../src/core/prng';
import { Hlc } from '../../src/clock/hlc';
import type { StoredObject } from '../../src/crdt/stored-object';
import type { Ring } from '../../src/ring/ring';
import { MemoryStorage } from '../../src/storage/memory-storage';
import type { MemoryHub } from '../../src/transport/memory-network';
import { Coordinator } from '../../src/replication/coordinator';
import { HintedHandoff } from '../../src/replication/hinted-handoff';
import { IdMint } from '../../src/replication/id-mint';
import type { PeerMsg } from '../../src/replication/peer-message';
import { dispatchReplication, isReplicationMsg } from '../../src/replication/peer-dispatch';
import { Replica } from '../../src/replication/replica';
import { preferenceList } from '../../src/ring/preference-list';
import { answerTreeQueryMsg, isTreeQueryMsg, networkPeer } from '../../src/replication/anti-entropy/anti-entropy-peer';
import type { TreeShape } from '../../src/replication/anti-entropy/hash-tree';
import { exchangePartition, type ExchangeResult } from '../../src/replication/anti-entropy/partition-exchange';
import { PartitionTrees } from '../../src/replication/anti-entropy/partition-trees';
import { PartitionHandoff } from '../../src/replication/partition-handoff';
import { answerTombCheck, TombstoneReaper } from '../../src/replication/tombstone-reaper';
import type { EventQueue } from './event-queue';
import type { Mutation } from './mutations';
import type { SkewedClock } from './sim-clock';
import { LinkFaults, SimEndpoint } from './sim-network';

export type NodeState = 'up' | 'down' | 'starting' | 'left';

const PENDING_META = 'handoff.pending';

export interface SimNodeDeps {
  id: NodeId;
  region: string;
  hub: MemoryHub<PeerMsg>;
  queue: EventQueue;
  links: LinkFaults;
  config: NodeConfig;
  /** The ring this node holds now (membership changes swap it). */
  ring: () => Ring;
  regionOf: (id: NodeId) => string | undefined;
  clock: SkewedClock;
  /** Group-commit delay of this node's disk, drawn per commit. */
  commitDelayMs: () => number;
  /** Phase of the first hinted-handoff tick after each start. */
  tickPhaseMs: () => number;
  mutation: Mutation;
  mutationRandom: Random;
  log: (text: string) => void;
  /** Told of every tombstone this node reaps, with its context. */
  onReaped?: (node: NodeId, key: string, vv: Record<string, number>) => void;
  /** Errors of background work (read repair, hints) and mutation-swallowed ones. */
  onBackgroundError: (err: unknown, what: string) => void;
}

export class SimNode {
  readonly id: NodeId;
  readonly region: string;
  state: NodeState = 'down';
  /** Bumped on every start; an operation started on an older incarnation is never acknowledged. */
  incarnation = 0;
  epoch = 0;
  /** The raw storage (the replica may use a mutated wrapper of it). */
  storage!: MemoryStorage<StoredObject>;
  replica!: Replica;
  coordinator!: Coordinator;
  handoff!: HintedHandoff;
  trees!: PartitionTrees;
  partitions!: PartitionHandoff;
  reaper!: TombstoneReaper;
  /** The ring version this node's handoff has planned for and swept orphans under (handoffIdle). */
  private handoffSwept = '';
  private endpoint: SimEndpoint | null = null;
  private hasStorage = false;
  private midCommit: (() => void) | null = null;
  /** Read repairs and hint deliveries of crashed incarnations, so totals survive restarts. */
  private retired = { readRepairs: 0, hintsDelivered: 0, reaped: 0 };

  constructor(private readonly d: SimNodeDeps) {
    this.id = d.id;
    this.region = d.region;
  }

  isUp(): boolean {
    return this.state === 'up';
  }

  /** First start or restart after crash(); resolves once the node serves. */
  async start(): Promise<void> {
    if (this.state !== 'down') return;
    this.state = 'starting';
    const d = this.d;
    const restart = this.hasStorage;
    const storage = restart
      ? this.storage.reopen()
      : new MemoryStorage<StoredObject>({ schedule: (commit) => this.scheduleCommit(commit) });
    this.storage = storage;
    this.hasStorage = true;
    if (restart) await d.mutation.onRestart(storage);
    const epoch = d.mutation.nextEpoch(Number(storage.getMeta('epoch') ?? '0'));
    await storage.setMeta('epoch', String(epoch));
    if (this.state !== 'starting' || this.storage !== storage) return; // crashed while starting
    this.epoch = epoch;
    this.incarnation += 1;
    const port = d.mutation.wrapStorage(storage, (err) => d.onBackgroundError(err, 'mutation swallowed a commit failure'));
    const endpoint = new SimEndpoint(d.hub.join(d.id, d.region), d.links, d.log, d.mutation.interceptor(d.mutationRandom));
    this.endpoint = endpoint;
    const replica = new Replica(d.id, port, d.config.partitions, {
      clock: d.clock, reapedMemoryMs: d.config.tombstoneReapedMemoryMs, reapedMemoryMax: d.config.tombstoneReapedMemoryMax,
    });
    const ids = new IdMint(d.id, epoch);
    const coordinator = new Coordinator({
      self: d.id,
      selfRegion: d.region,
      network: endpoint,
      replica,
      ring: d.ring,
      regionOf: d.regionOf,
      config: d.config,
      defaultConsistency: 'global',
      clock: d.clock,
      hlc: new Hlc(d.clock),
      ids,
      onBackgroundError: d.onBackgroundError,
    });
    d.mutation.patchCoordinator(coordinator);
    const handoff = new HintedHandoff(replica, port, endpoint, {
      batchMax: d.config.hintBatchMax,
      timeoutMs: d.config.requestTimeoutMs,
    });
    this.replica = replica;
    this.coordinator = coordinator;
    this.handoff = handoff;
    // Anti-entropy trees over this node's own copies (node/anti-entropy-service.ts).
    const trees = new PartitionTrees(storage, { partitions: d.config.partitions, shape: this.shape(), rebuildMs: d.config.antiEntropyTreeRebuildMs });
    replica.onChange((key) => trees.noteChange(key));
    this.trees = trees;
    // Partition handoff (node/handoff-service.ts), its epoch bump as RingstoreNode.advanceEpoch.
    let epochChain: Promise<unknown> = Promise.resolve();
    const advanceEpoch = async (): Promise<void> => {
      const next = epochChain.then(async () => {
        const e = ids.currentEpoch() + 1;
        await storage.setMeta('epoch', String(e));
        ids.advanceEpoch(e);
        this.epoch = e;
      });
      epochChain = next.catch(() => undefined);
      await next;
    };
    const partitions = new PartitionHandoff({
      self: d.id,
      network: endpoint,
      storage: port,
      ring: d.ring,
      n: d.config.n,
      batchKeys: d.config.handoffBatchKeys,
      streamsMax: d.config.handoffStreamsMax,
      timeoutMs: d.config.requestTimeoutMs * 2,
      usable: (id) => endpoint.isReachable(id),
      beforeDrop: advanceEpoch,
      nowMs: () => d.clock.nowMs(),
      retryBaseMs: 100,
      retryMaxMs: 1_000,
    });
    const saved = storage.getMeta(PENDING_META);
    if (saved) partitions.restore(JSON.parse(saved) as Record<string, string[]>);
    this.partitions = partitions;
    const reaper = new TombstoneReaper({
      self: d.id, replica, network: endpoint, ring: d.ring, n: d.config.n, clock: d.clock,
      graceMs: d.config.tombstoneGraceMs, batchMax: d.config.tombstoneReapBatchMax, timeoutMs: d.config.requestTimeoutMs,
      beforeDrop: advanceEpoch,
      onReaped: (key, tomb) => d.onReaped?.(d.id, key, tomb.vv),
    });
    this.reaper = reaper;
    endpoint.setHandler((_from, msg) => {
      if (isReplicationMsg(msg)) return dispatchReplication(d.id, msg, replica, coordinator);
      if (msg.type === 'tomb-check') return answerTombCheck(replica, msg);
      if (isTreeQueryMsg(msg)) {
        return answerTreeQueryMsg(msg, d.config.partitions, this.shape(), (p) => {
          if (!this.replicates(p)) throw new NotReplicaError(`${d.id} does not replicate partition ${p}`);
          return trees.tree(p, d.clock.nowMs());
        });
      }
      if (msg.type === 'handoff-begin' || msg.type === 'handoff-end') return { type: 'handoff-ok' };
      return undefined;
    });
    // As RingstoreNode: offer hints as soon as a link comes up, and on a timer.
    endpoint.onPeerUp((peer) => {
      handoff.deliverTo(peer).catch((err) => d.onBackgroundError(err, 'hinted handoff'));
    });
    const incarnation = this.incarnation;
    const tick = (): void => {
      if (this.incarnation !== incarnation || this.state !== 'up') return;
      handoff.tick().catch((err) => d.onBackgroundError(err, 'hinted handoff'));
      d.queue.schedule(d.config.hintRetryIntervalMs, tick, `handoff-tick ${d.id}`);
    };
    d.queue.schedule(d.tickPhaseMs(), tick, `handoff-tick ${d.id}`);
    // As HandoffService.tick: plan on a ring change, sweep orphans once the ring has been still, pump.
    // A restarted node has swept nothing yet (what it restored or still holds is judged afresh).
    this.handoffSwept = '';
    let lastRing = d.ring();
    const startedAt = d.queue.now();
    let stillSince = startedAt;
    let savedPending = saved ?? '{}';
    const persist = (): void => {
      if (this.incarnation !== incarnation || this.state !== 'up') return;
      const json = JSON.stringify(partitions.snapshot());
      if (json === savedPending) return;
      savedPending = json;
      storage.setMeta(PENDING_META, json).catch((err) => d.onBackgroundError(err, 'saving handoff plan'));
    };
    const partitionTick = (): void => {
      if (this.incarnation !== incarnation || this.state !== 'up') return;
      const ring = d.ring();
      if (ring.version !== lastRing.version) {
        partitions.ringChanged(lastRing, ring);
        d.log(`${d.id} ring ${lastRing.version} -> ${ring.version}: ${partitions.status().active} partitions to hand off`);
        lastRing = ring;
        stillSince = d.queue.now();
      }
      const settleMs = 3 * d.config.handoffIntervalMs;
      if (d.queue.now() - stillSince >= settleMs && d.queue.now() - startedAt >= settleMs) {
        partitions.sweepOrphans();
        this.handoffSwept = ring.version;
      }
      persist();
      if (!partitions.idle()) partitions.pump().then(persist, (err) => d.onBackgroundError(err, 'partition handoff'));
      d.queue.schedule(d.config.handoffIntervalMs, partitionTick, `partition-tick ${d.id}`);
    };
    d.queue.schedule(d.tickPhaseMs(), partitionTick, `partition-tick ${d.id}`);
    if (d.config.tombstoneReapIntervalMs > 0) {
      const reapTick = (): void => {
        if (this.incarnation !== incarnation || this.state !== 'up') return;
        reaper.tick().then((r) => {
          if (r.reaped > 0) d.log(`${d.id} reaped ${r.reaped} tombstones`);
        }, (err) => d.onBackgroundError(err, 'tombstone reaper'));
        d.queue.schedule(d.config.tombstoneReapIntervalMs, reapTick, `reap-tick ${d.id}`);
      };
      d.queue.schedule(d.tickPhaseMs(), reapTick, `reap-tick ${d.id}`);
    }
    this.state = 'up';
    d.log(`${d.id} started epoch=${epoch} keys=${storage.size()} hints=${storage.hintCount()}`);
  }

  /**
   * Run `fn` halfway through this node's next group commit: the moment a
   * crash loses writes that are applied but not yet durable, which is where
   * durability bugs show (FoundationDB's buggify picks such moments too).
   */
  armMidCommit(fn: () => void): void {
    this.midCommit = fn;
  }

  disarm(): void {
    this.midCommit = null;
  }

  private scheduleCommit(commit: () => void): void {
    const delay = this.d.commitDelayMs();
    this.d.queue.schedule(delay, commit, `commit ${this.id}`);
    const armed = this.midCommit;
    if (armed) {
      this.midCommit = null;
      this.d.queue.schedule(delay / 2, armed, `mid-commit ${this.id}`);
    }
  }

  /** One anti-entropy exchange of `partition` with `peer` (node/anti-entropy-service.ts exchange()). */
  async exchange(partition: PartitionId, peer: NodeId): Promise<ExchangeResult> {
    const d = this.d;
    const now = d.clock.nowMs();
    const endpoint = this.endpoint;
    if (this.state !== 'up' || !endpoint) throw new NotReplicaError(`${this.id} is not up`);
    const remote = networkPeer(endpoint, peer, { partition, shape: this.shape(), timeoutMs: d.config.requestTimeoutMs });
    return exchangePartition(this.trees.tree(partition, now), this.replica, remote, { nowMs: now, keysMax: d.config.antiEntropyKeysMax });
  }

  /** Whether this node replicates `p` under the ring it holds now. */
  replicates(p: PartitionId): boolean {
    return preferenceList(this.d.ring(), p, this.d.config.n).includes(this.id);
  }

  /** Up, and partition handoff has planned for the ring of now, swept its orphans under it, and has no work left. */
  handoffIdle(): boolean {
    return this.state === 'up' && this.handoffSwept === this.d.ring().version && this.partitions.idle();
  }

  /** Stop for good after leaving the cluster: nothing restarts it. */
  stopForGood(): void {
    this.crash();
    this.state = 'left';
    this.d.log(`${this.id} left the cluster`);
  }

  private shape(): TreeShape {
    return { fanout: this.d.config.antiEntropyTreeFanout, depth: this.d.config.antiEntropyTreeDepth };
  }

  /** Power loss: uncommitted writes are gone, links reset. */
  crash(): void {
    if (this.state === 'down' || this.state === 'left') return;
    if (this.state === 'up') {
      void this.partitions.stop();
      this.retired.readRepairs += this.coordinator.stats.readRepairs;
      this.retired.hintsDelivered += this.handoff.delivered();
      this.retired.reaped += this.replica.stats.reaped;
    }
    this.state = 'down';
    this.storage.crash();
    const endpoint = this.endpoint;
    this.endpoint = null;
    if (endpoint) void endpoint.close();
    this.d.log(`${this.id} crashed`);
  }

  readRepairs(): number {
    return this.retired.readRepairs + (this.state === 'up' ? this.coordinator.stats.readRepairs : 0);
  }

  /** Tombstones this node reaped, over all its incarnations. */
  reaped(): number {
    return this.retired.reaped + (this.state === 'up' ? this.replica.stats.reaped : 0);
  }

  hintsDelivered(): number {
    return this.retired.hintsDelivered + (this.state === 'up' ? this.handoff.delivered() : 0);
  }

  /** This node's own committed-or-not copy (the live view), for invariant checks. */
  own(key: string): StoredObject | undefined {
    return this.storage.get(key);
  }

  hintCount(): number {
    return this.storage.hintCount();
  }

  tombstoneCount(): number {
    return this.state === 'up' ? this.replica.tombstoneCount() : 0;
  }
}
