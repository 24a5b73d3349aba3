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
