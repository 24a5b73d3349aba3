/**
 * A canonical text form of plain data (JSON values plus Uint8Array): object
 * keys sorted, undefined properties omitted, bytes as tagged hex. Two values
 * that are equal as data give the same string whatever their key order, which
 * is what digests for read repair and anti-entropy need (two replicas holding
 * the same merged state must hash alike).
 */
export function canonicalString(value: unknown): string {
  const parts: string[] = [];
  write(value, parts);
  return parts.join('');
}

/**
 * Whether two values are equal as data, without building their canonical
 * strings: a fast path for the comparisons replicas make on every read and
 * write (two copies of a field or an object are nearly always the same).
 * True implies equal canonical strings. The converse does not hold at the
 * edges (NaN against null, a property holding undefined against a missing
 * one), where it answers false; callers fall back to the canonical form or
 * treat "false" as "maybe different", which is always safe.
 */
export function sameData(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return a instanceof Uint8Array && b instanceof Uint8Array && a.byteLength === b.byteLength &&
      Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  }
  const aIsArray = Array.isArray(a);
  if (aIsArray !== Array.isArray(b)) return false;
  if (aIsArray) {
    const x = a as unknown[];
    const y = b as unknown[];
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!sameData(x[i], y[i])) return false;
    return true;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let count = 0;
  for (const k in x) {
    if (!Object.prototype.hasOwnProperty.call(x, k)) continue;
    count++;
    if (!Object.prototype.hasOwnProperty.call(y, k) || !sameData(x[k], y[k])) return false;
  }
  for (const k in y) if (Object.prototype.hasOwnProperty.call(y, k)) count--;
  return count === 0;
}

/** Orders strings by UTF-16 code units, the order canonical forms use. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function write(value: unknown, out: string[]): void {
  if (value === null) {
    out.push('null');
  } else if (typeof value === 'string' || typeof value === 'boolean') {
    out.push(JSON.stringify(value));
  } else if (typeof value === 'number') {
    // As in JSON, NaN and infinities become null (JSON.stringify does that).
    out.push(JSON.stringify(value));
  } else if (value instanceof Uint8Array) {
    out.push('b"', Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex'), '"');
  } else if (Array.isArray(value)) {
    out.push('[');
    value.forEach((item, i) => {
      if (i > 0) out.push(',');
      write(item === undefined ? null : item, out);
    });
    out.push(']');
  } else if (typeof value === 'object') {
    const keys = Object.keys(value as object)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort(compareStrings);
    out.push('{');
    keys.forEach((k, i) => {
      if (i > 0) out.push(',');
      out.push(JSON.stringify(k), ':');
      write((value as Record<string, unknown>)[k], out);
    });
    out.push('}');
  } else if (typeof value === 'bigint') {
    out.push(`${value}n`);
  } else {
    // undefined, functions and symbols are not data; render them like JSON's null
    // rather than crash on a value that slipped past a boundary check.
    out.push('null');
  }
}
