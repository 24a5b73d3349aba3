/**
 * Background anti-entropy on a running node (Dynamo 4.7; docs/anti-entropy.md).
 *
 * Every `antiEntropyIntervalMs` the node starts one exchange, unless the
 * previous one is still running: the next (partition, peer) pair in a fixed
 * rotation over the partitions it replicates and their other replicas
 * (skipping peers the transport cannot reach), compares the two hash trees
 * level by level and repairs the differing keys both ways
 * (replication/anti-entropy/partition-exchange.ts). The rotation bounds the
 * time to find a divergence: pairs x interval for this node alone, less as
 * the other replicas run their own rotations.
 *
 * It also answers the tree queries of its peers ('ae-level', 'ae-keys'),
 * for partitions it replicates only: a node outside the preference list
 * would otherwise answer with an empty tree and be sent the whole partition.
 *
 * Counters (exchanges, bytes, keys repaired) are in /admin/status under
 * `antiEntropy` and in /metrics. Bytes are those of the exchanges this node
 * started, requests and replies, as packed on the wire.
 */
import { Gauge } from 'prom-client';
import { NotReplicaError, RingstoreError } from '../core/errors';
import { asPartitionId, type NodeId, type PartitionId } from '../core/ids';
import { preferenceList } from '../ring/preference-list';
import type { Ring } from '../ring/ring';
import type { PeerMsg } from '../replication/peer-message';
import { answerTreeQueryMsg, networkPeer } from '../replication/anti-entropy/anti-entropy-peer';
import { treeId, type TreeShape } from '../replication/anti-entropy/hash-tree';
import { exchangePartition, type ExchangeResult } from '../replication/anti-entropy/partition-exchange';
import { PartitionTrees, type PartitionTreesStats } from '../replication/anti-entropy/partition-trees';
import type { FeatureHost } from './feature-host';

export interface AntiEntropyExchangeReport extends ExchangeResult {
  partition: number;
  peer: string;
  bytes: number;
  ms: number;
  atMs: number;
}

export interface AntiEntropyStatus {
  /** 0 when this node starts no exchanges (it still answers its peers). */
  intervalMs: number;
  /** Tree shape and hash version, e.g. ae1-16-3. */
  tree: string;
  exchanges: number;
  exchangesFailed: number;
  /** Differing keys found, summed over exchanges. */
  keysDiffering: number;
  /** Keys changed on either side by this node's exchanges. */
  keysRepaired: number;
  keysPulled: number;
  keysPushed: number;
  bytesExchanged: number;
  /** Tree queries answered for peers. */
  queriesAnswered: number;
  trees: PartitionTreesStats;
  lastExchange: AntiEntropyExchangeReport | null;
}

export class AntiEntropyService {
  readonly trees: PartitionTrees;
  private readonly shape: TreeShape;
  private running: Promise<AntiEntropyExchangeReport | null> | null = null;
  private stopped = false;
  private cursor = 0;
  private pairsFor: { version: string; pairs: Array<[PartitionId, NodeId]> } = { version: '', pairs: [] };
  private readonly counts = {
    exchanges: 0, exchangesFailed: 0, keysDiffering: 0, keysRepaired: 0, keysPulled: 0, keysPushed: 0, bytesExchanged: 0, queriesAnswered: 0,
  };
  private last: AntiEntropyExchangeReport | null = null;

  constructor(private readonly host: FeatureHost) {
    const c = host.config;
    this.shape = { fanout: c.antiEntropyTreeFanout, depth: c.antiEntropyTreeDepth };
    this.trees = new PartitionTrees(host.storage, { partitions: c.partitions, shape: this.shape, rebuildMs: c.antiEntropyTreeRebuildMs });
    host.replica.onChange((key) => this.trees.noteChange(key));
    const answer = async (_from: NodeId, msg: PeerMsg): Promise<PeerMsg> => {
      await this.prepareQueried(msg);
      const reply = answerTreeQueryMsg(msg, c.partitions, this.shape, (p) => {
        const ring = host.currentRing();
        if (!this.replicates(ring, p)) throw new NotReplicaError(`${host.id} does not replicate partition ${p}`);
        return this.trees.tree(p, host.clock.nowMs());
      });
      this.counts.queriesAnswered++;
      return reply;
    };
    host.addPeerHandler('ae-level', answer);
    host.addPeerHandler('ae-keys', answer);
    host.addStatus('antiEntropy', () => this.status());
    host.onClose(() => {
      this.stopped = true;
    });
    this.registerMetrics();
    if (c.antiEntropyIntervalMs > 0) host.every(c.antiEntropyIntervalMs, () => this.tick());
  }

  /** Start the next exchange unless one is running. */
  tick(): void {
    if (this.running || this.stopped) return;
    this.running = this.runOnce().finally(() => {
      this.running = null;
    });
    this.running.catch((err) => {
      // After close, the network and storage go away under a running exchange.
      if (this.stopped) return;
      if (err instanceof RingstoreError) this.host.logger.warn({ code: err.code, err: err.message }, 'anti-entropy exchange failed');
      else this.host.logger.error({ err }, 'anti-entropy exchange failed');
    });
  }

