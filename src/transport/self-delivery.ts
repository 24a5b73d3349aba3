/**
 * Messages a node sends to itself (a coordinator that is one of the key's own
 * replicas, say). They never touch a socket: the local handler answers them
 * on a later turn (setImmediate, as a reply from a peer would come), and each
 * message goes through the codec both ways so that the caller gets a copy, as
 * from any other peer, and a message too large for a frame fails here as it
 * would on a link. Faults do not apply: a node is never cut from itself.
 */
import { TimeoutError } from '../core/errors';
import type { NodeId } from '../core/ids';
import type { PeerHandler, PeerMessage } from '../core/network-port';
import { decodeFrame, frameOf, KIND_ONE_WAY, KIND_REPLY, KIND_REQUEST, type Envelope } from './frame-codec';
import { callHandler } from './handler-call';
import type { Logger } from './logger';
import { RemoteError } from './remote-error';
import { RequestDeadlines, TimedRequest } from './request-deadlines';

export interface SelfDeliveryDeps<M extends PeerMessage> {
  self: NodeId;
  log: Logger;
  /** The network's request timeouts; self-requests share its one timer. */
  deadlines: RequestDeadlines;
  /** The network's encoder, which refuses what would not fit in a frame. */
  pack(env: Envelope): Buffer;
  /** The next request id of the network. */
  nextId(): number;
  handler(): PeerHandler<M> | null;
  isClosed(): boolean;
}

class SelfRequest<M extends PeerMessage> extends TimedRequest<M> {
  constructor(
    private readonly owner: SelfDelivery<M>,
    deadlines: RequestDeadlines,
    readonly id: number,
    readonly type: string,
    readonly timeoutMs: number,
  ) {
    super(deadlines);
  }

  expire(): void {
    if (this.owner.forget(this.id)) {
      this.reject(new TimeoutError(`${this.type} request to self got no reply within ${this.timeoutMs} ms`));
    }
  }
}

export class SelfDelivery<M extends PeerMessage> {
  private readonly pending = new Map<number, SelfRequest<M>>();

  constructor(private readonly d: SelfDeliveryDeps<M>) {}

  /** Ask the local handler; rejects with TimeoutError if it does not answer within timeoutMs. */
  request(msg: M, timeoutMs: number): Promise<M> {
    const id = this.d.nextId();
    let copy: M;
    try {
      copy = roundTrip(this.d.pack([KIND_REQUEST, id, msg]));
    } catch (err) {
      return Promise.reject(err);
    }
    const r = new SelfRequest<M>(this, this.d.deadlines, id, msg.type, timeoutMs);
    this.pending.set(id, r);
    this.d.deadlines.track(r, timeoutMs);
    setImmediate(() => {
      if (!this.pending.has(id)) return;
      callHandler(this.d.handler(), this.d.self, copy, this.d.log, (a) => {
        if (!this.forget(id)) return;
        try {
          if (a.ok) r.resolve(roundTrip(this.d.pack([KIND_REPLY, id, a.msg])));
          else r.reject(new RemoteError(this.d.self, a.error));
        } catch (err) {
          r.reject(err as Error);
        }
      });
    });
    return r.promise;
  }

  /** Hand a one-way message to the local handler on a later turn. */
  send(msg: M): void {
    let copy: M;
    try {
      copy = roundTrip(this.d.pack([KIND_ONE_WAY, 0, msg]));
    } catch (err) {
      this.d.log.error({ peer: this.d.self, type: msg.type, err: (err as Error).message }, 'one-way message not sent');
      return;
    }
    setImmediate(() => {
      if (!this.d.isClosed()) callHandler(this.d.handler(), this.d.self, copy, this.d.log);
    });
  }

  /** Reject every request still waiting (the network is closing). */
  rejectAll(err: Error): void {
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const r of waiting) r.reject(err);
  }

  /** Stop waiting for request `id`; false if it no longer was. */
  forget(id: number): boolean {
    return this.pending.delete(id);
  }
}

/** A fresh copy of a packed envelope's message, as the receiving side would decode it. */
function roundTrip<M>(part: Buffer): M {
  return decodeFrame(frameOf([part]))[0][2] as M;
}
