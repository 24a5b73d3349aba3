/**
 * The properties checked at the end of every run, once the network is
 * healed, every node is up, every hint is delivered and the repair sweep has
 * nothing left to repair (issue 4, "Invariants"):
 *
 *  - Durability: every acknowledged write is on every replica of its key, or
 *    was causally superseded. Per type: an opaque write's dot is a sibling
 *    holding its value, or the replica's vector covers the dot and some write
 *    carried a context that covered it; a session field is held at a stamp at
 *    least the acknowledged one (a later-stamped write may have replaced it),
 *    an acknowledged touch's expiry and destroy are kept; a cart add is held
 *    or covered by the replica's context and removed by a remove that can
 *    have observed it, and an entry an acknowledged result had seen and
 *    dropped is never back. Beneath these, one lattice check
 *    that catches whatever they miss: the state the coordinator acknowledged
 *    is at or below every replica's (merging it in changes nothing).
 *  - Convergence: all N replicas of a key hold identical objects
 *    (objectDigest), and no hints are left anywhere.
 *  - Bounded siblings: every sibling is a write some client made, and no
 *    sibling is one an acknowledged later write had seen and replaced (the
 *    DVV paper's bound: siblings only for truly concurrent writers). One
 *    write held under two dots is an anomaly, reported by findAnomalies.
 *  - Deletes stay deleted (issue 14): a value an acknowledged delete had
 *    seen and replaced (its dot covered by the delete's context, and not
 *    left a sibling of it) is held by no replica at the end and is returned
 *    by no read that started after the delete was acknowledged, nor by the
 *    final reads. In runs that reap tombstones (`reaped`), a key may end
 *    absent on every replica when a delete may have replaced its writes.
 *  - Expiry: a session whose every possible expiry has passed (allowing for
 *    the clock skew of the node judging it) reads as absent through the real
 *    read path; one whose acknowledged expiry is still ahead reads as present.
 */
import type { NodeId } from '../../src/core/ids';
import { vvCovers, type VersionVector } from '../../src/clock/version-vector';
import { compareRegisters, sessionIsLive } from '../../src/crdt/session';
import { cartCoversDot, cartEntryDotId, cartEntryOf } from '../../src/crdt/cart';
import { mergeObjects, objectDigest, type StoredObject } from '../../src/crdt/stored-object';
import type { History, OpRecord } from './history';

export interface Violation {
  kind: string;
  key: string;
  detail: string;
}

export interface ReplicaView {
  node: NodeId;
  obj: StoredObject | undefined;
}

export interface CheckInput {
  history: History;
  /** Each key's N primaries and what they hold. */
  replicasOf: (key: string) => ReplicaView[];
  hintCounts: { node: NodeId; hints: number }[];
  /** Tombstones were reaped in this run: a deleted key may be absent everywhere. */
  reaped?: boolean;
}

/** One tombstone reaped by one node, at virtual time atMs, with the context it had. */
export interface ReapEvent {
  node: NodeId;
  key: string;
  vv: VersionVector;
  atMs: number;
}

const valueOf = (b: Uint8Array): string => Buffer.from(b).toString();

/**
 * Availability (DESIGN.md Never says no): a cart or session write that
 * reached a live coordinator is accepted. The one refusal that breaks the
 * promise is RS_ERR_QUORUM: the coordinator answered, but said no for want
 * of replicas. (A coordinator that crashed or whose forward was cut off
 * leaves the write 'unknown' or timed out: the client retries elsewhere.)
 */
export function checkAvailability(history: History): Violation[] {
  const out: Violation[] = [];
  for (const op of history.ops) {
    const typed = op.kind.startsWith('cart-') || op.kind.startsWith('session-');
    if (typed && op.outcome === 'failed' && op.error === 'RS_ERR_QUORUM') {
      out.push({ kind: 'typed-write-refused', key: op.key, detail: `op#${op.id} ${op.kind} through ${op.node} refused: ${op.error}` });
    }
  }
  return out;
}

