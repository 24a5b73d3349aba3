/**
 * Calling the node's PeerHandler for one incoming message, shared by the ws
 * and the in-memory network so both answer alike. A synchronous handler is
 * answered in the same turn (no promise hop on the hot path). A throw becomes
 * an error reply (see remote-error.ts); a request the handler leaves without
 * an answer is answered RS_ERR_INTERNAL at once rather than left to time out
 * on the requester, because it is a protocol bug either way.
 */
import type { NodeId } from '../core/ids';
import type { PeerHandler, PeerMessage } from '../core/network-port';
import type { ErrorBody } from './frame-codec';
import { isPeerMessage } from './frame-codec';
import type { Logger } from './logger';
import { errorBodyOf, internalError } from './remote-error';
import { RingstoreError } from '../core/errors';

export type Answer<M> = { ok: true; msg: M } | { ok: false; error: ErrorBody };

/**
 * Run the handler for `msg` from `from`. With `answer` (a request) the outcome
 * is passed to it exactly once; without (a one-way message) failures are only
 * logged.
 */
export function callHandler<M extends PeerMessage>(
  handler: PeerHandler<M> | null,
  from: NodeId,
  msg: M,
  log: Logger,
  answer?: (a: Answer<M>) => void,
): void {
  const fail = (err: unknown): void => {
    if (!(err instanceof RingstoreError)) {
      log.error({ peer: from, type: msg.type, err: describeError(err) }, 'peer message handler threw');
    } else if (!answer) {
      log.debug({ peer: from, type: msg.type, code: err.code }, 'one-way peer message failed');
    }
    answer?.({ ok: false, error: errorBodyOf(err) });
  };
  const done = (reply: M | undefined): void => {
    if (!answer) return;
    if (reply === undefined) {
      answer({ ok: false, error: internalError(`no reply to a ${msg.type} request`) });
    } else if (!isPeerMessage(reply)) {
      log.error({ peer: from, type: msg.type }, 'peer message handler replied with a value that is not a peer message');
      answer({ ok: false, error: internalError(`malformed reply to a ${msg.type} request`) });
    } else {
      answer({ ok: true, msg: reply });
    }
  };
  if (handler === null) {
    log.warn({ peer: from, type: msg.type }, 'peer message arrived before a handler was installed');
    answer?.({ ok: false, error: internalError('no handler installed') });
    return;
  }
  let result: ReturnType<PeerHandler<M>>;
  try {
    result = handler(from, msg);
  } catch (err) {
    fail(err);
    return;
  }
  if (isThenable(result)) {
    // done() and answer() do not throw; the catch keeps a bug there from
    // becoming an unhandled rejection that would end the process.
    Promise.resolve(result).then(done, fail).catch((err: unknown) => {
      log.error({ peer: from, type: msg.type, err: describeError(err) }, 'answering a peer message failed');
    });
  } else {
    done(result);
  }
}

function isThenable<T>(x: unknown): x is PromiseLike<T> {
  return typeof x === 'object' && x !== null && typeof (x as { then?: unknown }).then === 'function';
}

function describeError(err: unknown): string {
  if (err instanceof Error) return err.stack ?? err.message;
  return String(err);
}
