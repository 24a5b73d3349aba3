/**
 * One client WebSocket to one node's client API (/client, see
 * src/node/client-api.ts): dials it, keeps it up (redialling with
 * exponential backoff and jitter when it drops, like the peer links of
 * transport/ws-network.ts), correlates requests with replies, and learns the
 * node's id and region from the hello the node sends first.
 *
 * The socket and its batching, backpressure and liveness pings are the
 * transport's PeerLink, so a client pipelining many requests sends them in
 * few frames exactly as a node does.
 *
 * Whether a failed request may have reached the node matters to the caller
 * (a cart add or an opaque put must not be sent twice): requests that failed
 * on a link that never opened, or that the link refused to queue, are marked
 * as not sent (wasNotSent); any other failure may have been applied.
 */
import WebSocket from 'ws';
import {
  BadFrameError, ClosedError, UnreachableError, ValueTooLargeError,
} from '../core/errors';
import { asNodeId } from '../core/ids';
import type { Random } from '../core/prng';
import { backoffDelayMs } from '../transport/backoff';
import {
  decodeFrame, encodeEnvelope, FRAME_HEADER_BYTES_MAX, KIND_ERROR, KIND_ONE_WAY, KIND_REPLY, KIND_REQUEST,
} from '../transport/frame-codec';
import type { Logger } from '../transport/logger';
import { PeerLink, type LinkCounters } from '../transport/peer-link';
import { RemoteError } from '../transport/remote-error';
import { RequestDeadlines } from '../transport/request-deadlines';
import { zeroMask } from '../transport/ws-mask';
import type { ClientHello, ClientReply, ClientRequest } from '../transport/client-protocol';
import { ConnectionRequest, type RequestOrigin } from './connection-request';

/** The node's client API path (src/node/client-api.ts CLIENT_PATH; repeated so this module loads no node code). */
const CLIENT_PATH = '/client';

export type ConnectionState = 'connecting' | 'open' | 'backoff' | 'closed';

export interface NodeConnectionOptions {
  /** Bearer token sent on the upgrade (nodes with access control, docs/security.md). */
  token: string | null;
  /** Dial wss, verifying the node's certificate against `ca` (default: the system's roots). */
  tls: { ca?: string | Buffer } | null;
  frameBytesMax: number;
  connectTimeoutMs: number;
  reconnectBaseMs: number;
  reconnectMaxMs: number;
  random: Random;
  logger: Logger;
  counters: LinkCounters;
  onOpen(conn: NodeConnection): void;
  /** The link dropped or a dial failed; `wasOpen` tells which. */
  onDown(conn: NodeConnection, wasOpen: boolean): void;
  onHello(conn: NodeConnection): void;
}

const unsent = new WeakSet<Error>();

/** Whether a request failed before it could reach the node (safe to send elsewhere, whatever it was). */
export function wasNotSent(err: unknown): boolean {
  return err instanceof Error && unsent.has(err);
}

function markUnsent<E extends Error>(err: E): E {
  unsent.add(err);
  return err;
}

export class NodeConnection implements RequestOrigin {
  /** Learned from the node's hello. */
  nodeId: string | null = null;
  region: string | null = null;
  state: ConnectionState = 'connecting';
  lastError: string | null = null;

  private link: PeerLink | null = null;
  private readonly opened = new WeakSet<PeerLink>();
  private attempt = 0;
  private redialTimer: NodeJS.Timeout | null = null;
  private nextId = 1;
  private readonly deadlines = new RequestDeadlines();

  constructor(readonly addr: string, private readonly o: NodeConnectionOptions) {
    this.dial();
  }

  get label(): string {
    return this.nodeId === null ? this.addr : `${this.nodeId} at ${this.addr}`;
  }

  /** Requests waiting for a reply on the current link. */
  get pendingCount(): number {
    return this.link?.pending.size ?? 0;
  }

  request(msg: ClientRequest, timeoutMs: number): Promise<ClientReply> {
    if (this.state === 'closed') return Promise.reject(markUnsent(new ClosedError('ring client')));
    const link = this.link;
    if (link === null || this.state === 'backoff') {
      return Promise.reject(markUnsent(new UnreachableError(`node at ${this.addr} is down (${this.lastError ?? 'dropped'}); redialling`)));
    }
    const id = this.nextId++;
    const part = encodeEnvelope([KIND_REQUEST, id, msg]);
    const max = this.o.frameBytesMax - FRAME_HEADER_BYTES_MAX;
    if (part.length > max) return Promise.reject(markUnsent(new ValueTooLargeError(part.length, max)));
    // One object per request: no timer, and no closure (connection-request.ts).
    const r = new ConnectionRequest(this.deadlines, this, link, id, msg.type, timeoutMs);
    link.pending.set(id, r);
    this.deadlines.track(r, timeoutMs);
    if (!link.enqueue(part)) {
      link.settle(id, null, markUnsent(new UnreachableError(`link to ${this.label} is congested or closed`)));
    }
    return r.promise;
  }

