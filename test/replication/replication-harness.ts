/**
 * In-process replicas for replication tests: the real Coordinator, Replica
 * and HintedHandoff over MemoryStorage and the in-memory network hub.
 */
import { asNodeId, type NodeId } from '../../src/core/ids';
import { DEFAULT_CONFIG, type NodeConfig } from '../../src/core/config';
import { ManualClock } from '../../src/core/clock';
import { Hlc } from '../../src/clock/hlc';
import type { StoredObject } from '../../src/crdt/stored-object';
import { buildRing, type Ring } from '../../src/ring/ring';
import { MemoryStorage } from '../../src/storage/memory-storage';
import { MemoryHub } from '../../src/transport/memory-network';
import { Coordinator } from '../../src/replication/coordinator';
import { HintedHandoff } from '../../src/replication/hinted-handoff';
import { IdMint } from '../../src/replication/id-mint';
import type { PeerMsg } from '../../src/replication/peer-message';
import { Replica } from '../../src/replication/replica';
import { dispatchReplication, isReplicationMsg } from '../../src/replication/peer-dispatch';
import { TombstoneReaper, answerTombCheck } from '../../src/replication/tombstone-reaper';
import type { Consistency } from '../../src/replication/client-op';

export interface TestNode {
  id: NodeId;
  region: string;
  storage: MemoryStorage<StoredObject>;
  replica: Replica;
  coordinator: Coordinator;
  handoff: HintedHandoff;
  ids: IdMint;
  reaper: TombstoneReaper;
}

export class ReplicationCluster {
  readonly hub = new MemoryHub<PeerMsg>();
  readonly nodes = new Map<string, TestNode>();
  readonly ring: Ring;
  readonly clock = new ManualClock();
  readonly config: NodeConfig;

  constructor(ids: string[], opts: {
    n?: number; r?: number; w?: number; q?: number; regions?: string[]; consistency?: Consistency;
    tombstoneGraceMs?: number; reapedMemoryMs?: number; minAcks?: number;
  } = {}) {
    this.config = {
      ...DEFAULT_CONFIG, n: opts.n ?? 3, r: opts.r ?? 2, w: opts.w ?? 2, partitions: opts.q ?? 64, requestTimeoutMs: 200,
      minAcks: opts.minAcks ?? DEFAULT_CONFIG.minAcks,
      tombstoneGraceMs: opts.tombstoneGraceMs ?? DEFAULT_CONFIG.tombstoneGraceMs,
    };
    const regions = opts.regions ?? ['r1'];
    const regionOf = new Map(ids.map((id, i) => [id, regions[i % regions.length]!]));
    this.ring = buildRing(ids.map((id, i) => ({ id: asNodeId(id), region: regionOf.get(id)!, joinedAtMs: i })), this.config.partitions);
    for (const raw of ids) {
      const id = asNodeId(raw);
      const region = regionOf.get(raw)!;
      const network = this.hub.join(id, region);
      const storage = new MemoryStorage<StoredObject>();
      const replica = new Replica(id, storage, this.config.partitions, { clock: this.clock, reapedMemoryMs: opts.reapedMemoryMs });
      const mint = new IdMint(id, 1);
      const coordinator = new Coordinator({
        self: id, selfRegion: region, network, replica, ring: () => this.ring,
        regionOf: (x) => regionOf.get(x), config: this.config, defaultConsistency: opts.consistency ?? 'global',
        clock: this.clock, hlc: new Hlc(this.clock), ids: mint,
      });
      const handoff = new HintedHandoff(replica, storage, network, { batchMax: 100, timeoutMs: 200 });
      const reaper = new TombstoneReaper({
        self: id, replica, network, ring: () => this.ring, n: this.config.n, clock: this.clock,
        graceMs: this.config.tombstoneGraceMs, batchMax: 500, timeoutMs: 200,
        beforeDrop: async () => {
          const next = mint.currentEpoch() + 1;
          await storage.setMeta('epoch', String(next));
          mint.advanceEpoch(next);
        },
      });
      network.setHandler((_from, msg) => {
        if (isReplicationMsg(msg)) return dispatchReplication(id, msg, replica, coordinator);
        if (msg.type === 'tomb-check') return answerTombCheck(replica, msg);
        return undefined;
      });
      this.nodes.set(raw, { id, region, storage, replica, coordinator, handoff, ids: mint, reaper });
    }
  }

  node(id: string): TestNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }
}
