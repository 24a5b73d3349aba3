/**
 * Field-level change detection for the session store (issue 5 part 1,
 * docs/session-store.md): express-session hands the store the whole session
 * on every save, and the store sends the cluster only what this request
 * changed, so two concurrent requests of one user that change different
 * fields both survive (each field is a last-writer-wins register on the
 * server, crdt/session.ts).
 *
 * A snapshot is the JSON text of each top-level field as loaded; a field is
 * changed when its JSON text differs (so key order inside a value counts as
 * a change: harmless, it only sends a field that did not need sending).
 * Pure functions.
 */

/** Field name -> JSON text of its value, as loaded (or as last saved). */
export type FieldSnapshot = ReadonlyMap<string, string>;

export interface FieldChange {
  set: Record<string, unknown>;
  del: string[];
}

/**
 * Each field's JSON text, as JSON.parse(JSON.stringify(session)) would give
 * the fields (so what is stored is exactly what a JSON store keeps: Dates
 * become ISO strings, functions and undefined values are dropped), and the
 * byte length of the session's JSON, without parsing anything back: a save
 * only needs the values of the fields that changed (diffSnapshot parses
 * those). Each field is serialised once; JSON.stringify of the whole
 * session, JSON.parse of it and JSON.stringify of every field again was the
 * store's largest CPU cost per set (docs/benchmarks.md). Throws what
 * JSON.stringify throws (cycles, BigInt); the caller reports it.
 */
export function jsonSnapshot(session: unknown): { snapshot: Map<string, string>; bytes: number } {
  if (!isPlainFieldHolder(session)) return jsonSnapshotOfText(session);
  const snapshot = new Map<string, string>();
  // The bytes of `{"name":text,...}`, counted without building that string.
  let bytes = 2;
  for (const name of Object.keys(session)) {
    // What JSON.stringify(session) writes for this field (toJSON included), or undefined when it leaves it out.
    const text = JSON.stringify((session as Record<string, unknown>)[name]) as string | undefined;
    if (text === undefined) continue;
    if (snapshot.size > 0) bytes += 1;
    snapshot.set(name, text);
    bytes += Buffer.byteLength(JSON.stringify(name), 'utf8') + 1 + Buffer.byteLength(text, 'utf8');
  }
  return { snapshot, bytes };
}

/**
 * An object JSON.stringify serialises field by field, as `{"name":value,...}`
 * of its own enumerable keys: not an array, not a boxed primitive, no toJSON
 * of its own. Anything else takes the whole-text path.
 */
function isPlainFieldHolder(x: unknown): x is object {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  if (typeof (x as { toJSON?: unknown }).toJSON === 'function') return false;
  return !(x instanceof Number || x instanceof String || x instanceof Boolean || x instanceof BigInt);
}

function jsonSnapshotOfText(session: unknown): { snapshot: Map<string, string>; bytes: number } {
  const text = JSON.stringify(session);
  if (typeof text !== 'string' || !text.startsWith('{')) throw new TypeError('a session must serialise to a JSON object');
  const fields = JSON.parse(text) as Record<string, unknown>;
  const snapshot = new Map<string, string>();
  for (const [name, value] of Object.entries(fields)) snapshot.set(name, JSON.stringify(value));
  return { snapshot, bytes: Buffer.byteLength(text, 'utf8') };
}

/** The snapshot of fields as loaded from the store. */
export function snapshotOf(data: Readonly<Record<string, unknown>>): Map<string, string> {
  const snapshot = new Map<string, string>();
  for (const [name, value] of Object.entries(data)) snapshot.set(name, JSON.stringify(value));
  return snapshot;
}

/**
 * What changed from `loaded` to `now`: fields added or different go in set
 * (their values parsed from their JSON text), fields gone in del.
 */
export function diffSnapshot(loaded: FieldSnapshot, now: FieldSnapshot): FieldChange {
  const set: Record<string, unknown> = {};
  const del: string[] = [];
  for (const [name, text] of now) if (loaded.get(name) !== text) set[name] = JSON.parse(text) as unknown;
  for (const name of loaded.keys()) if (!now.has(name)) del.push(name);
  return { set, del };
}

/** Every field of a snapshot, parsed: a set that cannot diff writes them all. */
export function fieldsOf(snapshot: FieldSnapshot): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [name, text] of snapshot) fields[name] = JSON.parse(text) as unknown;
  return fields;
}