/** Durability, convergence and sibling checks on the final replica states. */
export function checkReplicas(input: CheckInput): Violation[] {
  const out: Violation[] = [];
  for (const { node, hints } of input.hintCounts) {
    if (hints > 0) out.push({ kind: 'hints-undelivered', key: '-', detail: `${node} still holds ${hints} hints` });
  }
  for (const key of input.history.keys()) {
    const replicas = input.replicasOf(key);
    const digests = replicas.map((r) => (r.obj ? objectDigest(r.obj) : 'absent'));
    if (new Set(digests).size > 1) {
      out.push({
        kind: 'divergence', key,
        detail: replicas.map((r, i) => `${r.node}=${digests[i]!.slice(0, 8)}${describe(r.obj)}`).join(' '),
      });
    }
    const ops = input.history.ofKey(key);
    for (const op of ops) {
      if (op.outcome !== 'ok' || op.kind === 'get') continue;
      for (const r of replicas) {
        if (!r.obj && input.reaped && mayBeReaped(input.history, op)) continue;
        const v = checkAckedWrite(input.history, op, r);
        // A reaped tombstone's dot stays covered (replica.ts keeps reaped contexts) with nothing left to supersede it.
        if (v && !(input.reaped && op.kind === 'delete' && v.kind === 'superseded-by-nothing')) out.push(v);
      }
    }
    const seen = new Set<string>();
    for (const r of replicas) {
      if (!r.obj) continue;
      const d = digests[replicas.indexOf(r)]!;
      if (seen.has(d)) continue;
      seen.add(d);
      out.push(...checkSiblings(input.history, key, r));
      out.push(...checkCartEntries(input.history, key, r));
    }
  }
  return out;
}

/** An opaque write that a later (or covering) delete may have removed, and its tombstone reaped. */
function mayBeReaped(history: History, op: OpRecord): boolean {
  if (op.kind === 'delete') return true;
  if (op.kind !== 'put') return false;
  // A delete that may have removed the write, directly or through a later write that replaced it.
  return history.ofKey(op.key).some((x) =>
    x.kind === 'delete' && (
      x.startMs >= op.startMs ||
      // A delete that reads first may have seen the write if it ended after the write began (History.supersederOf).
      (x.context === null && (x.endMs ?? Infinity) > op.startMs) ||
      (op.dot !== undefined && !!x.context && vvCovers(x.context, op.dot))));
}

/** What an acknowledged delete replaced: dots its context covers that it did not keep as siblings. */
function replacedBy(del: OpRecord): ((dot: readonly [string, number]) => boolean) | null {
  const r = del.result;
  if (del.kind !== 'delete' || del.outcome !== 'ok' || !r || r.kind !== 'opaque') return null;
  const kept = new Set(r.dvv.siblings.map((s) => `${s.dot[0]}:${s.dot[1]}`));
  return (dot) => vvCovers(r.dvv.vv, dot as never) && !kept.has(`${dot[0]}:${dot[1]}`);
}

export interface FinalRead {
  key: string;
  node: NodeId;
  obj: StoredObject | null;
}

/**
 * Deletes stay deleted: no replica holds at the end a value an acknowledged
 * delete replaced, or one a reaped tombstone had deleted; the final reads
 * (after heal, at R = N) return none; and a read coordinated by a node after
 * it reaped a key's tombstone returns nothing that tombstone had deleted.
 * (Other reads may be stale: one at R=1, or a degraded one answered by a
 * sloppy fallback's older hint alone, can see a deleted value with or
 * without reaping: eventual consistency, not a resurrection.)
 */
