/**
 * Validation of everything that arrives from a peer or a client before
 * protocol code touches it: a malformed message gets a BadRequestError back
 * and never reaches storage (a hostile or buggy peer must not corrupt data).
 */
import { BadRequestError } from '../core/errors';
import type { Limits } from '../core/config';
import { KeyTooLargeError } from '../core/errors';
import type { StoredObject } from '../crdt/stored-object';
import { cartFromLegacy, cartFromParts, isLegacyCart, type CartDot, type CartEntry, type LegacyCartState } from '../crdt/cart';
import type { VersionVector } from '../clock/version-vector';
import { parseMemberRecord } from '../membership/member-table';
import { parseHeartbeats } from '../membership/heartbeat';
import type { ClientOp, RequestOptions } from './client-op';
import type { PeerMsg } from './peer-message';

const isObj = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);
const isCount = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;

function bad(what: string): never {
  throw new BadRequestError(`malformed ${what}`);
}

export function validateKey(key: unknown, limits: Limits): string {
  if (typeof key !== 'string' || key.length === 0) throw new BadRequestError('key must be a non-empty string');
  // Lone surrogates cannot round-trip through UTF-8 (SQLite TEXT, the wire).
  if (!(key as string & { isWellFormed(): boolean }).isWellFormed()) throw new BadRequestError('key is not well-formed Unicode');
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > limits.keyBytesMax) throw new KeyTooLargeError(bytes, limits.keyBytesMax);
  return key;
}

export function validateVv(x: unknown): VersionVector {
  if (!isObj(x)) bad('version vector');
  const entries = Object.entries(x);
  if (entries.length > 10_000) bad('version vector (too many actors)');
  for (const [actor, n] of entries) {
    if (actor.length === 0 || actor.length > 256 || !isCount(n)) bad('version vector entry');
  }
  return x as VersionVector;
}

/** A cart in the format before ORSWOT, as today's validation checked it. */
function validateLegacyCart(c: LegacyCartState): LegacyCartState {
  if (!isObj(c.adds) || !Array.isArray(c.removed)) bad('cart object');
  for (const e of Object.values(c.adds) as unknown[]) {
    if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string' || e[0].length === 0 || !Number.isSafeInteger(e[1]) || e[1] <= 0) bad('cart entry');
  }
  for (const id of c.removed as unknown[]) if (typeof id !== 'string') bad('cart tombstone');
  return c;
}

function validateDot(x: unknown): void {
  if (!Array.isArray(x) || x.length !== 2 || typeof x[0] !== 'string' || !isCount(x[1])) bad('dot');
}

export function validateStoredObject(x: unknown): StoredObject {
  if (!isObj(x)) bad('object');
  switch (x.kind) {
    case 'opaque': {
      const dvv = x.dvv;
      if (!isObj(dvv) || !Array.isArray(dvv.siblings)) bad('opaque object');
      validateVv(dvv.vv);
      if (dvv.siblings.length > 10_000) bad('opaque object (too many siblings)');
      for (const s of dvv.siblings as unknown[]) {
        if (!isObj(s)) bad('sibling');
        validateDot(s.dot);
        const v = s.value;
        if (v !== null && !(isObj(v) && typeof v.ct === 'string' && v.b instanceof Uint8Array)) bad('sibling value');
      }
      return x as unknown as StoredObject;
    }
    case 'session': {
      const s = x.s;
      if (!isObj(s) || !isObj(s.fields) || !isCount(s.expiresAtMs) || !isCount(s.touchedAtMs) || typeof s.destroyed !== 'boolean') {
        bad('session object');
      }
      for (const reg of Object.values(s.fields)) {
        if (!isObj(reg) || !isCount(reg.t) || typeof reg.n !== 'string' || (reg.d !== undefined && reg.d !== true)) bad('session field');
      }
      return x as unknown as StoredObject;
    }
    case 'cart': {
      const c = x.c;
      if (isLegacyCart(c)) return { kind: 'cart', c: cartFromLegacy(validateLegacyCart(c)) };
      if (!isObj(c) || !Array.isArray(c.entries) || !isObj(c.vv) || !Array.isArray(c.cloud)) bad('cart object');
      if (c.entries.length > 100_000 || c.cloud.length > 100_000) bad('cart object (too many entries)');
      for (const e of c.entries as unknown[]) if (!Array.isArray(e) || e.length !== 4) bad('cart entry');
      for (const d of c.cloud as unknown[]) if (!Array.isArray(d) || d.length !== 2) bad('cart dot');
      // Sorted, deduplicated and compacted again: merge relies on canonical parts.
      return { kind: 'cart', c: cartFromParts(c.entries as CartEntry[], validateVv(c.vv), c.cloud as CartDot[]) };
    }
    default:
      return bad('object kind');
  }
}

export function validateRequestOptions(x: unknown, n: number): RequestOptions {
  if (x === undefined) return {};
  if (!isObj(x)) bad('request options');
  const out: { r?: number; w?: number; consistency?: 'global' | 'local'; strict?: boolean; after?: number } = {};
  if (x.r !== undefined) out.r = validateQuorumValue('r', x.r, n);
  if (x.w !== undefined) out.w = validateQuorumValue('w', x.w, n);
  if (x.consistency !== undefined) {
    if (x.consistency !== 'global' && x.consistency !== 'local') {
      throw new BadRequestError('consistency must be "global" or "local"');
    }
    out.consistency = x.consistency;
  }
  if (x.strict !== undefined) out.strict = validateFlag('strict', x.strict);
  if (x.after !== undefined) {
    // Only the client API sends it (as a msgpack number); the HTTP routes pass no `after`.
    if (!Number.isSafeInteger(x.after) || (x.after as number) < 0) throw new BadRequestError('after must be a non-negative integer stamp');
    out.after = x.after as number;
  }
  return out;
}

