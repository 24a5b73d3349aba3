/**
 * A request sent on a peer link and waiting for its reply: one object that is
 * its entry in the link's pending map (settled there by the reply, or
 * rejected when the link ends) and in the network's deadlines
 * (request-deadlines.ts), which expire it after its timeout.
 */
import { TimeoutError, UnreachableError } from '../core/errors';
import type { NodeId } from '../core/ids';
import type { PeerMessage } from '../core/network-port';
import type { PeerLink } from './peer-link';
import { TimedRequest, type RequestDeadlines } from './request-deadlines';

export class LinkRequest<M extends PeerMessage> extends TimedRequest<M> {
  constructor(
    deadlines: RequestDeadlines,
    readonly link: PeerLink,
    readonly id: number,
    readonly type: string,
    readonly to: NodeId,
    readonly addr: string,
    readonly timeoutMs: number,
  ) {
    super(deadlines);
  }

  /** No reply in time: TimeoutError, or UnreachableError if the link never came up meanwhile. */
  expire(): void {
    if (!this.link.pending.delete(this.id)) return;
    this.reject(this.link.isOpen
      ? new TimeoutError(`${this.type} request to ${this.to} got no reply within ${this.timeoutMs} ms`)
      : new UnreachableError(`could not connect to ${this.to} at ${this.addr} within ${this.timeoutMs} ms`));
  }
}
