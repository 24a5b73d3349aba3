/**
 * Drives membership gossip over the network (Dynamo 4.8): every interval the
 * node sends its member table to every known peer and to seeds whose ids it
 * does not know yet; replies and incoming gossip are merged with the pure
 * member-table rules. Seeds are dialled under a placeholder id until their
 * own record arrives.
 */
import type { NodeId } from '../core/ids';
import { asNodeId } from '../core/ids';
import type { Clock } from '../core/clock';
import { mergeMembers, type MemberRecord, type MemberTable } from '../membership/member-table';
import type { PeerMsg } from '../replication/peer-message';
import type { WsNetwork } from '../transport/ws-network';
import type { Logger } from './logger';

export interface GossipDeps {
  self: NodeId;
  network: WsNetwork<PeerMsg>;
  clock: Clock;
  logger: Logger;
  intervalMs: number;
  seeds: string[];
  selfAddr: string;
  table: () => MemberTable;
  /** Called with the merged table whenever gossip changed it. */
  adopt: (table: MemberTable, changed: MemberRecord[]) => void;
}

export class GossipLoop {
  private timer: NodeJS.Timeout | null = null;
  private readonly lastContactMs = new Map<NodeId, number>();
  private readonly seedIds = new Map<string, NodeId>();

  constructor(private readonly d: GossipDeps) {
    for (const addr of d.seeds) {
      if (addr === d.selfAddr) continue;
      const id = asNodeId(`seed@${addr}`);
      this.seedIds.set(addr, id);
      d.network.addPeer(id, addr);
    }
  }

  start(): void {
    this.round();
    this.timer = setInterval(() => this.round(), this.d.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Milliseconds since a peer last answered gossip, or null if never. */
  sinceContactMs(id: NodeId): number | null {
    const t = this.lastContactMs.get(id);
    return t === undefined ? null : this.d.clock.nowMs() - t;
  }

  /** Merge gossip received from a peer; returns our table for the reply. */
  receive(from: NodeId, members: MemberRecord[]): MemberRecord[] {
    this.lastContactMs.set(from, this.d.clock.nowMs());
    this.merge(members);
    return [...this.d.table().values()];
  }

  round(): void {
    const mine = [...this.d.table().values()];
    const known = new Set<string>();
    for (const m of mine) {
      known.add(m.addr);
      if (m.id !== this.d.self) this.exchange(m.id, mine);
    }
    for (const [addr, id] of this.seedIds) {
      if (known.has(addr)) {
        this.seedIds.delete(addr);
        this.d.network.removePeer(id);
      } else this.exchange(id, mine);
    }
  }

  private exchange(to: NodeId, mine: MemberRecord[]): void {
    this.d.network.request(to, { type: 'gossip', members: mine }, this.d.intervalMs * 2).then(
      (reply) => {
        if (reply.type !== 'gossip-ok') return;
        this.lastContactMs.set(to, this.d.clock.nowMs());
        this.merge(reply.members);
      },
      (err: unknown) => {
        this.d.logger.debug({ peer: to, code: (err as { code?: string }).code }, 'gossip exchange failed');
      },
    );
  }

  private merge(members: MemberRecord[]): void {
    const { table, changed } = mergeMembers(this.d.table(), members);
    if (changed.length > 0) this.d.adopt(table, changed);
  }
}
