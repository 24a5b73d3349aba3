/**
 * The network port (DESIGN.md layer 7). Protocol code sends messages to node
 * ids and awaits replies; the ws transport and the simulator's virtual network
 * both implement it, so the same replication code runs over either.
 */
import type { NodeId } from './ids';

/** Every peer message is a plain msgpack-able object tagged by `type`. */
export interface PeerMessage {
  type: string;
}

/** Answers a request; returning undefined means "no reply" (one-way message). */
export type PeerHandler<M extends PeerMessage> = (
  from: NodeId,
  msg: M,
) => Promise<M | undefined> | M | undefined;

export interface Network<M extends PeerMessage> {
  readonly self: NodeId;
  /**
   * Send a request and wait for its reply. Rejects with UnreachableError when
   * the peer cannot be reached and TimeoutError when it does not answer in time.
   */
  request(to: NodeId, msg: M, timeoutMs: number): Promise<M>;
  /** Fire and forget; delivery is not guaranteed. */
  send(to: NodeId, msg: M): void;
  /** Install the handler for incoming messages (one per node). */
  setHandler(handler: PeerHandler<M>): void;
  /** Whether a link to the peer is currently up (a hint for routing, not a promise). */
  isReachable(to: NodeId): boolean;
}
