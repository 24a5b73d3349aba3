/**
 * Heartbeats spread by gossip (Cassandra's HeartBeatState, after van Renesse
 * et al., "A Gossip-Style Failure Detection Service", 1998): every node bumps
 * its own counter once per gossip round, and every gossip exchange carries
 * the highest heartbeat each side knows of every member. A member is heard
 * from whenever a heartbeat newer than the last one known arrives, directly
 * or relayed by a third node, so one bad link does not silence a member.
 *
 * A heartbeat is (generation, version). The generation is the wall-clock ms
 * at which the node process started, so a restarted node's heartbeats beat
 * every heartbeat of its previous life even though its counter starts again
 * from zero (Cassandra's generation number; it assumes a node's clock does
 * not step back across its own restart).
 */
import { BadRequestError } from '../core/errors';
import type { NodeId } from '../core/ids';

export interface Heartbeat {
  readonly generation: number;
  readonly version: number;
}

/** One heartbeat on the wire: [node id, generation, version]. */
export type HeartbeatEntry = [NodeId, number, number];

/** Positive when a is newer than b, negative when older, 0 when equal. */
export function compareHeartbeats(a: Heartbeat, b: Heartbeat): number {
  if (a.generation !== b.generation) return a.generation < b.generation ? -1 : 1;
  if (a.version !== b.version) return a.version < b.version ? -1 : 1;
  return 0;
}

/** Most heartbeats one gossip message may carry (bounds the work a peer can cause). */
export const HEARTBEATS_PER_MESSAGE_MAX = 10_000;

/** Validate heartbeats that arrived from the wire; throws BadRequestError. */
export function parseHeartbeats(x: unknown): HeartbeatEntry[] {
  if (x === undefined) return [];
  if (!Array.isArray(x) || x.length > HEARTBEATS_PER_MESSAGE_MAX) throw new BadRequestError('malformed heartbeats');
  return x.map((e: unknown) => {
    const ok =
      Array.isArray(e) && e.length === 3 &&
      typeof e[0] === 'string' && e[0].length > 0 && e[0].length <= 128 &&
      Number.isSafeInteger(e[1]) && (e[1] as number) >= 0 &&
      Number.isSafeInteger(e[2]) && (e[2] as number) >= 0;
    if (!ok) throw new BadRequestError('malformed heartbeat');
    return e as HeartbeatEntry;
  });
}
