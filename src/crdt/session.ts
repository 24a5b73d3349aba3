/**
 * The session value type (DESIGN.md Data model: session): a map of fields,
 * each a last-writer-wins register stamped by a hybrid logical clock and the
 * writer's id, plus an expiry for the whole session and a destroyed flag.
 * A state-based CRDT (Shapiro et al. 2011, "A comprehensive study of
 * Convergent and Commutative Replicated Data Types", LWW-register and
 * LWW-map): merge is a join, so replicas converge whatever order they
 * exchange states in.
 *
 * - A field's register is the max by (t, n); the tie on equal (t, n) cannot
 *   happen between honest writers (one HLC per writer id) but is still broken
 *   deterministically (delete wins, then the canonical form of the value) so
 *   merge stays a lattice on any input.
 * - expiresAtMs and touchedAtMs are max registers: a touch anywhere extends.
 * - destroyed is absorbing: a destroy (logout) wins over every write and touch
 *   concurrent with it, and a destroyed state keeps no fields. Its tombstone
 *   must outlive every live copy, so it keeps the largest expiry seen; once
 *   that passes, every copy reads as absent and the record can be swept.
 *
 * Every operation below is merge(state, delta), so every local change is an
 * inflation and can be shipped as the whole new state.
 */
import { assert } from '../core/assert';
import type { HlcStamp } from '../clock/hlc';
import { canonicalString, compareStrings, sameData } from './canonical';

export interface FieldRegister {
  /** A JSON value; null when the field is deleted. */
  readonly v: unknown;
  readonly t: HlcStamp;
  /** Writer id: breaks ties between equal stamps. */
  readonly n: string;
  readonly d?: true;
}

export interface SessionState {
  readonly fields: Readonly<Record<string, FieldRegister>>;
  readonly expiresAtMs: number;
  readonly touchedAtMs: number;
  readonly destroyed: boolean;
}

export interface SessionChange {
  /** Fields to set. A value of undefined deletes the field, as JSON would drop it. */
  set?: Record<string, unknown>;
  /** Fields to delete; a field both set and deleted in one change ends deleted. */
  del?: readonly string[];
  /** New expiry; the session keeps the later of this and its current one. */
  expiresAtMs?: number;
}

const NO_FIELDS: Readonly<Record<string, FieldRegister>> = Object.freeze({});

export function emptySession(): SessionState {
  return { fields: NO_FIELDS, expiresAtMs: 0, touchedAtMs: 0, destroyed: false };
}

/** Orders registers: by stamp, then writer id, then delete-wins, then value. */
export function compareRegisters(a: FieldRegister, b: FieldRegister): number {
  if (a.t !== b.t) return a.t < b.t ? -1 : 1;
  if (a.n !== b.n) return compareStrings(a.n, b.n);
  const ad = a.d === true ? 1 : 0;
  const bd = b.d === true ? 1 : 0;
  if (ad !== bd) return ad - bd;
  // Equal (stamp, writer) is the common case (two replicas' copies of one
  // write), and their values are then equal: skip building canonical strings.
  if (sameData(a.v, b.v)) return 0;
  return compareStrings(canonicalString(a.v), canonicalString(b.v));
}

export function mergeSessions(a: SessionState, b: SessionState): SessionState {
  // Replicas mostly merge copies that are already equal (reads, read repair,
  // re-delivered writes): a comparison is cheaper than building the join.
  if (a === b) return a;
  // Often one side already holds all of the other: a write's delta merged
  // into the empty state (every session write, at its coordinator), a delta
  // that rewrites every field of a replica's copy, two equal copies of a
  // read. The join is then that side: return it instead of building a copy.
  if (sessionCovers(b, a)) return b;
  if (sessionCovers(a, b)) return a;
  const destroyed = a.destroyed || b.destroyed;
  return {
    fields: destroyed ? NO_FIELDS : mergeFields(a.fields, b.fields),
    expiresAtMs: Math.max(a.expiresAtMs, b.expiresAtMs),
    touchedAtMs: Math.max(a.touchedAtMs, b.touchedAtMs),
    destroyed,
  };
}

/**
 * A local write: every field set or deleted gets a register stamped
 * (stamp, writer). The caller should first observe sessionMaxStamp(state)
 * into its HLC: a stamp below a field's current one loses to it, as LWW says.
 */
