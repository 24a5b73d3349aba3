/**
 * How stored values become bytes: msgpackr, the same encoding the transport
 * puts on the wire (DESIGN.md layer 7), so a value that survives a round trip
 * between nodes also survives a restart, and the reverse.
 *
 * Both engines encode at put() time rather than at commit time: the bytes
 * that become durable are the value as it was when put() was called even if
 * a caller later breaks the "values are immutable" rule, and a value that
 * cannot be encoded fails its own put() instead of a whole batch. The memory
 * engine keeps these bytes as its durable copy, so the simulator sees exactly
 * what a restart from SQLite would give back (for instance a Uint8Array comes
 * back as a Buffer and a Map as a plain object, with msgpackr's defaults).
 */
import { pack, unpack } from 'msgpackr';
import { assert } from '../core/assert';
import { upgradeStoredObject } from '../crdt/stored-object';

export function encodeValue(value: unknown): Uint8Array {
  // get() uses undefined for "absent", so it cannot also be a stored value.
  assert(value !== undefined, 'cannot store undefined');
  return pack(value);
}

/** Decodes, migrating values stored by older versions (a pre-ORSWOT cart) to today's shape. */
export function decodeValue<T>(bytes: Uint8Array): T {
  return upgradeStoredObject(unpack(bytes) as T);
}
