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
export class OverloadedError extends RingstoreError {
  constructor(message: string) { super('RS_ERR_OVERLOADED', 503, message); }
}
/** A peer asked this node about a partition it does not replicate (anti-entropy, handoff). */
export class NotReplicaError extends RingstoreError {
  constructor(message: string) { super('RS_ERR_NOT_REPLICA', 409, message); }
}
/** No bearer token, or one the node does not know (docs/security.md). */
export class UnauthorizedError extends RingstoreError {
  constructor(message: string) { super('RS_ERR_UNAUTHORIZED', 401, message); }
}
/** A known bearer token whose scope does not cover the request. */
export class ForbiddenError extends RingstoreError {
  constructor(message: string) { super('RS_ERR_FORBIDDEN', 403, message); }
}
/** A client exceeded its request rate; retry after `retryAfterMs`. */
export class RateLimitedError extends RingstoreError {
  readonly retryAfterMs: number;
  constructor(retryAfterMs: number) {
    super('RS_ERR_RATE_LIMITED', 429, `too many requests from this address; retry in ${retryAfterMs} ms`);
    this.retryAfterMs = retryAfterMs;
  }
  override toJSON(): Record<string, unknown> {
    return { error: this.message, code: this.code, retryAfterMs: this.retryAfterMs };
  }
}
/**
 * A write would leave an opaque key with more siblings than the cap (Riak's
 * max_siblings). 409: the key's state conflicts with the write; a write
 * carrying the context of a read resolves the siblings and is accepted.
 */
export class TooManySiblingsError extends RingstoreError {
  readonly siblings: number;
  readonly max: number;
  constructor(siblings: number, max: number) {
    super('RS_ERR_TOO_MANY_SIBLINGS', 409,
      `the write would leave ${siblings} siblings; the limit is ${max}: read the key and write back with its context to resolve them`);
    this.siblings = siblings;
    this.max = max;
  }
  override toJSON(): Record<string, unknown> {
    return { error: this.message, code: this.code, siblings: this.siblings, max: this.max };
  }
}
/** A leave the cluster cannot honour (the last member); docs/membership.md. */
export class LeaveRefusedError extends RingstoreError {
  constructor(message: string) { super('RS_ERR_LEAVE_REFUSED', 409, message); }
}