  /** RequestOrigin: whether `link` ever opened. */
  wasOpened(link: PeerLink): boolean {
    return this.opened.has(link);
  }

  /** RequestOrigin: mark `err` as "never sent". */
  unsent<E extends Error>(err: E): E {
    return markUnsent(err);
  }

  /** Liveness check (see PeerLink.ping): a node that stopped answering is dropped and redialled. */
  ping(): void {
    this.link?.ping();
  }

  /** Close for good: pending requests reject with ClosedError. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.redialTimer) clearTimeout(this.redialTimer);
    this.redialTimer = null;
    const link = this.link;
    this.link = null;
    if (link) {
      link.close(1000, 'client closing', new ClosedError('ring client'));
      await link.whenClosed();
    }
    this.deadlines.stop(); // every request was rejected with the link
  }

  private dial(): void {
    this.state = 'connecting';
    const tls = this.o.tls;
    const ws = new WebSocket(`${tls === null ? 'ws' : 'wss'}://${this.addr}${CLIENT_PATH}`, {
      ...(tls === null ? {} : { rejectUnauthorized: true, ...(tls.ca === undefined ? {} : { ca: tls.ca }) }),
      perMessageDeflate: false,
      maxPayload: this.o.frameBytesMax,
      generateMask: zeroMask,
      handshakeTimeout: this.o.connectTimeoutMs,
      ...(this.o.token !== null ? { headers: { Authorization: `Bearer ${this.o.token}` } } : {}),
    });
    const link: PeerLink = new PeerLink(ws, 'out', null, `ringstore node at ${this.addr}`, {
      batchBytesMax: 256 * 1024,
      batchMessagesMax: 64,
      frameBytesMax: this.o.frameBytesMax,
      queueBytesMax: Math.max(64 * 1024 * 1024, this.o.frameBytesMax),
      highWaterBytes: 1024 * 1024,
      counters: this.o.counters,
      onOpen: () => {
        if (this.link !== link) return;
        this.opened.add(link);
        this.state = 'open';
        this.attempt = 0;
        this.lastError = null;
        this.o.onOpen(this);
      },
      onFrame: (l, data, isBinary) => this.receive(l, data, isBinary),
      onClose: () => this.closed(link),
    });
    this.link = link;
  }

  private closed(link: PeerLink): void {
    if (this.link !== link) return;
    this.link = null;
    const wasOpen = this.state === 'open';
    this.lastError = link.lastError;
    if (this.state === 'closed') return;
    const delayMs = backoffDelayMs(this.attempt++, this.o.reconnectBaseMs, this.o.reconnectMaxMs, this.o.random);
    this.state = 'backoff';
    this.redialTimer = setTimeout(() => {
      this.redialTimer = null;
      if (this.state === 'backoff') this.dial();
    }, delayMs);
    this.redialTimer.unref();
    const fields = { node: this.label, err: link.lastError, redialInMs: Math.round(delayMs) };
    if (wasOpen) this.o.logger.warn(fields, 'ringstore node connection lost');
    else this.o.logger.debug(fields, 'ringstore node dial failed');
    this.o.onDown(this, wasOpen);
  }

  private receive(link: PeerLink, data: Buffer, isBinary: boolean): void {
    let envelopes;
    try {
      if (!isBinary) throw new BadFrameError('text frame from the client API');
      envelopes = decodeFrame(data);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      this.o.logger.warn({ node: this.label, err: why }, 'closing connection: malformed frame from node');
      link.close(1002, 'malformed frame', new UnreachableError(`connection to ${this.label} closed: malformed frame`));
      return;
    }
    for (const env of envelopes) {
      switch (env[0]) {
        case KIND_REPLY:
          link.settle(env[1], env[2]);
          break;
        case KIND_ERROR:
          link.settle(env[1], null, new RemoteError(asNodeId(this.nodeId ?? this.addr), env[2]));
          break;
        case KIND_ONE_WAY:
          this.hello(env[2] as unknown as Record<string, unknown>);
          break;
        default:
          break; // nodes do not send requests to clients
      }
    }
  }

  private hello(m: Record<string, unknown>): void {
    if (m.type !== 'hello' || typeof m.id !== 'string' || typeof m.region !== 'string') return;
    const hello = m as unknown as ClientHello;
    this.nodeId = hello.id;
    this.region = hello.region;
    this.o.onHello(this);
  }
}
