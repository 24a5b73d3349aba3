/**
 * Errors that cross a peer link. A handler that throws a RingstoreError is
 * answered with an error reply carrying its code, message and status; the
 * requester's promise rejects with a RemoteError holding the same code and
 * status (compare `code`, not the class: a remote TimeoutError is not a local
 * one). Any other throw is a bug on the remote side and travels as
 * RS_ERR_INTERNAL.
 */
import { RingstoreError } from '../core/errors';
import type { NodeId } from '../core/ids';
import type { ErrorBody } from './frame-codec';

export const INTERNAL_CODE = 'RS_ERR_INTERNAL';

export class RemoteError extends RingstoreError {
  /** The node whose handler failed. */
  readonly peer: NodeId;
  constructor(peer: NodeId, body: ErrorBody) {
    super(body.code, body.status ?? 500, body.message);
    this.peer = peer;
  }
}

/** The error reply for a value a handler threw. */
export function errorBodyOf(err: unknown): ErrorBody {
  if (err instanceof RingstoreError) return { code: err.code, message: err.message, status: err.status };
  return internalError(`handler failed: ${err instanceof Error ? err.message : String(err)}`);
}

export function internalError(message: string): ErrorBody {
  return { code: INTERNAL_CODE, message, status: 500 };
}
