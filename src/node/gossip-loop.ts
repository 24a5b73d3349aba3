/**
 * Drives membership gossip over the network (Dynamo 4.8; protocol in
 * membership/gossiper.ts): every interval the node bumps its heartbeat,
 * judges its peers with the phi accrual detector, and exchanges digests
 * (member table + heartbeats) with a few random peers, plus the seeds whose
 * ids it does not know yet. Incoming gossip is answered with our digest.
 * Seeds are dialled under a placeholder id `seed@HOST:PORT` until a member
 * with that address is known.
 *
 * Timers, the wall clock and the socket live here; every decision is the
 * Gossiper's.
 */
import { createHash } from 'node:crypto';
import type { NodeId } from '../core/ids';
import { asNodeId } from '../core/ids';
import type { Clock } from '../core/clock';
import { DEFAULT_CONFIG } from '../core/config';
import { Prng, type Random } from '../core/prng';
import { parseHeartbeats } from '../membership/heartbeat';
import {
  Gossiper, gossiperConfig, type GossipDigest, type MembershipSettings,
} from '../membership/gossiper';
import type { Liveness, LivenessChange, LivenessDetail } from '../membership/liveness';
import { parseMemberRecord, type MemberRecord, type MemberTable } from '../membership/member-table';
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
  /** Fanout and detector settings; DEFAULT_CONFIG's when absent. */
  settings?: Partial<MembershipSettings>;
  /** Seeded randomness for target choice; by default seeded from the id and start time (logged). */
  random?: Random;
}

export class GossipLoop {
  private timer: NodeJS.Timeout | null = null;
  private readonly seedIds = new Map<string, NodeId>();
  private readonly gossiper: Gossiper;
  private readonly random: Random;
  private readonly lastRevivedMs = new Map<NodeId, number>();
  private readonly changeListeners: Array<(c: LivenessChange) => void> = [];
  private exchangesOk = 0;

  constructor(private readonly d: GossipDeps) {
    for (const addr of d.seeds) {
      if (addr === d.selfAddr) continue;
      const id = asNodeId(`seed@${addr}`);
      this.seedIds.set(addr, id);
      d.network.addPeer(id, addr);
    }
    const now = d.clock.nowMs();
    const settings: MembershipSettings = {
      gossipIntervalMs: d.intervalMs,
      gossipFanout: d.settings?.gossipFanout ?? DEFAULT_CONFIG.gossipFanout,
      phiSuspect: d.settings?.phiSuspect ?? DEFAULT_CONFIG.phiSuspect,
      heartbeatPauseMs: d.settings?.heartbeatPauseMs ?? DEFAULT_CONFIG.heartbeatPauseMs,
      downAfterMs: d.settings?.downAfterMs ?? DEFAULT_CONFIG.downAfterMs,
    };
    // The generation is the start time (heartbeat.ts): a restart outranks every heartbeat of the last life.
    this.gossiper = new Gossiper(d.self, Math.floor(now), gossiperConfig(settings), now);
    if (d.random) this.random = d.random;
    else {
      const seed = createHash('md5').update(`${d.self}:${now}`).digest().readUInt32BE(0);
      d.logger.debug({ seed }, 'gossip target seed');
      this.random = new Prng(seed);
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

  /** This node's opinion of a member's liveness (membership/liveness.ts). */
  stateOf(id: NodeId): Liveness {
    return this.gossiper.stateOf(id);
  }

  detail(id: NodeId): LivenessDetail {
    return this.gossiper.detail(id, this.d.clock.nowMs());
  }

  /** Gossip exchanges that got an answer since start. */
  exchanges(): number {
    return this.exchangesOk;
  }

  onLivenessChange(cb: (c: LivenessChange) => void): void {
    this.changeListeners.push(cb);
  }

  /** Answer a peer's gossip (already validated by wire-validate) with our digest. */
  receive(from: NodeId, msg: { members: MemberRecord[]; beats?: GossipDigest['beats'] }): PeerMsg {
    this.absorb({ members: msg.members, beats: msg.beats ?? [] });
    this.reviveLink(from);
    return { type: 'gossip-ok', ...this.gossiper.digest(this.d.table()) };
  }

  round(): void {
    const table = this.d.table();
    const known = new Set<string>();
    for (const m of table.values()) known.add(m.addr);
    for (const [addr, id] of this.seedIds) {
      if (!known.has(addr)) continue;
      this.seedIds.delete(addr);
      this.d.network.removePeer(id);
    }
    const { targets, changes } = this.gossiper.round(table, [...this.seedIds.values()], this.d.clock.nowMs(), this.random);
    this.report(changes);
    const msg: PeerMsg = { type: 'gossip', ...this.gossiper.digest(table) };
    for (const to of targets) this.exchange(to, msg);
  }

  private exchange(to: NodeId, msg: PeerMsg): void {
    this.d.network.request(to, msg, this.d.intervalMs * 2).then(
      (reply) => {
        if (reply.type !== 'gossip-ok') return;
        // Replies are not checked by wire-validate: check them here.
        let digest: GossipDigest;
        try {
          digest = { members: reply.members.map(parseMemberRecord), beats: parseHeartbeats(reply.beats) };
        } catch (err) {
          this.d.logger.warn({ peer: to, err: (err as Error).message }, 'malformed gossip reply ignored');
          return;
        }
        this.exchangesOk += 1;
        this.absorb(digest);
      },
      (err: unknown) => {
        this.d.logger.debug({ peer: to, code: (err as { code?: string }).code }, 'gossip exchange failed');
      },
    );
  }

  private absorb(digest: GossipDigest): void {
    const { table, changed, changes } = this.gossiper.absorb(this.d.table(), digest, this.d.clock.nowMs());
    if (changed.length > 0) this.d.adopt(table, changed);
    this.report(changes);
  }

  private report(changes: LivenessChange[]): void {
    for (const c of changes) {
      const fields = { peer: c.id, from: c.from, to: c.to, silentMs: Math.round(c.silentMs), phi: Number(c.phi.toFixed(2)) };
      if (c.to === 'alive') this.d.logger.info(fields, 'member alive');
      else this.d.logger.warn(fields, `member ${c.to}`);
      for (const cb of this.changeListeners) cb(c);
    }
  }

  /**
   * A peer that talks to us is up, but our own link to it may be waiting out
   * a redial backoff (up to seconds after it restarted): redial now, at most
   * once per interval, so requests to it work again at once.
   */
  private reviveLink(from: NodeId): void {
    if (this.d.network.isReachable(from)) return;
    const rec = this.d.table().get(from);
    const link = this.d.network.stats().peers[from];
    if (!rec || !link || link.state !== 'backoff') return;
    const now = this.d.clock.nowMs();
    if (now - (this.lastRevivedMs.get(from) ?? 0) < this.d.intervalMs) return;
    this.lastRevivedMs.set(from, now);
    this.d.network.removePeer(from);
    this.d.network.addPeer(from, rec.addr, rec.region);
  }
}
