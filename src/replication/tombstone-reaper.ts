/**
 * Tombstone reaping (DESIGN.md Data model; issue 14 part 2): an opaque
 * delete leaves a tombstone (no live sibling, a causal context) on each
 * replica; this collects it without letting the deleted value come back.
 *
 * Each primary replica runs the same pass on its own tombstones, every
 * `tombstoneReapIntervalMs`:
 *
 *  1. Confirm, positively. For every tombstone it holds (and holds no hint
 *     for), it sends the tombstone itself to each other primary of the key
 *     ('tomb-check', batched per peer). The peer merges it (Replica.apply:
 *     a replica that missed the delete, being down, gets it now) and answers
 *     whether its state has seen that delete: its own copy descends the
 *     tombstone, or it reaped one covering it, and it holds no hint for the
 *     key (a hint could hand an older version around). A peer that does not
 *     answer does not confirm. Only when every one of the N primaries
 *     confirms is the tombstone marked confirmed, at nowMs.
 *  2. After `graceMs` (Riak's delete_mode), if the own copy is still exactly
 *     the confirmed tombstone: advance the IdMint epoch durably (`beforeDrop`,
 *     as partition handoff does before dropping opaque records: a node that
 *     forgets a key's dots must not mint them again, id-mint.ts), remember the
 *     tombstone's context durably, and remove the record (Replica.reap).
 *
 * Why nothing brings the value back:
 *  - A replica down during the delete (however long: the grace runs from the
 *    confirmation, not from the delete) never confirms, so nobody reaps until
 *    it holds the tombstone; the check itself delivers it once it is up.
 *  - Read repair, anti-entropy and partition handoff carry copies merged by
 *    Replica.apply; once all primaries held the tombstone, every copy a
 *    primary gives out is the tombstone or newer.
 *  - A hint held by a primary blocks confirmation until it is delivered. A
 *    hint held by a fallback outside the preference list, older than the
 *    tombstone (hints for one owner and key are merged only within one
 *    delivery batch, hinted-handoff.ts), can arrive after the reap: each
 *    replica remembers the contexts it reaped (`tombstoneReapedMemoryMs`,
 *    default 24 h) and refuses, or strips, any copy they dominate.
 *
 * The remaining window: a fallback that held an older hint, and stayed away
 * from its owner longer than the reaped-memory window (or past
 * `tombstoneReapedMemoryMax` later reaps), would hand the old value back.
 *
 * Pure apart from the injected ports: time comes from the Clock, peers from
 * the Network, the local copies from the Replica.
 */
import type { Clock } from '../core/clock';
import type { NodeId } from '../core/ids';
import type { Network } from '../core/network-port';
import type { Dvv } from '../clock/dvv';
import { dvvEquals } from '../clock/dvv';
import { isTombstoneOnly, type OpaqueValue, type StoredObject } from '../crdt/stored-object';
import { partitionOf } from '../ring/partitioner';
import { preferenceList } from '../ring/preference-list';
import type { Ring } from '../ring/ring';
import type { PeerMsg } from './peer-message';
import type { Replica } from './replica';

export interface TombstoneReaperDeps {
  self: NodeId;
  replica: Replica;
  network: Network<PeerMsg>;
  ring: () => Ring;
  n: number;
  clock: Clock;
  graceMs: number;
  /** Tombstones one pass sends for confirmation, at most. */
  batchMax: number;
  timeoutMs: number;
  /** Runs before a pass removes records: advance the IdMint epoch durably. */
  beforeDrop: () => Promise<void>;
  /** Told of every tombstone reaped, with the context it had (logs, the simulator's checks). */
  onReaped?: (key: string, tomb: Dvv<OpaqueValue>) => void;
  onError?: (err: unknown, what: string) => void;
}

export interface ReapPassResult {
  /** Tombstones sent for confirmation. */
  asked: number;
  /** Of those, confirmed by every primary. */
  confirmed: number;
  /** Tombstones removed by this pass. */
  reaped: number;
}

export interface ReaperStatus {
  held: number;
  reaped: number;
  /** Confirmed tombstones waiting for their grace. */
  confirmed: number;
  remembered: number;
  refusedReaped: number;
  refusedExpired: number;
  graceMs: number;
  passes: number;
  /** Milliseconds from confirmation to the reap, of the last tombstone reaped. */
  lastConfirmToReapMs: number | null;
}

interface Confirmed {
  tomb: Dvv<OpaqueValue>;
  atMs: number;
}

export class TombstoneReaper {
  private readonly confirmed = new Map<string, Confirmed>();
  private passes = 0;
  private lastConfirmToReapMs: number | null = null;
  private running: Promise<ReapPassResult> | null = null;

  constructor(private readonly d: TombstoneReaperDeps) {}