export function sessionWrite(
  state: SessionState,
  change: SessionChange,
  stamp: HlcStamp,
  writer: string,
  nowMs: number,
): SessionState {
  assert(Number.isSafeInteger(stamp) && stamp >= 0, `bad HLC stamp ${stamp}`);
  assert(writer.length > 0, 'session writer id must not be empty');
  const delta = new Map<string, FieldRegister>();
  for (const [field, v] of Object.entries(change.set ?? {})) {
    delta.set(field, v === undefined ? { v: null, t: stamp, n: writer, d: true } : { v, t: stamp, n: writer });
  }
  for (const field of change.del ?? []) delta.set(field, { v: null, t: stamp, n: writer, d: true });
  return mergeSessions(state, {
    fields: sortedRecord(delta),
    expiresAtMs: checkedMs(change.expiresAtMs ?? 0),
    touchedAtMs: checkedMs(nowMs),
    destroyed: false,
  });
}

/** Extends the expiry (never shortens it) without changing any data. */
export function sessionTouch(state: SessionState, expiresAtMs: number, nowMs: number): SessionState {
  return mergeSessions(state, {
    fields: NO_FIELDS,
    expiresAtMs: checkedMs(expiresAtMs),
    touchedAtMs: checkedMs(nowMs),
    destroyed: false,
  });
}

/**
 * Logout: the data goes at once; the tombstone stays until the session's own
 * expiry (at least nowMs) so a stale replica cannot bring the session back.
 */
export function sessionDestroy(state: SessionState, nowMs: number): SessionState {
  return mergeSessions(state, {
    fields: NO_FIELDS,
    expiresAtMs: checkedMs(nowMs),
    touchedAtMs: checkedMs(nowMs),
    destroyed: true,
  });
}

export function sessionIsLive(state: SessionState, nowMs: number): boolean {
  return !state.destroyed && state.expiresAtMs > nowMs;
}

/** The session's data: live fields only, keys sorted. Expiry is the caller's check (sessionIsLive). */
export function sessionView(state: SessionState): Record<string, unknown> {
  if (state.destroyed) return {};
  return Object.fromEntries(
    Object.entries(state.fields)
      .filter(([, r]) => r.d !== true)
      .map(([k, r]) => [k, r.v]),
  );
}

/** The highest stamp in the state (0 if none), for the writer's HLC to observe first. */
export function sessionMaxStamp(state: SessionState): HlcStamp {
  let max = 0;
  for (const r of Object.values(state.fields)) if (r.t > max) max = r.t;
  return max;
}

/**
 * Whether merging `a` into `big` gives `big` as data: every register of `a`
 * is at or below `big`'s for its field, the clocks are at or above `a`'s, a
 * destroy in `a` is in `big`, and `big` is in the shape a merge builds (no
 * fields once destroyed, fields in key order). Allocates nothing.
 */
function sessionCovers(big: SessionState, a: SessionState): boolean {
  if (big.expiresAtMs < a.expiresAtMs || big.touchedAtMs < a.touchedAtMs) return false;
  if (a.destroyed && !big.destroyed) return false;
  let previous: string | null = null;
  for (const field in big.fields) {
    if (big.destroyed || (previous !== null && compareStrings(previous, field) >= 0)) return false;
    previous = field;
  }
  if (big.destroyed) return true; // and holds no fields: a destroy absorbs everything in `a`
  for (const field in a.fields) {
    const rb = big.fields[field];
    if (rb === undefined || !Object.prototype.hasOwnProperty.call(big.fields, field)) return false;
    if (compareRegisters(a.fields[field]!, rb) > 0) return false;
  }
  return true;
}

function mergeFields(
  a: Readonly<Record<string, FieldRegister>>,
  b: Readonly<Record<string, FieldRegister>>,
): Readonly<Record<string, FieldRegister>> {
  if (a === b) return a;
  const out = new Map<string, FieldRegister>(Object.entries(a));
  for (const [field, rb] of Object.entries(b)) {
    const ra = out.get(field);
    if (ra === undefined || compareRegisters(ra, rb) < 0) out.set(field, rb);
  }
  return sortedRecord(out);
}

function sortedRecord<T>(m: Map<string, T>): Readonly<Record<string, T>> {
  if (m.size === 0) return NO_FIELDS as Readonly<Record<string, T>>;
  return Object.fromEntries([...m].sort(([x], [y]) => compareStrings(x, y)));
}

function checkedMs(ms: number): number {
  assert(Number.isFinite(ms) && ms >= 0, `bad time ${ms} ms`);
  return ms;
}

/**
 * How long a destroyed session's tombstone outlives the session's own expiry.
 * A replica that missed the destroy may hold a copy a concurrent touch kept
 * alive; the tombstone must still exist when anti-entropy or a hint brings
 * that copy back, or the logout would be undone.
 */
export const SESSION_TOMBSTONE_GRACE_MS = 60 * 60 * 1000;

/** When a replica may sweep this session's record: its expiry, or the tombstone's grace after it. */
export function sessionSweepableAtMs(state: SessionState): number {
  return state.destroyed ? state.expiresAtMs + SESSION_TOMBSTONE_GRACE_MS : state.expiresAtMs;
}
