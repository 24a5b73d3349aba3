/**
 * The client WebSocket protocol (/client, DESIGN.md Interfaces): the
 * messages a client (src/client) and a node (src/node/client-api.ts) exchange,
 * inside the frames of frame-codec.ts. Types only, so both sides import it
 * without loading each other.
 */
import type { ClientOp, RequestOptions } from '../replication/client-op';

export type ClientRequest =
  /** opId: names a non-idempotent operation so a retry of it is run once (Coordinator.executeForwarded). */
  | { type: 'op'; key: string; op: ClientOp; opts?: RequestOptions; opId?: string }
  | { type: 'ring' }
  | { type: 'scan'; prefix: string; cursor: ScanCursor | null; limit?: number };

/** Where a scan resumes: the partition and the last key it examined there (keys sort by UTF-16 code units). */
export type ScanCursor = [partition: number, afterKey: string];

/** A value as a client sees it: what the HTTP API would answer, without the HTTP. */
export type ObjectView =
  /** values: the live siblings (empty when only tombstones are left); context: encodeContext of the version vector. */
  | { kind: 'opaque'; values: Uint8Array[]; contentTypes: string[]; context: string }
  /** Only live sessions with at least one field are shown; others read as absent (null). */
  | { kind: 'session'; data: Record<string, unknown>; expiresAtMs: number }
  | { kind: 'cart'; items: Record<string, number> };

/** The answering node's view of each member (its failure detector's, see FeatureHost.memberStateOf). */
export type MemberState = 'alive' | 'suspect' | 'down' | 'leaving';

export interface RingInfo {
  /** The node that answered. */
  self: { id: string; addr: string; region: string };
  members: Array<{ id: string; addr: string; region: string; state: MemberState }>;
  /** Enough to rebuild the ring (ring/ring.ts) and compute preference lists on the client. */
  ring: {
    q: number;
    owners: string[];
    version: string;
    members: Array<{ id: string; region: string; joinedAtMs: number }>;
  };
  quorum: { n: number; r: number; w: number };
  limits: { keyBytesMax: number; valueBytesMax: number; frameBytesMax: number };
}

export type ClientReply =
  /**
   * got/wanted: the acknowledgements (writes) or answers (reads) the
   * coordinator got of the W or R it wanted; got < wanted is a degraded
   * result (DESIGN.md Never says no). Absent from older nodes.
   */
  | {
    type: 'op-ok'; view: ObjectView | null; got?: number; wanted?: number;
    /** Sessions (and absent keys: 0): the highest field stamp of the state the coordinator ended with; send it back as `opts.after`. */
    stamp?: number;
  }
  | ({ type: 'ring-ok' } & RingInfo)
  | { type: 'scan-ok'; keys: string[]; cursor: ScanCursor | null };

/** The one-way message a node sends first on every client connection. */
export interface ClientHello {
  type: 'hello';
  id: string;
  addr: string;
  region: string;
}
