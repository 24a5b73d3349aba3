/**
 * The causal context as clients see it: an opaque string in the
 * `X-Ringstore-Context` header and in JSON bodies (DESIGN.md HTTP API). It is
 * the object's version vector, msgpack-encoded and URL-safe base64 without
 * padding, so it survives headers, query strings and cookies unchanged.
 *
 * A context comes from outside the cluster, so decoding is strict and
 * bounded: a malformed or oversized one is rejected with BadContextError at
 * the boundary instead of reaching the DVV code.
 */
import { Packr, Unpackr } from 'msgpackr';
import { BadContextError } from '../core/errors';
import { vvFromEntries, type VersionVector } from './version-vector';

/** Longest context string accepted (about 6 KB of msgpack). */
export const CONTEXT_CHARS_MAX = 8192;
/** Most actors a decoded context may name. */
export const CONTEXT_ACTORS_MAX = 1000;

// Records and structures are msgpackr extensions other decoders do not know;
// plain maps keep the encoding standard msgpack.
const packr = new Packr({ useRecords: false, variableMapSize: true });
// Maps decode as Map so keys are checked as they were sent (object mode
// renames `__proto__` and stringifies numeric keys).
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: false });

const BASE64URL = /^[A-Za-z0-9_-]*$/;

export function encodeContext(vv: VersionVector): string {
  // vv is canonical (sorted actors), so equal contexts give equal strings.
  return packr.pack(vv).toString('base64url');
}

export function decodeContext(s: string): VersionVector {
  if (typeof s !== 'string') throw new BadContextError('context must be a string');
  if (s.length === 0) return vvFromEntries([]);
  if (s.length > CONTEXT_CHARS_MAX) {
    throw new BadContextError(`context is ${s.length} characters; the limit is ${CONTEXT_CHARS_MAX}`);
  }
  // A length of 4k+1 cannot come from whole bytes; Buffer.from would drop it silently.
  if (!BASE64URL.test(s) || s.length % 4 === 1) {
    throw new BadContextError('context is not URL-safe base64 (A-Z a-z 0-9 - _, no padding)');
  }
  let decoded: unknown;
  try {
    decoded = unpackr.unpack(Buffer.from(s, 'base64url'));
  } catch (e) {
    throw new BadContextError(`context does not decode: ${(e as Error).message}`);
  }
  if (!(decoded instanceof Map)) throw new BadContextError('context must encode a map of actor -> counter');
  if (decoded.size > CONTEXT_ACTORS_MAX) {
    throw new BadContextError(`context names ${decoded.size} actors; the limit is ${CONTEXT_ACTORS_MAX}`);
  }
  const entries: [string, number][] = [];
  for (const [actor, counter] of decoded) {
    if (typeof actor !== 'string' || actor.length === 0) {
      throw new BadContextError('context actor ids must be non-empty strings');
    }
    if (typeof counter !== 'number' || !Number.isSafeInteger(counter) || counter < 0) {
      throw new BadContextError(`context counter for actor ${JSON.stringify(actor)} is not a non-negative integer`);
    }
    entries.push([actor, counter]);
  }
  return vvFromEntries(entries);
}
