/**
 * The composition root (DESIGN.md layer 8): wires storage, transport,
 * membership and replication into one running node, and serves the peer
 * protocol (/peer), the HTTP API and the admin API on one port.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import type { Duplex } from 'node:stream';
import { asNodeId, type NodeId } from '../core/ids';
import { DEFAULT_CONFIG, type NodeConfig } from '../core/config';
import { BadRequestError, LeaveRefusedError, RingstoreError } from '../core/errors';
import type { Clock } from '../core/clock';
import { Hlc } from '../clock/hlc';
import type { StoredObject } from '../crdt/stored-object';
import { buildRing, partitionsOwnedBy, type Ring } from '../ring/ring';
import { placementSummary, type PlacementSummary } from '../ring/placement';
import { peerTrafficByRegion } from './peer-traffic';
import {
  emptyTable, mergeMembers, type MemberRecord, type MemberTable,
} from '../membership/member-table';
import { SqliteStorage, type SqliteSynchronous } from '../storage/sqlite-storage';
import { Coordinator } from '../replication/coordinator';
import type { Consistency } from '../replication/client-op';
import { HintedHandoff } from '../replication/hinted-handoff';
import { IdMint } from '../replication/id-mint';
import type { PeerMsg } from '../replication/peer-message';
import { Replica } from '../replication/replica';
import { validatePeerMsg } from '../replication/wire-validate';
import { dispatchReplication, isReplicationMsg } from '../replication/peer-dispatch';
import { WsNetwork } from '../transport/ws-network';
import { GossipLoop } from './gossip-loop';
import { installDataApi } from './http-api';
import type { FeatureHost } from './feature-host';
import { installFeatures } from './features';
import { HttpRouter } from './http-router';
import type { TokenTable } from './auth';
import { createHttpGuard } from './http-guard';
import type { NodeTls } from './tls-files';
import { createLogger, type Logger } from './logger';
import { createMetrics, type NodeMetrics } from './metrics';
import { SystemClock } from './system-clock';

export interface NodeOptions {
  id: string;
  host: string;
  port: number;
  dataDir: string;
  seeds?: string[];
  region?: string;
  consistency?: Consistency;
  config?: Partial<NodeConfig>;
  logger?: Logger;
  clock?: Clock;
  /** Register Node's default process metrics (off when several nodes share a process). */
  processMetrics?: boolean;
  /** Cluster secret: peers authenticate with it (transport/peer-auth.ts). Unset: peers are trusted. */
  secret?: Uint8Array;
  /** Serve https (and wss) with this certificate, and dial peers over wss verifying theirs against `ca`. */
  tls?: NodeTls;
  /** Bearer tokens for the HTTP and client APIs (node/auth.ts). Unset: no access control. */
  tokens?: TokenTable;
  /**
   * SQLite `PRAGMA synchronous` (docs/operations.md, Durability). FULL
   * (default): every commit is fsynced before a write is acknowledged. NORMAL:
   * the WAL is fsynced at checkpoints only; survives a process crash, not a
   * power loss of the last commits.
   */
  sqliteSynchronous?: SqliteSynchronous;
}

export type MemberState = 'alive' | 'suspect' | 'down' | 'leaving';

export interface NodeStatus {
  id: string;
  addr: string;
  region: string;
  ringVersion: string;
  members: Array<{ id: string; addr: string; region: string; state: MemberState }>;
  partitions: { total: number; owned: number };
  hints: { pending: number; stored: number; delivered: number };
  handoff: { active: number; done: number; total: number };
  quorum: { n: number; r: number; w: number; consistency: Consistency };
  /** What an acknowledgement of this node promises on disk (docs/operations.md, Durability). */
  durability: { sqliteSynchronous: SqliteSynchronous };
  /** How the ring spreads each partition's N replicas over the regions (ring/placement.ts). */
  placement: PlacementSummary;
  keys: number;
  epoch: number;
  stats: Coordinator['stats'];
}

/** Answers one kind of peer message that the core protocol does not know; validates its own input. */
export type ExtraPeerHandler = (from: NodeId, msg: PeerMsg) => Promise<PeerMsg | undefined> | PeerMsg | undefined;
/** Takes a WebSocket upgrade for its own path and returns true, or returns false. */
export type UpgradeHandler = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => boolean;

const ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

export class RingstoreNode implements FeatureHost {
  readonly id: NodeId;
  readonly addr: string;
  readonly region: string;
  readonly config: NodeConfig;
  readonly logger: Logger;
  readonly coordinator: Coordinator;
  readonly metrics: NodeMetrics;
  private table: MemberTable;
  private ring: Ring;
  readonly router: HttpRouter;
  private readonly server: http.Server;
  private readonly peerHandlers = new Map<string, ExtraPeerHandler>();
  private readonly upgradeHandlers: UpgradeHandler[] = [];
  private readonly closeHooks: Array<() => Promise<void> | void> = [];
  /** Extra /admin/status fields contributed by features (addStatus). */
  private readonly statusParts = new Map<string, () => unknown>();
  private readonly timers: NodeJS.Timeout[] = [];
  private closed = false;
  private leaving = false;
  private epochChain: Promise<unknown> = Promise.resolve();
  private readonly consistency: Consistency;
  private readonly sqliteSynchronous: SqliteSynchronous;

  private constructor(
    opts: NodeOptions,
    readonly storage: SqliteStorage<StoredObject>,
    readonly network: WsNetwork<PeerMsg>,
    readonly replica: Replica,
    private readonly handoff: HintedHandoff,
    private readonly ids: IdMint,
    private readonly gossip: GossipLoop,
    self: MemberRecord,
    table: MemberTable,
    logger: Logger,
    config: NodeConfig,
    readonly clock: Clock,
  ) {
    this.id = self.id;
    this.addr = self.addr;
    this.region = self.region;
    this.config = config;
    this.logger = logger;
    this.table = table;
    this.consistency = opts.consistency ?? 'global';
    this.sqliteSynchronous = opts.sqliteSynchronous ?? 'FULL';
    this.ring = this.computeRing();
    this.coordinator = new Coordinator({
      self: this.id,
      selfRegion: this.region,
      network,
      replica,
      ring: () => this.ring,
      regionOf: (id) => this.table.get(id)?.region,
      config,
      defaultConsistency: this.consistency,
      clock,
      hlc: new Hlc(clock),
      ids,
      onBackgroundError: (err, what) => this.logError(err, what),
      onWarning: (what, fields) => logger.warn(fields, what),
    });
    this.metrics = createMetrics(this.id, {
      keys: () => storage.size(),
      hintsPending: () => replica.hintCount(),
      readRepairs: () => this.coordinator.stats.readRepairs,
      hintsStored: () => this.coordinator.stats.hintsStored,
      hintsDelivered: () => handoff.delivered(),
      forwarded: () => this.coordinator.stats.forwarded,
      membersAlive: () => this.status().members.filter((m) => m.state === 'alive').length,
    }, opts.processMetrics ?? false);
    this.router = new HttpRouter(this.metrics, logger);
    installDataApi(this.router, this);
    // Rate limit and bearer tokens in front of every route and non-peer upgrade (docs/security.md).
    const guard = createHttpGuard({
      tokens: opts.tokens ?? null, limits: config.limits, clock, logger, registry: this.metrics.registry,
    });
    const listener = guard.wrap(this.router.listener());
    this.server = opts.tls ? https.createServer({ cert: opts.tls.cert, key: opts.tls.key }, listener) : http.createServer(listener);
    this.server.on('upgrade', (req, socket: Duplex, head) => {
      // Node hands an upgrade's socket over without an 'error' listener: a
      // client resetting it while we refuse it (401, 404, 429) would throw
      // out of the process. ws listens for itself once it takes the socket.
      socket.on('error', (err: Error) => logger.debug({ err: err.message, remote: req.socket.remoteAddress }, 'upgrade socket error'));
      if (network.handleUpgrade(req, socket, head)) return;
      if (!guard.admitUpgrade(req, socket)) return;
      for (const h of this.upgradeHandlers) if (h(req, socket, head)) return;
      socket.destroy();
    });
  }

