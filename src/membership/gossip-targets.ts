/**
 * Whom to gossip with this round (Dynamo 4.8.1: "each node contacts a peer
 * chosen at random every second"; the choice of the unreachable and seed
 * extras follows Cassandra's Gossiper.doGossip):
 *
 * - `fanout` distinct peers chosen uniformly at random among the members
 *   this node believes alive or suspect (a suspect is still asked: an answer
 *   clears the suspicion);
 * - one random down member with probability down / (live + 1), so a member
 *   that comes back is noticed even if it cannot dial us itself, without
 *   spending every round on the dead;
 * - every seed whose node id is not known yet (bootstrap: a node started
 *   with only seeds knows nobody else);
 * - when no member is alive or suspect, up to `fanout` down members, so a
 *   node that restarts into a table of stale members still finds someone.
 *
 * Random pairs mean every node's news reaches all S nodes in O(log S) rounds
 * with high probability (Demers et al. 1987), at O(fanout) messages per node
 * per round instead of the O(S) of talking to everyone.
 */
import { assert } from '../core/assert';
import type { NodeId } from '../core/ids';
import type { Random } from '../core/prng';
import type { Liveness } from './liveness';

export interface GossipCandidate {
  id: NodeId;
  state: Liveness;
}

export function chooseGossipTargets(
  self: NodeId,
  members: readonly GossipCandidate[],
  unresolvedSeeds: readonly NodeId[],
  fanout: number,
  random: Random,
): NodeId[] {
  assert(Number.isInteger(fanout) && fanout >= 1, `gossip fanout must be a positive integer, got ${fanout}`);
  const live: NodeId[] = [];
  const down: NodeId[] = [];
  for (const m of members) {
    if (m.id === self) continue;
    (m.state === 'down' ? down : live).push(m.id);
  }
  const chosen = sample(live, fanout, random);
  if (live.length === 0) chosen.push(...sample(down, fanout, random));
  else if (down.length > 0 && random.next() < down.length / (live.length + 1)) chosen.push(down[random.int(down.length)]!);
  const seen = new Set(chosen);
  for (const s of unresolvedSeeds) {
    if (s === self || seen.has(s)) continue;
    seen.add(s);
    chosen.push(s);
  }
  return chosen;
}

/** Up to k distinct elements, uniformly (a partial Fisher-Yates shuffle of a copy). */
function sample<T>(xs: readonly T[], k: number, random: Random): T[] {
  const a = xs.slice();
  const take = Math.min(k, a.length);
  for (let i = 0; i < take; i++) {
    const j = i + random.int(a.length - i);
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a.slice(0, take);
}
