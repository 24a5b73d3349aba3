/**
 * The ring: Q fixed, equal partitions, each owned by one node (Dynamo 6.2,
 * strategy 3: "Q/S tokens per node, equal-sized partitions").
 *
 * The ring is a pure function of (member set, Q), so every node that knows
 * the same members computes the same ring with no coordination and no token
 * gossip. Members claim in a fixed order, (joinedAtMs, id): the first member
 * owns everything, then the k-th member (k already present) takes
 * floor(Q/(k+1)) partitions from the others. A node that joins later than all
 * others claims last, so a join moves exactly the partitions the newcomer
 * takes, about Q/(S+1), and nothing else (Dynamo 6.2's point of strategy 3).
 *
 * Which partitions a claimer takes: each node has its own fixed order of
 * preference over all partitions, a permutation seeded by its id. It takes
 * partitions in that order, skipping those whose owner may not give one up
 * (see `claim`) and, in a first pass, those next to a partition it already
 * holds: two adjacent partitions with one owner get the same preference list
 * (the walk of Dynamo 4.3 skips the repeated owner), so their replicas pile
 * onto the same nodes. A random order spreads each node's partitions around
 * the ring, and because it depends on the node alone, a node that leaves
 * mostly shifts the later claimers' picks along their own orders instead of
 * reshuffling the ring. A leave still moves more than the leaver's share
 * (about Q/S), most when an early member leaves and when each node holds
 * few partitions. Worst single leave measured: 0.52 Q for Q=256 (three
 * members losing their first; 0.3% of 1,350,000 random such leaves moved
 * more than half, none more than 134 of 256), under 0.45 Q for Q=256 and
 * 4 <= S <= 24 (test/ring/ring.test.ts), 0.51 Q for Q=1024 and S=64, 0.24 Q
 * for Q=4096 and S=64: keep Q at 50 or more times the expected cluster size.
 *
 * Balance: with q = m(k+1) + r (0 <= r <= k), the claimer takes m, and the
 * old nodes end with m or m+1 partitions (exactly r of them with m+1), so
 * after every claim max - min <= 1.
 */
import { createHash } from 'node:crypto';
import { assert } from '../core/assert';
import { asPartitionId, type NodeId, type PartitionId } from '../core/ids';
import { Prng } from '../core/prng';
import { assertPartitionCount } from './partitioner';

export interface RingMember {
  readonly id: NodeId;
  /** Datacenter or availability zone; preference lists spread replicas over regions. */
  readonly region: string;
  /** When the node first joined; fixes its place in the claim order. */
  readonly joinedAtMs: number;
}

export interface Ring {
  /** Number of partitions. */
  readonly q: number;
  /** owners[p] owns partition p; length q. */
  readonly owners: readonly NodeId[];
  /** Members in claim order: (joinedAtMs, id) ascending. */
  readonly members: readonly RingMember[];
  /** Short hex digest of (claim algorithm, q, members in claim order); equal versions mean equal rings. */
  readonly version: string;
}

/**
 * Names the claim algorithm in the version digest, so nodes running a
 * different claim rule never mistake each other's rings for their own.
 */
const CLAIM_ALGORITHM = 'ringstore-claim-v1';

/** Claim order: joinedAtMs, then id by UTF-16 code units (not locale: every node must agree). */
export function compareMembers(a: RingMember, b: RingMember): number {
  if (a.joinedAtMs !== b.joinedAtMs) return a.joinedAtMs < b.joinedAtMs ? -1 : 1;
  if (a.id === b.id) return 0;
  return a.id < b.id ? -1 : 1;
}

/** Builds the ring of q partitions for the given members (any order). */
export function buildRing(members: readonly RingMember[], q: number): Ring {
  assertPartitionCount(q);
  assert(members.length >= 1, 'a ring needs at least one member');
  const seen = new Set<string>();
  for (const m of members) {
    assert(typeof m.id === 'string' && m.id.length > 0, 'member id must be a non-empty string');
    assert(typeof m.region === 'string', `member ${m.id}: region must be a string`);
    assert(Number.isFinite(m.joinedAtMs), `member ${m.id}: joinedAtMs must be a finite number`);
    assert(!seen.has(m.id), `duplicate member id ${m.id}`);
    seen.add(m.id);
  }
  const ordered = members
    .map((m) => Object.freeze({ id: m.id, region: m.region, joinedAtMs: m.joinedAtMs }))
    .sort(compareMembers);

  const ownerIndex = claimAll(ordered, q);
  const owners = new Array<NodeId>(q);
  for (let p = 0; p < q; p++) owners[p] = ordered[ownerIndex[p]!]!.id;

  return Object.freeze({
    q,
    owners: Object.freeze(owners),
    members: Object.freeze(ordered),
    version: ringVersion(ordered, q),
  });
}