  static async start(opts: NodeOptions): Promise<RingstoreNode> {
    if (!ID_PATTERN.test(opts.id)) throw new BadRequestError(`node id must match ${ID_PATTERN}`);
    const config: NodeConfig = { ...DEFAULT_CONFIG, ...opts.config, limits: { ...DEFAULT_CONFIG.limits, ...opts.config?.limits } };
    if (!(config.r >= 1 && config.w >= 1 && config.r <= config.n && config.w <= config.n)) {
      throw new BadRequestError(`need 1 <= R, W <= N (got N=${config.n} R=${config.r} W=${config.w})`);
    }
    if (opts.sqliteSynchronous !== undefined && opts.sqliteSynchronous !== 'FULL' && opts.sqliteSynchronous !== 'NORMAL') {
      throw new BadRequestError(`sqliteSynchronous must be FULL or NORMAL, not ${JSON.stringify(opts.sqliteSynchronous)}`);
    }
    const clock = opts.clock ?? new SystemClock();
    const logger = opts.logger ?? createLogger({ nodeId: opts.id });
    fs.mkdirSync(opts.dataDir, { recursive: true });
    const storage = await SqliteStorage.open<StoredObject>(path.join(opts.dataDir, 'ringstore.db'), {
      commitBatchMax: config.commitBatchMax, synchronous: opts.sqliteSynchronous ?? 'FULL',
    });
    const id = asNodeId(opts.id);
    const storedId = storage.getMeta('node.id');
    if (storedId !== undefined && storedId !== opts.id) {
      await storage.close();
      throw new BadRequestError(`data dir ${opts.dataDir} belongs to node ${storedId}, not ${opts.id}`);
    }
    const storedQ = storage.getMeta('ring.partitions');
    if (storedQ !== undefined && Number(storedQ) !== config.partitions) {
      await storage.close();
      throw new BadRequestError(`data dir was created with ${storedQ} partitions, not ${config.partitions}`);
    }
    // A new epoch on every start: dots minted before a crash may have reached
    // other replicas without being committed here (see replication/id-mint.ts).
    const epoch = Number(storage.getMeta('epoch') ?? '0') + 1;
    await storage.setMeta('epoch', String(epoch));
    await storage.setMeta('node.id', opts.id);
    await storage.setMeta('ring.partitions', String(config.partitions));

    const addr = `${opts.host}:${opts.port}`;
    const region = opts.region ?? 'default';
    const saved = loadTable(storage.getMeta('members'));
    const previous = saved.get(id);
    const self: MemberRecord = {
      id,
      addr,
      region,
      joinedAtMs: previous?.joinedAtMs ?? clock.nowMs(),
      incarnation: (previous?.incarnation ?? 0) + 1,
      status: 'alive',
    };
    const table = mergeMembers(saved, [self]).table;
    const network = new WsNetwork<PeerMsg>({
      self: id, selfAddr: addr, region, logger, frameBytesMax: config.limits.frameBytesMax,
      secret: opts.secret, tls: opts.tls ? { ca: opts.tls.ca } : undefined,
      linksPerPeerMax: config.limits.peerLinksPerPeerMax, handshakesPerAddressMax: config.limits.peerHandshakesPerAddressMax,
    });
    const replica = new Replica(id, storage, config.partitions, {
      clock, reapedMemoryMs: config.tombstoneReapedMemoryMs, reapedMemoryMax: config.tombstoneReapedMemoryMax,
    });
    const handoff = new HintedHandoff(replica, storage, network, {
      batchMax: config.hintBatchMax, timeoutMs: config.requestTimeoutMs,
    });
    const ids = new IdMint(id, epoch);
    let node: RingstoreNode | null = null;
    const gossip = new GossipLoop({
      self: id, network, clock, logger, intervalMs: config.gossipIntervalMs,
      seeds: opts.seeds ?? [], selfAddr: addr,
      table: () => node!.table,
      adopt: (t, changed) => node!.adopt(t, changed),
      settings: config,
    });
    node = new RingstoreNode(opts, storage, network, replica, handoff, ids, gossip, self, table, logger, config, clock);
    await node.persistTable();
    for (const m of table.values()) if (m.id !== id) network.addPeer(m.id, m.addr, m.region);
    installFeatures(node);
    node.addStatus('security', () => {
      const s = network.stats();
      return {
        peerAuth: opts.secret !== undefined, tls: opts.tls !== undefined, accessControl: opts.tokens !== undefined,
        authFailures: s.authFailures, linksRefused: s.linksRefused,
      };
    });
    node.addStatus('traffic', () => peerTrafficByRegion(network.stats().peers, region));
    network.setHandler((from, msg) => node!.onPeerMessage(from, msg));
    network.onPeerUp((peer) => {
      void handoff.deliverTo(peer);
    });
    await new Promise<void>((resolve, reject) => {
      node!.server.once('error', reject);
      node!.server.listen(opts.port, opts.host, () => {
        node!.server.off('error', reject);
        resolve();
      });
    });
    gossip.start();
    node.every(config.hintRetryIntervalMs, () => {
      handoff.tick().catch((err) => node!.logError(err, 'hinted handoff'));
    });
    logger.info({ addr, region, epoch, keys: storage.size(), hints: replica.hintCount() }, 'node started');
    return node;
  }

