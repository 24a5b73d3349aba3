/**
 * The gossip protocol as a pure state machine (Dynamo 4.8; heartbeats and
 * failure detection as in Cassandra's Gossiper): each round a node bumps its
 * own heartbeat, judges its peers, and picks a few random peers to exchange
 * digests with; a digest is the member table (records merged by incarnation,
 * member-table.ts) plus the newest heartbeat known of every member
 * (heartbeat.ts). Exchanges are push-pull: the request carries the sender's
 * digest and the reply the receiver's, so one exchange updates both sides.
 *
 * The member table itself is kept by the caller (the node persists it and
 * derives the ring from it); the Gossiper keeps only volatile state: this
 * node's heartbeat and its opinion of everyone's liveness. node/gossip-loop.ts
 * drives it with timers and the network; a simulator can drive it with
 * virtual time and a seeded Random.
 */
import type { NodeId } from '../core/ids';
import type { Random } from '../core/prng';
import type { HeartbeatEntry } from './heartbeat';
import { chooseGossipTargets } from './gossip-targets';
import { LivenessTracker, type DetectorConfig, type Liveness, type LivenessChange, type LivenessDetail } from './liveness';
import { mergeMembers, type MemberRecord, type MemberTable } from './member-table';

export interface GossipDigest {
  members: MemberRecord[];
  beats: HeartbeatEntry[];
}

/** What status reports of a member: liveness, unless the member announced it is leaving. */
export type MemberState = Liveness | 'leaving';

export interface GossiperConfig {
  fanout: number;
  detector: DetectorConfig;
}

/** The tunables of membership as NodeConfig names them (core/config.ts). */
export interface MembershipSettings {
  gossipIntervalMs: number;
  gossipFanout: number;
  phiSuspect: number;
  heartbeatPauseMs: number;
  downAfterMs: number;
}

/**
 * Detector parameters from the node's settings. The expected heartbeat
 * interval is the gossip interval; the deviation floor is a tenth of it (Akka:
 * 100 ms for 1 s heartbeats); one sample counts as at most 4 intervals, which
 * bounds detection (phi-accrual.ts suspectBoundMs); ticks further apart than
 * an interval plus the acceptable pause are a local pause.
 */
export function gossiperConfig(s: MembershipSettings): GossiperConfig {
  const i = s.gossipIntervalMs;
  return {
    fanout: s.gossipFanout,
    detector: {
      windowSize: 100,
      firstIntervalMs: i,
      minStdDevMs: Math.max(1, i / 10),
      pauseMs: s.heartbeatPauseMs,
      sampleMaxMs: 4 * i,
      phiSuspect: s.phiSuspect,
      downAfterMs: s.downAfterMs,
      localPauseMaxMs: i + s.heartbeatPauseMs,
    },
  };
}

export function memberState(rec: MemberRecord, liveness: Liveness): MemberState {
  return rec.status === 'leaving' ? 'leaving' : liveness;
}

export interface AbsorbResult {
  /** The merged member table (the same object when nothing changed). */
  table: MemberTable;
  /** Records that were new or newer. */
  changed: MemberRecord[];
  /** Liveness changes caused by fresh heartbeats. */
  changes: LivenessChange[];
}

export class Gossiper {
  private readonly liveness: LivenessTracker;

  constructor(
    readonly self: NodeId,
    generation: number,
    private readonly cfg: GossiperConfig,
    nowMs: number,
  ) {
    this.liveness = new LivenessTracker(self, generation, cfg.detector, nowMs);
  }

  /** Start a round: bump our heartbeat, judge peers, choose whom to talk to. */
  round(
    table: MemberTable, unresolvedSeeds: readonly NodeId[], nowMs: number, random: Random,
  ): { targets: NodeId[]; changes: LivenessChange[] } {
    this.liveness.beat();
    const changes = this.liveness.tick(nowMs);
    const candidates = [...table.keys()].sort().map((id) => ({ id, state: this.liveness.stateOf(id) }));
    return { targets: chooseGossipTargets(this.self, candidates, unresolvedSeeds, this.cfg.fanout, random), changes };
  }

  /** What this node tells a peer. */
  digest(table: MemberTable): GossipDigest {
    return { members: [...table.values()], beats: this.liveness.heartbeats() };
  }

  /** Take in a peer's digest. Heartbeats of ids not in the (merged) table are ignored. */
  absorb(table: MemberTable, digest: GossipDigest, nowMs: number): AbsorbResult {
    const merged = mergeMembers(table, digest.members);
    const changes: LivenessChange[] = [];
    for (const [id, generation, version] of digest.beats) {
      if (!merged.table.has(id)) continue;
      const { change } = this.liveness.heard(id, { generation, version }, nowMs);
      if (change) changes.push(change);
    }
    return { table: merged.table, changed: merged.changed, changes };
  }

  stateOf(id: NodeId): Liveness {
    return this.liveness.stateOf(id);
  }

  detail(id: NodeId, nowMs: number): LivenessDetail {
    return this.liveness.detail(id, nowMs);
  }

  selfHeartbeat(): { generation: number; version: number } {
    return this.liveness.selfHeartbeat();
  }
}
