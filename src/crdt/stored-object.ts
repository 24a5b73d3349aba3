/**
 * What a replica stores under a key (DESIGN.md Data model): one of the three
 * value types with its merge. Opaque values keep concurrent siblings in a
 * dotted version vector set (clock/dvv.ts) for the client to resolve; typed
 * values (session, cart) are CRDTs merged on the server, so they never show
 * siblings. mergeObjects is the join every replica, read repair, hinted
 * handoff and anti-entropy use; objectDigest is how two replicas tell
 * whether they hold the same state.
 */
import { createHash } from 'node:crypto';
import { assertNever } from '../core/assert';
import { compareDots } from '../clock/dot';
import { dvvSync, type Dvv } from '../clock/dvv';
import { vvFromEntries } from '../clock/version-vector';
import { canonicalString, sameData } from './canonical';
import { cartFromLegacy, isLegacyCart, mergeCarts, type CartState } from './cart';
import { mergeSessions, sessionSweepableAtMs, type SessionState } from './session';

/** An opaque body with its content type; null is a delete's tombstone. */
export type OpaqueValue = { readonly ct: string; readonly b: Uint8Array } | null;

export type StoredObject =
  | { readonly kind: 'opaque'; readonly dvv: Dvv<OpaqueValue> }
  | { readonly kind: 'session'; readonly s: SessionState }
  | { readonly kind: 'cart'; readonly c: CartState };

export type ValueKind = StoredObject['kind'];

/**
 * Which object wins when concurrent creates gave one key two kinds. Any fixed
 * total order keeps merge a lattice; this one is 'session' > 'opaque' > 'cart'.
 */
const KIND_RANK: Record<ValueKind, number> = { cart: 0, opaque: 1, session: 2 };

export function mergeObjects(a: StoredObject, b: StoredObject): StoredObject {
  if (a === b) return a;
  if (a.kind !== b.kind) return KIND_RANK[a.kind] > KIND_RANK[b.kind] ? a : b;
  switch (a.kind) {
    case 'opaque':
      return { kind: 'opaque', dvv: dvvSync(a.dvv, (b as typeof a).dvv) };
    case 'session':
      return { kind: 'session', s: mergeSessions(a.s, (b as typeof a).s) };
    case 'cart':
      return { kind: 'cart', c: mergeCarts(a.c, (b as typeof a).c) };
    default:
      return assertNever(a, 'stored object kind');
  }
}

/**
 * Hex SHA-1 of the object's canonical form: equal states give equal digests
 * whatever the key or sibling order they were built in. SHA-1 only has to
 * tell honest states apart here, not resist an attacker.
 */
export function objectDigest(o: StoredObject): string {
  return createHash('sha1').update(canonicalString(canonicalForm(o))).digest('hex');
}

/**
 * Whether two objects are the same state, as equal digests would say, but
 * without hashing: read repair asks this of every reply on every read, and
 * building the canonical string plus SHA-1 of each reply was a tenth of a
 * node's CPU in the session benchmark (docs/benchmarks.md). False may also
 * mean "equal but spelled differently" (see sameData), which costs at most a
 * repair write that changes nothing.
 */
export function sameObject(a: StoredObject, b: StoredObject): boolean {
  if (a === b) return true;
  if (a.kind !== b.kind) return false;
  // Sessions and carts are their own canonical form; opaque values need their siblings ordered.
  return a.kind === 'opaque' ? sameData(canonicalForm(a), canonicalForm(b)) : sameData(a, b);
}

/** When the record may be swept: a session's expiry; other kinds never expire. */
export function objectExpiresAtMs(o: StoredObject): number | null {
  return o.kind === 'session' ? sessionSweepableAtMs(o.s) : null;
}

/**
 * Approximate encoded size in bytes (close to its msgpack size), for the
 * valueBytesMax check: strings count their UTF-8 bytes and bodies their
 * length, plus a few bytes of framing for each value.
 */
export function objectByteSize(o: StoredObject): number {
  return approxBytes(o);
}

/**
 * A stored object decoded from bytes written by an older version, in today's
 * shape: carts stored before ORSWOT (`{adds, removed}`) are migrated
 * (cart.ts cartFromLegacy). Anything else is returned as it is.
 */
export function upgradeStoredObject<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  const o = value as { kind?: unknown; c?: unknown };
  if (o.kind !== 'cart' || !isLegacyCart(o.c)) return value;
  return { ...o, c: cartFromLegacy(o.c) } as T;
}

/** An opaque object with nothing but delete tombstones (or nothing at all): reads as absent. */
export function isTombstoneOnly(o: StoredObject): boolean {
  return o.kind === 'opaque' && o.dvv.siblings.every((s) => s.value === null);
}

/** The object as plain data in one order: siblings by dot, vv without zero counters. */
function canonicalForm(o: StoredObject): unknown {
  if (o.kind !== 'opaque') return o;
  const siblings = [...o.dvv.siblings].sort((x, y) => compareDots(x.dot, y.dot));
  return { kind: 'opaque', dvv: { siblings, vv: vvFromEntries(Object.entries(o.dvv.vv)) } };
}

function approxBytes(value: unknown): number {
  if (value === null || value === undefined || typeof value === 'boolean') return 1;
  if (typeof value === 'number') return 9;
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8') + 5;
  if (value instanceof Uint8Array) return value.byteLength + 5;
  if (Array.isArray(value)) {
    let n = 5;
    for (const item of value) n += approxBytes(item);
    return n;
  }
  if (typeof value === 'object') {
    let n = 5;
    for (const [k, v] of Object.entries(value)) n += Buffer.byteLength(k, 'utf8') + 5 + approxBytes(v);
    return n;
  }
  return 9;
}
