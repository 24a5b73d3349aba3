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
 */
import type { NodeId } from '../../src/core/ids';
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
import type { EventQueue } from './event-queue';
import type { Mutation } from './mutations';
import type { SkewedClock } from './sim-clock';
import { LinkFaults, SimEndpoint } from './sim-network';

export type NodeState = 'up' | 'down' | 'starting';

export interface SimNodeDeps {
  id: NodeId;
  region: string;
  hub: MemoryHub<PeerMsg>;
  queue: EventQueue;
  links: LinkFaults;
  config: NodeConfig;
  ring: Ring;
  regionOf: (id: NodeId) => string | undefined;
  clock: SkewedClock;
  /** Group-commit delay of this node's disk, drawn per commit. */
  commitDelayMs: () => number;
  /** Phase of the first hinted-handoff tick after each start. */
  tickPhaseMs: () => number;
  mutation: Mutation;
  mutationRandom: Random;
  log: (text: string) => void;
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
  private endpoint: SimEndpoint | null = null;
  private hasStorage = false;
  private midCommit: (() => void) | null = null;
  /** Read repairs and hint deliveries of crashed incarnations, so totals survive restarts. */
  private retired = { readRepairs: 0, hintsDelivered: 0 };

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
    const replica = new Replica(d.id, port, d.config.partitions);
    const coordinator = new Coordinator({
      self: d.id,
      selfRegion: d.region,
      network: endpoint,
      replica,
      ring: () => d.ring,
      regionOf: d.regionOf,
      config: d.config,
      defaultConsistency: 'global',
      clock: d.clock,
      hlc: new Hlc(d.clock),
      ids: new IdMint(d.id, epoch),
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
    endpoint.setHandler((_from, msg) => {
      if (isReplicationMsg(msg)) return dispatchReplication(d.id, msg, replica, coordinator);
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

  /** Power loss: uncommitted writes are gone, links reset. */
  crash(): void {
    if (this.state === 'down') return;
    if (this.state === 'up') {
      this.retired.readRepairs += this.coordinator.stats.readRepairs;
      this.retired.hintsDelivered += this.handoff.delivered();
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
}