  /** The address the HTTP server really listens on (useful with port 0). */
  listeningPort(): number {
    const a = this.server.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  currentRing(): Ring {
    return this.ring;
  }

  members(): MemberTable {
    return this.table;
  }

  status(): NodeStatus & Record<string, unknown> {
    const members = [...this.table.values()]
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .map((m) => ({ id: m.id, addr: m.addr, region: m.region, state: this.memberState(m), ...this.memberDetail(m) }));
    return {
      id: this.id,
      addr: this.addr,
      region: this.region,
      ringVersion: this.ring.version,
      members,
      partitions: { total: this.ring.q, owned: partitionsOwnedBy(this.ring, this.id).length },
      placement: placementSummary(this.ring, this.config.n),
      hints: {
        pending: this.replica.hintCount(),
        stored: this.coordinator.stats.hintsStored,
        delivered: this.handoff.delivered(),
      },
      handoff: { active: 0, done: 0, total: 0 },
      quorum: { n: this.config.n, r: this.config.r, w: this.config.w, consistency: this.consistency },
      durability: { sqliteSynchronous: this.sqliteSynchronous },
      keys: this.storage.size(),
      epoch: this.ids.currentEpoch(),
      stats: { ...this.coordinator.stats },
      ...Object.fromEntries([...this.statusParts].map(([field, read]) => [field, read()])),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.gossip.stop();
    for (const t of this.timers) clearInterval(t);
    for (const hook of this.closeHooks) await hook();
    // Upgraded WebSocket sockets still count as the server's connections:
    // close the links first or server.close() waits for them forever.
    await this.network.close();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    await this.storage.close();
    this.logger.info('node stopped');
  }

  private memberState(m: MemberRecord): MemberState {
    if (m.status === 'leaving') return 'leaving';
    if (m.id === this.id) return 'alive';
    return this.gossip.stateOf(m.id);
  }

  /** Detector figures shown with each member in /admin/status. */
  private memberDetail(m: MemberRecord): { incarnation: number; phi?: number; silentMs?: number | null } {
    if (m.id === this.id) return { incarnation: m.incarnation };
    const d = this.gossip.detail(m.id);
    return { incarnation: m.incarnation, phi: Number(d.phi.toFixed(2)), silentMs: d.silentMs === null ? null : Math.round(d.silentMs) };
  }

  /** This node's view of a member: 'leaving', or the failure detector's alive/suspect/down (docs/membership.md). */
  memberStateOf(id: NodeId): MemberState {
    const m = this.table.get(id);
    return m ? this.memberState(m) : 'down';
  }

  /**
   * Leave the cluster (docs/membership.md): this node's record turns
   * 'leaving' under a new incarnation, so every ring, this node's first, drops
   * it, and partition handoff moves its data to the new replicas.
   */
  leave(): void {
    const mine = this.table.get(this.id);
    if (this.leaving || !mine) return;
    if (![...this.table.values()].some((m) => m.id !== this.id && m.status === 'alive')) {
      throw new LeaveRefusedError('the last member of a cluster cannot leave it');
    }
    this.leaving = true;
    const rec: MemberRecord = { ...mine, status: 'leaving', incarnation: mine.incarnation + 1 };
    this.adopt(mergeMembers(this.table, [rec]).table, [rec]);
  }

  isLeaving(): boolean {
    return this.leaving;
  }

  /** Start a new IdMint epoch, durably first (replication/id-mint.ts: before opaque records are dropped). */
  advanceEpoch(): Promise<number> {
    const next = this.epochChain.then(async () => {
      const epoch = this.ids.currentEpoch() + 1;
      await this.storage.setMeta('epoch', String(epoch));
      this.ids.advanceEpoch(epoch);
      return epoch;
    });
    this.epochChain = next.catch(() => undefined);
    return next;
  }

  /** Not async: a get is answered in the turn it arrives (transport/handler-call.ts), a put when its commit lands. */
  private onPeerMessage(from: NodeId, raw: PeerMsg): Promise<PeerMsg | undefined> | PeerMsg | undefined {
    const extra = this.peerHandlers.get(raw.type);
    if (extra) return extra(from, raw);
    const msg = validatePeerMsg(raw, this.config.limits, this.config.n);
    if (isReplicationMsg(msg)) return dispatchReplication(this.id, msg, this.replica, this.coordinator);
    if (msg.type === 'gossip') return this.gossip.receive(from, msg);
    throw new BadRequestError(`unexpected peer message ${msg.type}`);
  }

  private adopt(table: MemberTable, changed: MemberRecord[]): void {
    const mine = table.get(this.id);
    const status = this.leaving ? 'leaving' : 'alive';
    if (mine && (mine.addr !== this.addr || mine.region !== this.region || mine.status !== status)) {
      // Someone gossips a stale or false record about us: outbid it.
      const fixed: MemberRecord = { ...mine, addr: this.addr, region: this.region, status, incarnation: mine.incarnation + 1 };
      table = mergeMembers(table, [fixed]).table;
    }
    this.table = table;
    for (const m of changed) if (m.id !== this.id) this.network.addPeer(m.id, m.addr, m.region);
    const before = this.ring.version;
    this.ring = this.computeRing();
    if (this.ring.version !== before) {
      this.logger.info({ ringVersion: this.ring.version, members: this.table.size }, 'ring changed');
    }
    this.persistTable().catch((err) => this.logError(err, 'persist members'));
  }

  private computeRing(): Ring {
    const all = [...this.table.values()];
    // Leaving members are out of the ring; should every member be leaving, keep them all rather than have no ring.
    const live = all.filter((m) => m.status === 'alive');
    const members = (live.length > 0 ? live : all).map((m) => ({ id: m.id, region: m.region, joinedAtMs: m.joinedAtMs }));
    return buildRing(members, this.config.partitions);
  }

  private persistTable(): Promise<void> {
    return this.storage.setMeta('members', JSON.stringify([...this.table.values()]));
  }

  /** Let a feature answer peer messages of `type` (one handler per type). */
  addPeerHandler(type: string, handler: ExtraPeerHandler): void {
    if (this.peerHandlers.has(type)) throw new Error(`peer handler for ${type} already installed`);
    this.peerHandlers.set(type, handler);
  }

  /** Add a field to /admin/status, read at each request (one feature per field). */
  addStatus(field: string, read: () => unknown): void {
    if (this.statusParts.has(field)) throw new Error(`status field ${field} already installed`);
    this.statusParts.set(field, read);
  }

  onClose(fn: () => Promise<void> | void): void {
    this.closeHooks.push(fn);
  }

  /** Let a feature take WebSocket upgrades of its own path (e.g. /client). */
  addUpgradeHandler(handler: UpgradeHandler): void {
    this.upgradeHandlers.push(handler);
  }

  /** Run `fn` every `ms` until the node closes (timers live only in node/). */
  every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.timers.push(t);
  }

  logError(err: unknown, what: string): void {
    if (this.closed) return;
    if (err instanceof RingstoreError) this.logger.warn({ code: err.code, err: err.message }, what);
    else this.logger.error({ err }, what);
  }
}

function loadTable(json: string | undefined): MemberTable {
  if (!json) return emptyTable();
  const records = JSON.parse(json) as MemberRecord[];
  return mergeMembers(emptyTable(), records).table;
}
