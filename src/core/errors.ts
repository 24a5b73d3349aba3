/**
 * Operating errors: typed, with a stable `code` and the HTTP status they map
 * to at the API boundary. Programmer bugs use assert() instead (STYLE.md 6).
 */
export class RingstoreError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, status: number, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.status = status;
  }
  toJSON(): Record<string, unknown> {
    return { error: this.message, code: this.code };
  }
}

export class BadRequestError extends RingstoreError {
  constructor(message: string) { super('RS_ERR_BAD_REQUEST', 400, message); }
}
export class BadContextError extends RingstoreError {
  constructor(message: string) { super('RS_ERR_BAD_CONTEXT', 400, message); }
}
export class KeyTooLargeError extends RingstoreError {
  constructor(bytes: number, max: number) {
    super('RS_ERR_KEY_TOO_LARGE', 413, `key is ${bytes} bytes; the limit is ${max}`);
  }
}
export class ValueTooLargeError extends RingstoreError {
  constructor(bytes: number, max: number) {
    super('RS_ERR_VALUE_TOO_LARGE', 413, `value is ${bytes} bytes; the limit is ${max}`);
  }
}
export class TypeMismatchError extends RingstoreError {
  constructor(key: string, stored: string, wanted: string) {
    super('RS_ERR_TYPE_MISMATCH', 409, `key ${JSON.stringify(key)} holds a ${stored} value, not a ${wanted}`);
  }
}
export class NotFoundError extends RingstoreError {
  constructor(message: string) { super('RS_ERR_NOT_FOUND', 404, message); }
}
export class QuorumError extends RingstoreError {
  readonly needed: number;
  readonly acked: number;
  constructor(op: string, needed: number, acked: number) {
    super('RS_ERR_QUORUM', 503, `${op} quorum not met: needed ${needed}, acked ${acked}`);
    this.needed = needed;
    this.acked = acked;
  }
  override toJSON(): Record<string, unknown> {
    return { error: this.message, code: this.code, needed: this.needed, acked: this.acked };
  }
}
export class TimeoutError extends RingstoreError {
  constructor(message: string) { super('RS_ERR_TIMEOUT', 504, message); }
}
export class UnreachableError extends RingstoreError {
  constructor(message: string) { super('RS_ERR_UNREACHABLE', 503, message); }
}
export class BadFrameError extends RingstoreError {
  constructor(message: string) { super('RS_ERR_BAD_FRAME', 400, message); }
}
export class UnknownPeerError extends RingstoreError {
  constructor(message: string) { super('RS_ERR_UNKNOWN_PEER', 403, message); }
}
export class StorageError extends RingstoreError {
  constructor(message: string) { super('RS_ERR_STORAGE', 500, message); }
}
export class ClosedError extends RingstoreError {
  constructor(what: string) { super('RS_ERR_CLOSED', 503, `${what} is closed`); }
}