  /** One pass; a call while one runs shares it. */
  tick(): Promise<ReapPassResult> {
    if (!this.running) {
      this.running = this.pass().finally(() => {
        this.running = null;
      });
    }
    return this.running;
  }

  /** Answer a peer's 'tomb-check' (already validated): merge each tombstone, then say whether it is covered here. */
  async answer(msg: Extract<PeerMsg, { type: 'tomb-check' }>): Promise<PeerMsg> {
    return answerTombCheck(this.d.replica, msg);
  }

  status(): ReaperStatus {
    const r = this.d.replica;
    return {
      held: r.tombstoneCount(),
      reaped: r.stats.reaped,
      confirmed: this.confirmed.size,
      remembered: r.reapedCount(),
      refusedReaped: r.stats.refusedReaped,
      refusedExpired: r.stats.refusedExpired,
      graceMs: this.d.graceMs,
      passes: this.passes,
      lastConfirmToReapMs: this.lastConfirmToReapMs,
    };
  }

  private async pass(): Promise<ReapPassResult> {
    const { replica, self, n } = this.d;
    this.passes++;
    const now = this.d.clock.nowMs();
    const ring = this.d.ring();
    const result: ReapPassResult = { asked: 0, confirmed: 0, reaped: 0 };
    const due: Array<{ key: string; expected: Dvv<OpaqueValue>; confirmedAtMs: number }> = [];
    const ask = new Map<NodeId, { keys: string[]; tombs: StoredObject[] }>();
    const asked: Array<{ key: string; tomb: Dvv<OpaqueValue>; peers: NodeId[] }> = [];
    // Forget confirmations of keys that are no longer tombstones here.
    for (const key of this.confirmed.keys()) {
      const own = replica.own(key);
      if (!own || own.kind !== 'opaque' || !isTombstoneOnly(own)) this.confirmed.delete(key);
    }
    for (const key of replica.tombstoneKeys()) {
      const own = replica.own(key);
      if (!own || own.kind !== 'opaque' || replica.holdsHintFor(key)) continue;
      const primaries = preferenceList(ring, partitionOf(key, ring.q), n);
      // Not ours to reap: partition handoff moves it to the replicas that are.
      if (!primaries.includes(self)) continue;
      const c = this.confirmed.get(key);
      if (c && dvvEquals(c.tomb, own.dvv)) {
        if (now - c.atMs >= this.d.graceMs) due.push({ key, expected: own.dvv, confirmedAtMs: c.atMs });
        continue;
      }
      if (asked.length >= this.d.batchMax) continue;
      const peers = primaries.filter((p) => p !== self);
      asked.push({ key, tomb: own.dvv, peers });
      for (const p of peers) {
        let batch = ask.get(p);
        if (!batch) ask.set(p, (batch = { keys: [], tombs: [] }));
        batch.keys.push(key);
        batch.tombs.push(own);
      }
    }
    result.asked = asked.length;
    const answers = new Map<NodeId, Map<string, boolean>>();
    await Promise.all([...ask].map(async ([peer, batch]) => {
      const got = new Map<string, boolean>();
      answers.set(peer, got);
      if (!this.d.network.isReachable(peer)) return;
      try {
        const reply = await this.d.network.request(peer, { type: 'tomb-check', keys: batch.keys, tombs: batch.tombs }, this.d.timeoutMs);
        if (reply.type !== 'tomb-check-ok' || !Array.isArray(reply.covered) || reply.covered.length !== batch.keys.length) return;
        batch.keys.forEach((k, i) => got.set(k, reply.covered[i] === true));
      } catch (err) {
        this.d.onError?.(err, `tomb-check to ${peer}`);
      }
    }));
    for (const a of asked) {
      if (a.peers.every((p) => answers.get(p)?.get(a.key) === true)) {
        this.confirmed.set(a.key, { tomb: a.tomb, atMs: now });
        result.confirmed++;
      }
    }
    if (due.length > 0) {
      await this.d.beforeDrop();
      const removed = new Set(await replica.reap(due, this.d.clock.nowMs()));
      for (const c of due) {
        this.confirmed.delete(c.key);
        if (!removed.has(c.key)) continue;
        this.lastConfirmToReapMs = now - c.confirmedAtMs;
        this.d.onReaped?.(c.key, c.expected);
      }
      result.reaped = removed.size;
    }
    return result;
  }
}

/** The receiving side of 'tomb-check', shared by the node and the simulator. */
export async function answerTombCheck(replica: Replica, msg: Extract<PeerMsg, { type: 'tomb-check' }>): Promise<PeerMsg> {
  const covered = await Promise.all(msg.keys.map(async (key, i) => {
    const tomb = msg.tombs[i]!;
    if (tomb.kind !== 'opaque') return false;
    // Merged first, durably: a replica that missed the delete holds it from now on.
    await replica.apply(key, tomb);
    return replica.covers(key, tomb.dvv);
  }));
  return { type: 'tomb-check-ok', covered };
}
