/**
 * Messages between replicas (the peer protocol over ws at /peer, or the
 * simulator's virtual network). A discriminated union on `type`.
 */
import type { NodeId } from '../core/ids';
import type { StoredObject } from '../crdt/stored-object';
import type { MemberRecord } from '../membership/member-table';
import type { HeartbeatEntry } from '../membership/heartbeat';
import type { ClientOp, RequestOptions } from './client-op';
import type { SessionStatsPartial } from './session-stats';

export type PeerMsg =
  /**
   * Merge `obj` into the replica (or hold it as a hint for `hintFor`); reply
   * after commit. With `echo` the reply carries the replica's merged copy:
   * a cart add reads nothing first, and answers the client with the cart as
   * every acknowledging replica holds it (coordinator.ts).
   */
  | { type: 'put'; key: string; obj: StoredObject; hintFor?: NodeId; echo?: true }
  | { type: 'put-ok'; obj?: StoredObject }
  /** Read the replica's copy (its own merged with any hinted one; only its own with `own`). */
  | { type: 'get'; key: string; own?: boolean }
  | { type: 'get-ok'; obj: StoredObject | null }
  /**
   * Run a client operation as coordinator (forwarded by a node that is not a
   * replica). `opId` makes a repeated delivery return the first result
   * instead of applying the write twice.
   */
  | { type: 'coord'; key: string; op: ClientOp; opts: RequestOptions; opId?: string }
  /** got/wanted: acknowledgements of the wanted W (absent from older nodes: not degraded). */
  | { type: 'coord-ok'; obj: StoredObject | null; got?: number; wanted?: number }
  /** Membership gossip: the sender's table and heartbeats; the reply is the receiver's (membership/gossiper.ts). */
  | { type: 'gossip'; members: MemberRecord[]; beats?: HeartbeatEntry[] }
  | { type: 'gossip-ok'; members: MemberRecord[]; beats?: HeartbeatEntry[] }
  /** Partition handoff (docs/membership.md): the sender starts / has finished streaming `keys` keys of `partition`. */
  | { type: 'handoff-begin'; partition: number; keys: number }
  | { type: 'handoff-end'; partition: number; keys: number }
  | { type: 'handoff-ok' }
  /** Session TTL stats of these partitions at the asker's nowMs (node/session-stats-api.ts). */
  | { type: 'session-stats'; partitions: number[]; nowMs: number }
  | { type: 'session-stats-ok'; partial: SessionStatsPartial }
  /**
   * Anti-entropy (docs/anti-entropy.md): the hashes at `level` of the
   * children of `parents` in the sender's peer's tree of `partition`
   * (level 0: the root). `tree` names the tree shape and hash functions.
   */
  | { type: 'ae-level'; partition: number; tree: string; level: number; parents: number[] }
  | { type: 'ae-level-ok'; hashes: Uint8Array }
  /** Anti-entropy: the keys and 8-byte item hashes of these leaf segments, `counts[i]` keys per segment. */
  | { type: 'ae-keys'; partition: number; tree: string; segments: number[] }
  | { type: 'ae-keys-ok'; counts: number[]; keys: string[]; hashes: Uint8Array }
  /**
   * Tombstone reaping (tombstone-reaper.ts): the sender holds these opaque
   * tombstones (`tombs[i]` for `keys[i]`); the receiver merges each into its
   * own copy, then answers for each whether its state has seen that delete
   * and holds no hint for the key.
   */
  | { type: 'tomb-check'; keys: string[]; tombs: StoredObject[] }
  | { type: 'tomb-check-ok'; covered: boolean[] };

export type PeerMsgType = PeerMsg['type'];
