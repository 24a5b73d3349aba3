/**
 * Each node's own opinion of which members are alive, suspect or down
 * (Dynamo 4.8.3: failure detection is local; "node A may consider node B
 * failed if node B does not respond to node A's messages", and nothing else
 * in the cluster has to agree). Opinions come from heartbeats relayed by
 * gossip (heartbeat.ts) judged by a phi accrual detector (phi-accrual.ts),
 * and move through three states:
 *
 *   alive   --phi >= phiSuspect-->        suspect
 *   suspect --downAfterMs in suspect-->   down     (SWIM's suspicion timeout)
 *   suspect, down --any newer heartbeat--> alive
 *
 * A member that has never been heard from is down. A heartbeat of a newer
 * generation means the member restarted: its arrival history starts over.
 * Gaps that end a suspicion are not added to the history (they would teach
 * the detector that long silences are normal), as Cassandra ignores
 * intervals above its maximum.
 *
 * Liveness never changes the ring: ownership moves only on join and leave
 * (docs/membership.md, "thrash protection"); liveness only tells status,
 * gossip and handoff whom to expect an answer from.
 *
 * A local pause (this process stalled, e.g. a long GC or a starved CPU) would
 * make everyone look silent at once. When ticks are further apart than
 * localPauseMaxMs, the tick judges nobody and shifts every member's last
 * heartbeat forward by the pause, as Cassandra does ("Not marking nodes down
 * due to local pause").
 */
import { assert } from '../core/assert';
import type { NodeId } from '../core/ids';
import { compareHeartbeats, type Heartbeat, type HeartbeatEntry } from './heartbeat';
import { ArrivalWindow, type PhiConfig } from './phi-accrual';

export type Liveness = 'alive' | 'suspect' | 'down';

export interface DetectorConfig extends PhiConfig {
  /** phi at which an alive member becomes suspect. */
  phiSuspect: number;
  /** Time a member stays suspect before it is down. */
  downAfterMs: number;
  /** Ticks further apart than this are a local pause: nobody is judged. */
  localPauseMaxMs: number;
}

export interface LivenessChange {
  id: NodeId;
  from: Liveness;
  to: Liveness;
  atMs: number;
  /** Time since the member was last heard from. */
  silentMs: number;
  phi: number;
}

export interface LivenessDetail {
  state: Liveness;
  /** Time since the member was last heard from (null: never). */
  silentMs: number | null;
  phi: number;
  /** Time spent in the current state. */
  inStateMs: number;
  /** Mean heartbeat inter-arrival time. */
  meanIntervalMs: number;
  /** Silence after which this member would become suspect, from its history. */
  suspectAfterMs: number;
}

interface Entry {
  beat: Heartbeat;
  lastHeardMs: number;
  state: Liveness;
  sinceMs: number;
  window: ArrivalWindow;
}

export class LivenessTracker {
  private readonly entries = new Map<NodeId, Entry>();
  private selfBeat: { generation: number; version: number };
  private lastTickMs: number;

  constructor(
    readonly self: NodeId,
    generation: number,
    private readonly cfg: DetectorConfig,
    nowMs: number,
  ) {
    assert(Number.isSafeInteger(generation) && generation >= 0, 'generation must be a non-negative integer');
    assert(cfg.phiSuspect > 0 && cfg.downAfterMs >= 0 && cfg.localPauseMaxMs > 0, 'bad detector config');
    this.selfBeat = { generation, version: 0 };
    this.lastTickMs = nowMs;
  }

  /** Bump this node's own heartbeat (once per gossip round). */
  beat(): Heartbeat {
    this.selfBeat = { generation: this.selfBeat.generation, version: this.selfBeat.version + 1 };
    return this.selfBeat;
  }

  selfHeartbeat(): Heartbeat {
    return this.selfBeat;
  }