/** The node that owns partition p. */
export function ownerOf(ring: Ring, p: PartitionId): NodeId {
  assertPartition(ring, p);
  return ring.owners[p]!;
}

/** The partitions node `id` owns, ascending (empty if it is not a member or owns none). */
export function partitionsOwnedBy(ring: Ring, id: NodeId): PartitionId[] {
  const out: PartitionId[] = [];
  for (let p = 0; p < ring.q; p++) if (ring.owners[p] === id) out.push(asPartitionId(p));
  return out;
}

export function assertPartition(ring: Ring, p: number): void {
  assert(Number.isInteger(p) && p >= 0 && p < ring.q, `partition ${p} is outside [0, ${ring.q})`);
}

function ringVersion(ordered: readonly RingMember[], q: number): string {
  const canonical = JSON.stringify([CLAIM_ALGORITHM, q, ordered.map((m) => [m.id, m.region, m.joinedAtMs])]);
  return createHash('sha256').update(canonical, 'utf8').digest('hex').slice(0, 16);
}

/** Runs every claim in order; returns the owner of each partition as an index into `ordered`. */
function claimAll(ordered: readonly RingMember[], q: number): Int32Array {
  const owner = new Int32Array(q); // all partitions start with the first member
  const load = new Int32Array(ordered.length);
  load[0] = q;
  const preference = new Int32Array(q);
  for (let k = 1; k < ordered.length; k++) {
    preferencePermutation(ordered[k]!.id, preference);
    claim(k, owner, load, preference);
  }
  return owner;
}

/**
 * Member k (members 0..k-1 present) takes m = floor(q/(k+1)) partitions, in
 * its own order of preference. With q = m(k+1) + r (0 <= r <= k), an old node
 * may give a partition while it holds more than m+1, or exactly m+1 while
 * more than r old nodes hold m+1 or more; so the claim ends with every old
 * node at m or m+1 and exactly r of them at m+1.
 *
 * Why not always take from the most-loaded node: that makes which partitions
 * move depend on the exact load of every node at every step, so one member
 * leaving reshuffles most of the ring (measured: 50-85% of partitions move).
 * Taking partitions in the claimer's own order from any node above the final
 * level keeps the picks close to "the claimer's favourite m", which depends
 * little on who else is present (measured: 25-45% for Q/S >= 10).
 */
function claim(k: number, owner: Int32Array, load: Int32Array, preference: Int32Array): void {
  const q = owner.length;
  const m = Math.floor(q / (k + 1));
  const r = q - m * (k + 1);
  if (m === 0) return; // more members than partitions: the newcomer owns none
  let atLeastM1 = 0; // old nodes holding m+1 or more
  for (let v = 0; v < k; v++) if (load[v]! >= m + 1) atLeastM1++;

  const mayGive = (v: number): boolean => load[v]! > m + 1 || (load[v] === m + 1 && atLeastM1 > r);
  const adjacentToClaimer = (p: number): boolean =>
    owner[p === 0 ? q - 1 : p - 1] === k || owner[p === q - 1 ? 0 : p + 1] === k;

  // Pass 0 keeps the claimer's partitions apart; pass 1 fills whatever is left.
  // Both passes only ever lose candidates (loads fall, the claimer's partitions
  // grow), so one scan each is enough: O(q) per member.
  for (let pass = 0; pass < 2 && load[k]! < m; pass++) {
    for (let i = 0; i < q && load[k]! < m; i++) {
      const p = preference[i]!;
      const v = owner[p]!;
      if (v === k || !mayGive(v)) continue;
      if (pass === 0 && adjacentToClaimer(p)) continue;
      if (load[v] === m + 1) atLeastM1--;
      load[v]--;
      load[k]++;
      owner[p] = k;
    }
  }
  assert(load[k] === m, `claim by member ${k} took ${load[k]} of ${m} partitions`);
}

/**
 * Fills `out` with the member's own order of preference over all partitions:
 * a Fisher-Yates shuffle driven by a Prng seeded from the id's digest, so it
 * depends on the id alone.
 */
function preferencePermutation(id: string, out: Int32Array): void {
  const q = out.length;
  const prng = new Prng(digest32(`claim:${id}`));
  for (let i = 0; i < q; i++) out[i] = i;
  for (let i = q - 1; i > 0; i--) {
    const j = prng.int(i + 1);
    const t = out[i]!;
    out[i] = out[j]!;
    out[j] = t;
  }
}

function digest32(text: string): number {
  return createHash('md5').update(text, 'utf8').digest().readUInt32BE(0);
}
