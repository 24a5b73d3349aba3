/**
 * Messages between replicas (the peer protocol over ws at /peer, or the
 * simulator's virtual network). A discriminated union on `type`.
 */
import type { NodeId } from '../core/ids';
import type { StoredObject } from '../crdt/stored-object';
import type { MemberRecord } from '../membership/member-table';
import type { ClientOp, RequestOptions } from './client-op';

export type PeerMsg =
  /** Merge `obj` into the replica (or hold it as a hint for `hintFor`); reply after commit. */
  | { type: 'put'; key: string; obj: StoredObject; hintFor?: NodeId }
  | { type: 'put-ok' }
  /** Read the replica's copy (its own and any hinted one). */
  | { type: 'get'; key: string }
  | { type: 'get-ok'; obj: StoredObject | null }
  /** Run a client operation as coordinator (forwarded by a node that is not a replica). */
  | { type: 'coord'; key: string; op: ClientOp; opts: RequestOptions }
  | { type: 'coord-ok'; obj: StoredObject | null }
  /** Membership gossip: the sender's table; the reply is the receiver's. */
  | { type: 'gossip'; members: MemberRecord[] }
  | { type: 'gossip-ok'; members: MemberRecord[] };

export type PeerMsgType = PeerMsg['type'];