export function checkDeletes(input: CheckInput, finalReads: readonly FinalRead[], reaps: readonly ReapEvent[]): Violation[] {
  const out: Violation[] = [];
  const finalByKey = new Map<string, FinalRead[]>();
  for (const f of finalReads) finalByKey.set(f.key, [...(finalByKey.get(f.key) ?? []), f]);
  const reapsByKey = new Map<string, ReapEvent[]>();
  for (const e of reaps) reapsByKey.set(e.key, [...(reapsByKey.get(e.key) ?? []), e]);
  for (const key of input.history.keys()) {
    const ops = input.history.ofKey(key);
    const deletes = ops.map((d) => ({ d, replaced: replacedBy(d) })).filter((x) => x.replaced !== null);
    const reaped = reapsByKey.get(key) ?? [];
    if (deletes.length === 0 && reaped.length === 0) continue;
    const values = (obj: StoredObject | null | undefined): Array<{ dot: readonly [string, number]; text: string }> =>
      !obj || obj.kind !== 'opaque' ? []
        : obj.dvv.siblings.filter((s) => s.value !== null).map((s) => ({ dot: s.dot, text: `${valueOf(s.value!.b)} at ${s.dot[0]}:${s.dot[1]}` }));
    const reapedBefore = (atMs: number, dot: readonly [string, number]): ReapEvent | undefined =>
      reaped.find((e) => e.atMs < atMs && vvCovers(e.vv, dot as never));
    for (const r of input.replicasOf(key)) {
      for (const v of values(r.obj)) {
        const del = deletes.find((x) => x.replaced!(v.dot));
        if (del) out.push({ kind: 'deleted-value-resurrected', key, detail: `${r.node} holds ${v.text}, which op#${del.d.id} deleted` });
        const e = reapedBefore(Infinity, v.dot);
        if (e && !del) out.push({ kind: 'deleted-value-resurrected', key, detail: `${r.node} holds ${v.text}, whose tombstone ${e.node} reaped at ${e.atMs.toFixed(1)} ms` });
      }
    }
    for (const g of ops) {
      if (g.kind !== 'get' || g.outcome !== 'ok') continue;
      for (const v of values(g.result)) {
        // Only reads coordinated by a node that had reaped that tombstone itself: a degraded read answered
        // by fallbacks alone may be stale with or without reaping (eventual consistency, not a resurrection).
        const e = reaped.find((x) => x.node === g.node && x.atMs < g.startMs && vvCovers(x.vv, v.dot as never));
        if (e) out.push({ kind: 'deleted-value-read-back', key, detail: `op#${g.id} get via ${g.node} at ${g.startMs.toFixed(1)} ms returned ${v.text}, whose tombstone ${e.node} reaped at ${e.atMs.toFixed(1)} ms` });
      }
    }
    for (const fr of finalByKey.get(key) ?? []) {
      for (const v of values(fr.obj)) {
        const e = reapedBefore(Infinity, v.dot);
        const del = deletes.find((x) => x.replaced!(v.dot));
        if (e || del) out.push({ kind: 'deleted-value-read-back', key, detail: `the final read via ${fr.node} returned ${v.text}, which was deleted` });
      }
    }
  }
  return out;
}

function describe(obj: StoredObject | undefined): string {
  if (!obj) return '';
  switch (obj.kind) {
    case 'opaque':
      return `(${obj.dvv.siblings.map((s) => `${s.dot[0]}:${s.dot[1]}=${s.value ? valueOf(s.value.b) : 'tomb'}`).join(',')} vv=${JSON.stringify(obj.dvv.vv)})`;
    case 'cart':
      return `(entries=${obj.c.entries.map(cartEntryDotId).join(',')} vv=${JSON.stringify(obj.c.vv)} cloud=${obj.c.cloud.length})`;
    case 'session':
      return `(fields=${Object.keys(obj.s.fields).length} exp=${obj.s.expiresAtMs} destroyed=${obj.s.destroyed})`;
  }
}

function violation(kind: string, op: OpRecord, r: ReplicaView, detail: string): Violation {
  return { kind, key: op.key, detail: `op#${op.id} ${op.kind} via ${op.node} at ${op.startMs.toFixed(1)} ms: ${detail} on ${r.node}` };
}

/** One acknowledged write against one replica's final state. */
function checkAckedWrite(history: History, op: OpRecord, r: ReplicaView): Violation | null {
  const obj = r.obj;
  if (!obj) return violation('acked-write-lost', op, r, 'the key is absent');
  const specific = checkByType(history, op, r, obj);
  if (specific) return specific;
  // The lattice check: the acknowledged state must be at or below the replica's.
  if (op.result) {
    const merged = mergeObjects(obj, op.result);
    if (objectDigest(merged) !== objectDigest(obj)) {
      return violation('acked-state-lost', op, r, `merging the acknowledged state changes the replica ${describe(obj)} <- ${describe(op.result)}`);
    }
  }
  return null;
}

