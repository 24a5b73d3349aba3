/**
 * A client request waiting for its node's reply: one object that is its
 * entry in the link's pending map (settled there by the reply, or rejected
 * when the link ends) and in the connection's deadlines
 * (transport/request-deadlines.ts), which expire it after its timeout. No
 * setTimeout and no closures per request, as on the peer links
 * (transport/link-request.ts).
 */
import { TimeoutError, UnreachableError } from '../core/errors';
import type { PeerLink } from '../transport/peer-link';
import { TimedRequest, type RequestDeadlines } from '../transport/request-deadlines';
import type { ClientReply } from '../transport/client-protocol';

/** What a request needs to know of its connection. */
export interface RequestOrigin {
  /** Whether `link` ever opened: a request on a link that never did was not sent. */
  wasOpened(link: PeerLink): boolean;
  readonly label: string;
  readonly addr: string;
  /** Marks an error as "the request never left" (node-connection.ts wasNotSent). */
  unsent<E extends Error>(err: E): E;
}

export class ConnectionRequest extends TimedRequest<ClientReply> {
  constructor(
    deadlines: RequestDeadlines,
    private readonly origin: RequestOrigin,
    readonly link: PeerLink,
    readonly id: number,
    readonly type: string,
    readonly timeoutMs: number,
  ) {
    super(deadlines);
  }

  /** A link that never opened sent nothing (PeerLink drops its queue when it fails). */
  override reject(err: Error): void {
    super.reject(this.origin.wasOpened(this.link) ? err : this.origin.unsent(err));
  }

  /**
   * No reply in time. A request queued on a link still connecting goes out
   * when it opens, so a timeout there is UnreachableError, not marked unsent.
   */
  expire(): void {
    if (!this.link.pending.delete(this.id)) return;
    const err = this.origin.wasOpened(this.link)
      ? new TimeoutError(`${this.type} request to ${this.origin.label} got no reply within ${this.timeoutMs} ms`)
      : new UnreachableError(`could not connect to ${this.origin.addr} within ${this.timeoutMs} ms`);
    super.reject(err);
  }
}