  /** Run the next exchange in the rotation; null when there is no reachable peer to exchange with. */
  async runOnce(): Promise<AntiEntropyExchangeReport | null> {
    const ring = this.host.currentRing();
    const pairs = this.pairs(ring);
    for (let tried = 0; tried < pairs.length; tried++) {
      const [partition, peer] = pairs[this.cursor++ % pairs.length]!;
      if (!this.host.network.isReachable(peer)) continue;
      return this.exchange(partition, peer);
    }
    return null;
  }

  /** One exchange of `partition` with `peer`, counted in the status. */
  async exchange(partition: PartitionId, peer: NodeId): Promise<AntiEntropyExchangeReport> {
    const c = this.host.config;
    const started = this.host.clock.nowMs();
    let bytes = 0;
    const remote = networkPeer(this.host.network, peer, {
      partition, shape: this.shape, timeoutMs: c.requestTimeoutMs, onBytes: (b) => { bytes += b; },
    });
    this.counts.exchanges++;
    try {
      await this.trees.prepare(partition, this.now, yieldTurn);
      const tree = this.trees.tree(partition, this.host.clock.nowMs());
      const result = await exchangePartition(tree, this.host.replica, remote, { nowMs: started, keysMax: c.antiEntropyKeysMax });
      const report: AntiEntropyExchangeReport = {
        ...result, partition, peer, bytes, ms: this.host.clock.nowMs() - started, atMs: started,
      };
      this.counts.keysDiffering += result.differing;
      this.counts.keysRepaired += result.repaired;
      this.counts.keysPulled += result.pulled;
      this.counts.keysPushed += result.pushed;
      this.last = report;
      if (result.differing > 0) {
        this.host.logger.info({ partition, peer, differing: result.differing, repaired: result.repaired, bytes, ms: report.ms }, 'anti-entropy repaired');
      }
      return report;
    } catch (err) {
      this.counts.exchangesFailed++;
      throw err;
    } finally {
      this.counts.bytesExchanged += bytes;
    }
  }

  status(): AntiEntropyStatus {
    return {
      intervalMs: this.host.config.antiEntropyIntervalMs,
      tree: treeId(this.shape),
      ...this.counts,
      trees: this.trees.stats(),
      lastExchange: this.last,
    };
  }

  private readonly now = (): number => this.host.clock.nowMs();

  /**
   * Build (in slices) the tree a peer's query asks about, before answering
   * it synchronously. A query for a partition this node does not hold, or a
   * malformed one, builds nothing: answerTreeQueryMsg refuses it.
   */
  private async prepareQueried(msg: PeerMsg): Promise<void> {
    const p = (msg as { partition?: unknown }).partition;
    if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p >= this.host.config.partitions) return;
    const partition = asPartitionId(p);
    if (!this.replicates(this.host.currentRing(), partition)) return;
    await this.trees.prepare(partition, this.now, yieldTurn);
  }

  private replicates(ring: Ring, p: PartitionId): boolean {
    return preferenceList(ring, p, this.host.config.n).includes(this.host.id);
  }

  /** (partition, other replica) pairs of the current ring; trees of partitions no longer held are dropped. */
  private pairs(ring: Ring): Array<[PartitionId, NodeId]> {
    if (this.pairsFor.version === ring.version) return this.pairsFor.pairs;
    const pairs: Array<[PartitionId, NodeId]> = [];
    const held = new Set<PartitionId>();
    for (let i = 0; i < ring.q; i++) {
      const p = asPartitionId(i);
      const replicas = preferenceList(ring, p, this.host.config.n);
      if (!replicas.includes(this.host.id)) continue;
      held.add(p);
      for (const r of replicas) if (r !== this.host.id) pairs.push([p, r]);
    }
    this.trees.retain((p) => held.has(p));
    this.pairsFor = { version: ring.version, pairs };
    return pairs;
  }

  private registerMetrics(): void {
    const registry = this.host.metrics.registry;
    const gauge = (name: string, help: string, read: () => number): void => {
      new Gauge({ name, help, registers: [registry], collect() { this.set(read()); } });
    };
    gauge('ringstore_anti_entropy_exchanges', 'Anti-entropy exchanges this node started since start', () => this.counts.exchanges);
    gauge('ringstore_anti_entropy_exchange_failures', 'Anti-entropy exchanges that failed since start', () => this.counts.exchangesFailed);
    gauge('ringstore_anti_entropy_keys_differing', 'Differing keys found by anti-entropy since start', () => this.counts.keysDiffering);
    gauge('ringstore_anti_entropy_keys_repaired', 'Keys repaired by anti-entropy since start', () => this.counts.keysRepaired);
    gauge('ringstore_anti_entropy_bytes', 'Bytes sent and received by anti-entropy exchanges this node started', () => this.counts.bytesExchanged);
    gauge('ringstore_anti_entropy_trees', 'Partition hash trees held in memory', () => this.trees.stats().trees);
  }
}

/** Let the event loop run between slices of a tree build. */
function yieldTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export function installAntiEntropy(host: FeatureHost): AntiEntropyService {
  return new AntiEntropyService(host);
}