/** A boolean, or its query-string spellings "1"/"true" and "0"/"false". */
function validateFlag(name: string, v: unknown): boolean {
  if (v === true || v === '1' || v === 'true') return true;
  if (v === false || v === '0' || v === 'false') return false;
  throw new BadRequestError(`${name} must be 1 or 0`);
}

export function validateQuorumValue(name: string, v: unknown, n: number): number {
  const num = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (!Number.isSafeInteger(num) || (num as number) < 1 || (num as number) > n) {
    throw new BadRequestError(`${name} must be an integer from 1 to N=${n}`);
  }
  return num as number;
}

/** Longest operation id (Coordinator.executeForwarded) a peer or a client may name. */
export const OP_ID_CHARS_MAX = 200;

/** An operation id as sent, or undefined when absent or out of bounds (the operation then runs unnamed). */
export function opIdOf(x: unknown): string | undefined {
  return typeof x === 'string' && x.length > 0 && x.length <= OP_ID_CHARS_MAX ? x : undefined;
}

/** Bounds of a cart operation, the same through every API (HTTP, /client, forwarded). */
export const CART_ITEM_CHARS_MAX = 256;
export const CART_QTY_MAX = 1_000_000;

export function validateClientOp(x: unknown): ClientOp {
  if (!isObj(x)) bad('operation');
  switch (x.op) {
    case 'get':
    case 'session-destroy':
      return { op: x.op };
    case 'put':
      if (typeof x.ct !== 'string' || !(x.body instanceof Uint8Array)) bad('put');
      return { op: 'put', ct: x.ct, body: x.body, context: validateVv(x.context) };
    case 'delete':
      return { op: 'delete', context: x.context === null ? null : validateVv(x.context) };
    case 'cart':
      if (x.action !== 'add' && x.action !== 'remove' && x.action !== 'set') {
        throw new BadRequestError('cart op must be "add", "remove" or "set"');
      }
      if (typeof x.item !== 'string' || x.item.length === 0 || x.item.length > CART_ITEM_CHARS_MAX) {
        throw new BadRequestError(`cart item must be a non-empty string of at most ${CART_ITEM_CHARS_MAX} characters`);
      }
      if (!Number.isSafeInteger(x.qty) || (x.qty as number) < 0 || (x.qty as number) > CART_QTY_MAX) {
        throw new BadRequestError(`qty must be an integer from 0 to ${CART_QTY_MAX}`);
      }
      if (x.action === 'add' && x.qty === 0) throw new BadRequestError('add needs qty >= 1');
      return { op: 'cart', action: x.action, item: x.item, qty: x.qty as number };
    case 'session-write':
      if (!isObj(x.set) || !Array.isArray(x.del) || !x.del.every((d) => typeof d === 'string') || !isCount(x.expiresAtMs)) {
        bad('session write');
      }
      return { op: 'session-write', set: x.set, del: x.del as string[], expiresAtMs: x.expiresAtMs as number };
    case 'session-touch':
      if (!isCount(x.expiresAtMs)) bad('session touch');
      return { op: 'session-touch', expiresAtMs: x.expiresAtMs as number };
    default:
      return bad('operation name');
  }
}

/** Tombstones one tomb-check may name (the reaper's batch is at most this). */
export const TOMB_CHECK_KEYS_MAX = 10_000;

/** Validate a peer message's shape; the transport already checked `type` is a string. */
export function validatePeerMsg(x: unknown, limits: Limits, n: number): PeerMsg {
  if (!isObj(x)) bad('peer message');
  switch (x.type) {
    case 'put':
      validateKey(x.key, limits);
      if (x.hintFor !== undefined && typeof x.hintFor !== 'string') bad('put hint target');
      if (x.echo !== undefined && x.echo !== true) bad('put echo');
      return {
        type: 'put', key: x.key as string, obj: validateStoredObject(x.obj),
        ...(x.hintFor ? { hintFor: x.hintFor as never } : {}), ...(x.echo ? { echo: true as const } : {}),
      };
    case 'get':
      if (x.own !== undefined && typeof x.own !== 'boolean') bad('get');
      return { type: 'get', key: validateKey(x.key, limits), ...(x.own ? { own: true } : {}) };
    case 'coord': {
      const opId = opIdOf(x.opId);
      return {
        type: 'coord',
        key: validateKey(x.key, limits),
        op: validateClientOp(x.op),
        opts: validateRequestOptions(x.opts, n),
        ...(opId !== undefined ? { opId } : {}),
      };
    }
    case 'tomb-check': {
      if (!Array.isArray(x.keys) || !Array.isArray(x.tombs) || x.keys.length !== x.tombs.length || x.keys.length > TOMB_CHECK_KEYS_MAX) {
        bad('tomb-check');
      }
      const keys = (x.keys as unknown[]).map((k) => validateKey(k, limits));
      const tombs = (x.tombs as unknown[]).map((t) => {
        const obj = validateStoredObject(t);
        if (obj.kind !== 'opaque' || !obj.dvv.siblings.every((s) => s.value === null)) bad('tomb-check tombstone');
        return obj;
      });
      return { type: 'tomb-check', keys, tombs };
    }
    case 'gossip':
      if (!Array.isArray(x.members) || x.members.length > 10_000) bad('gossip');
      return { type: 'gossip', members: x.members.map(parseMemberRecord), beats: parseHeartbeats(x.beats) };
    default:
      return bad(`peer message type ${JSON.stringify(String(x.type)).slice(0, 40)}`);
  }
}