function checkByType(history: History, op: OpRecord, r: ReplicaView, obj: StoredObject): Violation | null {
  switch (op.kind) {
    case 'put':
    case 'delete': {
      if (obj.kind !== 'opaque') return violation('type-changed', op, r, `holds a ${obj.kind}`);
      const d = op.dot;
      if (!d) return null;
      const sib = obj.dvv.siblings.find((s) => s.dot[0] === d[0] && s.dot[1] === d[1]);
      if (sib) {
        const want = op.kind === 'put' ? op.value : null;
        const got = sib.value === null ? null : valueOf(sib.value.b);
        return got === want ? null : violation('dot-reused', op, r, `dot ${d[0]}:${d[1]} holds ${got ?? 'a tombstone'}, not ${want ?? 'a tombstone'}`);
      }
      if (!vvCovers(obj.dvv.vv, d)) return violation('acked-write-lost', op, r, `dot ${d[0]}:${d[1]} is neither a sibling nor covered`);
      if (!history.supersederOf(op, d)) {
        return violation('superseded-by-nothing', op, r, `dot ${d[0]}:${d[1]} is covered but no write had a context covering it`);
      }
      return null;
    }
    case 'session-write':
    case 'session-touch':
    case 'session-destroy': {
      if (obj.kind !== 'session') return violation('type-changed', op, r, `holds a ${obj.kind}`);
      const s = obj.s;
      if (op.kind === 'session-destroy') return s.destroyed ? null : violation('session-destroy-lost', op, r, 'the session is not destroyed');
      if (op.expiresAtMs !== undefined && s.expiresAtMs < op.expiresAtMs) {
        return violation('session-expiry-lost', op, r, `expiry ${s.expiresAtMs} < acknowledged ${op.expiresAtMs}`);
      }
      if (s.destroyed) {
        const destroys = history.ofKey(op.key).some((x) => x.kind === 'session-destroy');
        return destroys ? null : violation('session-destroyed-by-nobody', op, r, 'destroyed, but no client destroyed it');
      }
      if (op.kind !== 'session-write' || !op.result || op.result.kind !== 'session' || op.result.s.destroyed) return null;
      for (const f of [...Object.keys(op.set ?? {}), ...(op.del ?? [])]) {
        const bound = op.result.s.fields[f];
        if (!bound) continue;
        const held = s.fields[f];
        if (!held || compareRegisters(held, bound) < 0) {
          return violation('session-field-lost', op, r, `field ${f} holds ${held ? `t=${held.t}` : 'nothing'}, below the acknowledged t=${bound.t}`);
        }
      }
      return null;
    }
    case 'cart-add':
    case 'cart-set':
    case 'cart-remove': {
      if (obj.kind !== 'cart') return violation('type-changed', op, r, `holds a ${obj.kind}`);
      const c = obj.c;
      const dot = op.addDot;
      if (dot !== undefined && cartEntryOf(c, dot) === undefined) {
        const id = `${dot[0]}#${dot[1]}`;
        if (!cartCoversDot(c, dot)) return violation('cart-add-lost', op, r, `add ${id} is neither held nor covered by the context`);
        const remover = history.ofKey(op.key).find(
          (x) => x !== op && (x.kind === 'cart-remove' || x.kind === 'cart-set') && x.item === op.item && (x.endMs ?? Infinity) > op.startMs,
        );
        if (!remover) return violation('cart-add-removed-by-nobody', op, r, `add ${id} was removed but no remove of ${op.item} can have seen it`);
      }
      if (op.result && op.result.kind === 'cart') {
        // Entries the acknowledged result had seen (its context covers them) and no longer held were removed for good.
        const result = op.result.c;
        const undone = c.entries.filter((e) => cartCoversDot(result, [e[0], e[1]]) && cartEntryOf(result, [e[0], e[1]]) === undefined);
        if (undone.length > 0) return violation('cart-remove-undone', op, r, `removed adds are back: ${undone.map(cartEntryDotId).join(',')}`);
      }
      return null;
    }
    default:
      return null;
  }
}

/**
 * Siblings: each one a client's write, and none that an acknowledged write
 * had seen and replaced (so siblings are only ever truly concurrent writes,
 * the DVV paper's bound; a write held under two dots is reported by
 * findAnomalies instead).
 */
function checkSiblings(history: History, key: string, r: ReplicaView): Violation[] {
  const obj = r.obj;
  if (!obj || obj.kind !== 'opaque') return [];
  const ops = history.ofKey(key);
  const out: Violation[] = [];
  for (const s of obj.dvv.siblings) {
    let writer: OpRecord | undefined;
    if (s.value !== null) {
      const v = valueOf(s.value.b);
      writer = ops.find((o) => o.kind === 'put' && o.value === v);
      if (!writer) {
        out.push({ kind: 'sibling-from-nowhere', key, detail: `${r.node} holds ${v} at ${s.dot[0]}:${s.dot[1]}, which no client wrote` });
        continue;
      }
    }
    const replacer = ops.find(
      (x) => x.outcome === 'ok' && x !== writer && (x.kind === 'put' || x.kind === 'delete') && x.context && vvCovers(x.context, s.dot),
    );
    if (replacer) {
      out.push({
        kind: 'siblings-exceed-writers', key,
        detail: `${r.node} keeps ${s.dot[0]}:${s.dot[1]} though acknowledged op#${replacer.id} had seen and replaced it`,
      });
    }
  }
  return out;
}