  /**
   * A heartbeat about `id` arrived (directly or relayed). Returns whether it
   * was news, and the state change it caused, if any.
   */
  heard(id: NodeId, beat: Heartbeat, nowMs: number): { fresh: boolean; change: LivenessChange | null } {
    if (id === this.self) {
      // Someone holds a newer heartbeat of ours than we do: a previous life of
      // this node with a clock that ran ahead. Jump past it so ours win again.
      if (compareHeartbeats(beat, this.selfBeat) > 0) this.selfBeat = { generation: beat.generation + 1, version: 0 };
      return { fresh: false, change: null };
    }
    const cur = this.entries.get(id);
    if (cur && compareHeartbeats(beat, cur.beat) <= 0) return { fresh: false, change: null };
    if (!cur) {
      this.entries.set(id, {
        beat, lastHeardMs: nowMs, state: 'alive', sinceMs: nowMs, window: new ArrivalWindow(this.cfg),
      });
      return { fresh: true, change: { id, from: 'down', to: 'alive', atMs: nowMs, silentMs: 0, phi: 0 } };
    }
    const silentMs = Math.max(0, nowMs - cur.lastHeardMs);
    const phi = cur.window.phi(silentMs);
    if (beat.generation !== cur.beat.generation) cur.window = new ArrivalWindow(this.cfg);
    else if (cur.state === 'alive') cur.window.add(silentMs);
    cur.beat = beat;
    cur.lastHeardMs = nowMs;
    if (cur.state === 'alive') return { fresh: true, change: null };
    const change: LivenessChange = { id, from: cur.state, to: 'alive', atMs: nowMs, silentMs, phi };
    cur.state = 'alive';
    cur.sinceMs = nowMs;
    return { fresh: true, change };
  }

  /** Judge every member at `nowMs`; returns the state changes. */
  tick(nowMs: number): LivenessChange[] {
    const gap = nowMs - this.lastTickMs;
    this.lastTickMs = Math.max(this.lastTickMs, nowMs);
    if (gap > this.cfg.localPauseMaxMs) {
      for (const e of this.entries.values()) {
        e.lastHeardMs += gap;
        e.sinceMs += gap;
      }
      return [];
    }
    const changes: LivenessChange[] = [];
    for (const [id, e] of this.entries) {
      const silentMs = Math.max(0, nowMs - e.lastHeardMs);
      if (e.state === 'alive') {
        const phi = e.window.phi(silentMs);
        if (phi >= this.cfg.phiSuspect) {
          changes.push({ id, from: 'alive', to: 'suspect', atMs: nowMs, silentMs, phi });
          e.state = 'suspect';
          e.sinceMs = nowMs;
        }
      } else if (e.state === 'suspect' && nowMs - e.sinceMs >= this.cfg.downAfterMs) {
        changes.push({ id, from: 'suspect', to: 'down', atMs: nowMs, silentMs, phi: e.window.phi(silentMs) });
        e.state = 'down';
        e.sinceMs = nowMs;
      }
    }
    return changes;
  }

  stateOf(id: NodeId): Liveness {
    if (id === this.self) return 'alive';
    return this.entries.get(id)?.state ?? 'down';
  }

  heartbeatOf(id: NodeId): Heartbeat | undefined {
    return id === this.self ? this.selfBeat : this.entries.get(id)?.beat;
  }

  /** Every heartbeat known, this node's own first: what a gossip message carries. */
  heartbeats(): HeartbeatEntry[] {
    const out: HeartbeatEntry[] = [[this.self, this.selfBeat.generation, this.selfBeat.version]];
    for (const [id, e] of this.entries) out.push([id, e.beat.generation, e.beat.version]);
    return out;
  }

  detail(id: NodeId, nowMs: number): LivenessDetail {
    const e = id === this.self ? undefined : this.entries.get(id);
    if (!e) {
      const self = id === this.self;
      return {
        state: self ? 'alive' : 'down', silentMs: self ? 0 : null, phi: 0, inStateMs: 0,
        meanIntervalMs: 0, suspectAfterMs: 0,
      };
    }
    const silentMs = Math.max(0, nowMs - e.lastHeardMs);
    return {
      state: e.state,
      silentMs,
      phi: e.window.phi(silentMs),
      inStateMs: Math.max(0, nowMs - e.sinceMs),
      meanIntervalMs: e.window.meanMs(),
      suspectAfterMs: e.window.silenceBeforeMs(this.cfg.phiSuspect),
    };
  }
}
