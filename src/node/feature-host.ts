/**
 * What a node offers the features built on top of the core (client API,
 * session sweeps and stats, anti-entropy, ...). Features depend on this
 * interface, not on RingstoreNode, so node/ has no import cycles; each one
 * is installed from features.ts.
 */
import type * as http from 'node:http';
import type { Duplex } from 'node:stream';
import type { NodeId } from '../core/ids';
import type { Clock } from '../core/clock';
import type { NodeConfig } from '../core/config';
import type { StoredObject } from '../crdt/stored-object';
import type { Ring } from '../ring/ring';
import type { MemberTable } from '../membership/member-table';
import type { Coordinator } from '../replication/coordinator';
import type { PeerMsg } from '../replication/peer-message';
import type { Replica } from '../replication/replica';
import type { SqliteStorage } from '../storage/sqlite-storage';
import type { WsNetwork } from '../transport/ws-network';
import type { HttpRouter } from './http-router';
import type { Logger } from './logger';
import type { NodeMetrics } from './metrics';

export interface FeatureHost {
  readonly id: NodeId;
  readonly addr: string;
  readonly region: string;
  readonly config: NodeConfig;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly metrics: NodeMetrics;
  readonly router: HttpRouter;
  readonly coordinator: Coordinator;
  readonly replica: Replica;
  readonly storage: SqliteStorage<StoredObject>;
  readonly network: WsNetwork<PeerMsg>;
  currentRing(): Ring;
  members(): MemberTable;
  addPeerHandler(type: string, handler: (from: NodeId, msg: PeerMsg) => Promise<PeerMsg | undefined> | PeerMsg | undefined): void;
  addUpgradeHandler(handler: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => boolean): void;
  every(ms: number, fn: () => void): void;
  /** Add a field to /admin/status, read at each request. */
  addStatus(field: string, read: () => unknown): void;
  /** This node's view of a member: 'leaving', or the failure detector's alive/suspect/down. */
  memberStateOf(id: NodeId): 'alive' | 'suspect' | 'down' | 'leaving';
  /** Announce that this node leaves the cluster (throws LeaveRefusedError for the last member). */
  leave(): void;
  isLeaving(): boolean;
  /** Start a new IdMint epoch, durably: required before dropping opaque records (replication/id-mint.ts). */
  advanceEpoch(): Promise<number>;
  /** Called (in order) when the node closes, before storage closes. */
  onClose(fn: () => Promise<void> | void): void;
}
