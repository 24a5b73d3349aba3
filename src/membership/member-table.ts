/**
 * The member table: who is in the cluster, where to reach them, which region
 * they live in and when they first joined (the ring's claim order). Tables
 * merge by gossip (Dynamo 4.8.1): a record with a higher incarnation wins, so a
 * node's own word about itself always overrides older rumours. Pure: no I/O.
 */
import type { NodeId } from '../core/ids';
import { BadRequestError } from '../core/errors';

export type MemberStatus = 'alive' | 'leaving';

export interface MemberRecord {
  readonly id: NodeId;
  readonly addr: string;
  readonly region: string;
  readonly joinedAtMs: number;
  /** Bumped by the node itself whenever it changes its own record. */
  readonly incarnation: number;
  readonly status: MemberStatus;
}

export type MemberTable = ReadonlyMap<NodeId, MemberRecord>;

export interface MergeResult {
  table: MemberTable;
  /** Records that were new or newer than what the table had. */
  changed: MemberRecord[];
}

export function emptyTable(): MemberTable {
  return new Map();
}

/** The record that wins between two claims about the same node. */
export function newerRecord(a: MemberRecord, b: MemberRecord): MemberRecord {
  if (a.incarnation !== b.incarnation) return a.incarnation > b.incarnation ? a : b;
  // Same incarnation but different content can only come from a bug or a
  // forged peer; pick deterministically so every node agrees anyway.
  return JSON.stringify(a) >= JSON.stringify(b) ? a : b;
}

export function mergeMembers(table: MemberTable, incoming: readonly MemberRecord[]): MergeResult {
  const next = new Map(table);
  const changed: MemberRecord[] = [];
  for (const rec of incoming) {
    const cur = next.get(rec.id);
    const winner = cur ? newerRecord(cur, rec) : rec;
    if (winner !== cur) {
      next.set(rec.id, winner);
      changed.push(winner);
    }
  }
  return { table: changed.length ? next : table, changed };
}

/** Validate a record that arrived from the wire; throws BadRequestError. */
export function parseMemberRecord(x: unknown): MemberRecord {
  const r = x as Record<string, unknown>;
  const ok =
    typeof r === 'object' && r !== null &&
    typeof r.id === 'string' && r.id.length > 0 && r.id.length <= 128 &&
    typeof r.addr === 'string' && r.addr.length <= 300 &&
    typeof r.region === 'string' && r.region.length <= 64 &&
    Number.isSafeInteger(r.joinedAtMs) &&
    Number.isSafeInteger(r.incarnation) && (r.incarnation as number) >= 0 &&
    (r.status === 'alive' || r.status === 'leaving');
  if (!ok) throw new BadRequestError('malformed member record');
  return {
    id: r.id as NodeId,
    addr: r.addr as string,
    region: r.region as string,
    joinedAtMs: r.joinedAtMs as number,
    incarnation: r.incarnation as number,
    status: r.status as MemberStatus,
  };
}

export function membersSorted(table: MemberTable): MemberRecord[] {
  return [...table.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