/** Every cart entry is an add some client made. */
function checkCartEntries(history: History, key: string, r: ReplicaView): Violation[] {
  const obj = r.obj;
  if (!obj || obj.kind !== 'cart') return [];
  const ops = history.ofKey(key);
  const out: Violation[] = [];
  for (const e of obj.c.entries) {
    const [, , item, qty] = e;
    if (!ops.some((o) => (o.kind === 'cart-add' || o.kind === 'cart-set') && o.item === item && o.qty === qty)) {
      out.push({ kind: 'cart-entry-from-nowhere', key, detail: `${r.node} holds add ${cartEntryDotId(e)} (${item} x${qty}), which no client made` });
    }
  }
  return out;
}

/**
 * One client write held under more than one dot. A coordinator that forwards
 * an opaque put to a replica and gets no answer in time tries the next
 * replica, or coordinates the write itself (coordinator.ts, forward()); when
 * the first attempt did run after all, the write exists twice, under two
 * dots. Both copies may stay as siblings of each other, or a client may read
 * one, resolve it with its context, and see the other come back. Neither
 * loses an acknowledged write, so these are reported apart from violations
 * (--strict counts them).
 */
export function findAnomalies(history: History, key: string, obj: StoredObject | undefined): string[] {
  if (!obj || obj.kind !== 'opaque') return [];
  const ops = history.ofKey(key);
  const dotsOf = new Map<string, string[]>();
  for (const s of obj.dvv.siblings) {
    if (s.value === null) continue;
    const v = valueOf(s.value.b);
    dotsOf.set(v, [...(dotsOf.get(v) ?? []), `${s.dot[0]}:${s.dot[1]}`]);
  }
  const out: string[] = [];
  for (const [v, dots] of dotsOf) {
    const writer = ops.find((o) => o.kind === 'put' && o.value === v);
    if (dots.length > 1) {
      out.push(`duplicate-sibling ${key}: ${writer ? `op#${writer.id} ` : ''}${v} is held at ${dots.join(' and ')}`);
      continue;
    }
    const d = writer?.dot;
    if (!writer || !d || dots[0] === `${d[0]}:${d[1]}`) continue;
    const resolver = ops.find((x) => x.outcome === 'ok' && x !== writer && x.context && vvCovers(x.context, d));
    if (resolver) {
      out.push(
        `resolved-write-resurfaced ${key}: op#${writer.id} ${v} was acknowledged at ${d[0]}:${d[1]} and resolved by op#${resolver.id}, ` +
          `but a second coordination of it at ${dots[0]} survives as a sibling`,
      );
    }
  }
  return out;
}

export interface SessionRead {
  key: string;
  node: NodeId;
  obj: StoredObject | null;
  /** The reading node's clock. */
  nodeNowMs: number;
}

/**
 * Expiry through the read path: judged with the reading node's clock, only
 * outside the window where skew (or an operation that may or may not have
 * applied) makes either answer right.
 */
export function checkSessionRead(history: History, read: SessionRead, trueNowMs: number, maxSkewMs: number): Violation[] {
  const ops = history.ofKey(read.key);
  const obj = read.obj;
  if (obj !== null && obj.kind !== 'session') return [{ kind: 'type-changed', key: read.key, detail: `reads as ${obj.kind}` }];
  const live = obj !== null && sessionIsLive(obj.s, read.nodeNowMs);
  const destroyAttempted = ops.some((o) => o.kind === 'session-destroy');
  const destroyAcked = ops.some((o) => o.kind === 'session-destroy' && o.outcome === 'ok');
  if (destroyAcked) {
    return live ? [{ kind: 'destroyed-session-live', key: read.key, detail: `reads as live through ${read.node} after an acknowledged destroy` }] : [];
  }
  if (destroyAttempted) return [];
  const expiries = (pred: (o: OpRecord) => boolean): number[] =>
    ops.filter((o) => (o.kind === 'session-write' || o.kind === 'session-touch') && pred(o)).map((o) => o.expiresAtMs!);
  const attempted = expiries(() => true);
  const acked = expiries((o) => o.outcome === 'ok');
  const margin = maxSkewMs + 1;
  if (attempted.length > 0 && Math.max(...attempted) + margin < trueNowMs && live) {
    return [{ kind: 'expired-session-live', key: read.key, detail: `expired by ${Math.max(...attempted)} (now ${trueNowMs}) but reads as live through ${read.node}` }];
  }
  if (acked.length > 0 && Math.max(...acked) - margin > trueNowMs && !live) {
    return [{ kind: 'live-session-absent', key: read.key, detail: `acknowledged expiry ${Math.max(...acked)} is ahead (now ${trueNowMs}) but reads as absent through ${read.node}` }];
  }
  return [];
}
