/**
 * One WebSocket between two nodes, in either direction (DESIGN.md layer 7):
 * its send queue, per-turn batching, backpressure, and the requests waiting
 * for a reply on it. The network above decides what to send and what an
 * incoming frame means; this class only moves frames and keeps the books.
 *
 * Batching: packed envelopes queue up and go out as one frame at the end of
 * the event-loop turn (setImmediate), or at once when the queue reaches
 * batchBytesMax or batchMessagesMax, so a busy link carries many messages per
 * frame and one syscall. The message cap is there for pipelining: with 256
 * requests in flight, one frame per turn made the two nodes take turns, each
 * idle while the other worked through the whole batch (~70k round trips/s on
 * the bench machine); frames of at most 64 let the peer start on the first
 * part of a burst while the rest is produced (~110-125k; bare ws with one
 * message per frame: ~45k on the same machine). Backpressure: while the socket holds more than highWaterBytes
 * unwritten, nothing more is handed to ws; the queue keeps growing (which only
 * makes the next frames fuller) until a write completes, up to queueBytesMax,
 * beyond which messages are refused.
 *
 * Holding: a dialled link of a cluster with a secret is created held. While
 * held, queued messages wait (not even the frame header goes out) and only
 * sendNow() reaches the socket, which is how the handshake of peer-auth.ts
 * runs before any cluster message leaves the node; release() lets the queue
 * go.
 */
import WebSocket from 'ws';
import type { NodeId } from '../core/ids';
import type { PeerMessage } from '../core/network-port';
import { UnreachableError, type RingstoreError } from '../core/errors';
import { FRAME_HEADER_BYTES_MAX, frameOf } from './frame-codec';

export interface LinkCounters {
  framesSent: number;
  messagesSent: number;
  bytesSent: number;
  framesReceived: number;
  bytesReceived: number;
}

/** Bytes to and from one peer, over all its links (ws-network.ts keeps one per peer). */
export interface PeerTraffic {
  bytesSent: number;
  bytesReceived: number;
}

/**
 * A request sent on this link, waiting for its reply. Its timeout is the
 * owner's business: a per-request `timer` is cleared when the request settles
 * here; the peer network keeps no timer per request (request-deadlines.ts).
 */
export interface PendingRequest {
  resolve(msg: PeerMessage): void;
  reject(err: Error): void;
  timer?: NodeJS.Timeout;
}

export interface PeerLinkOptions {
  batchBytesMax: number;
  batchMessagesMax: number;
  frameBytesMax: number;
  queueBytesMax: number;
  /** Unwritten socket bytes above which the link stops handing frames to ws. */
  highWaterBytes: number;
  counters: LinkCounters;
  /** Start held: queued messages wait for release() (peer-auth.ts). */
  held?: boolean;
  onOpen?(link: PeerLink): void;
  onFrame(link: PeerLink, data: Buffer, isBinary: boolean): void;
  /** Called once, when the link fails or is closed; pending requests are already rejected. */
  onClose(link: PeerLink): void;
}

/** How long a closing socket may take to finish the close handshake before it is destroyed. */
const CLOSE_GRACE_MS = 1000;

/** ws copies its send options, so every frame can share one object. */
const BINARY = { binary: true } as const;

export class PeerLink {
  /** The node at the other end: known up front when dialling, from the hello when accepting. */
  peer: NodeId | null;
  /** For log lines: the peer id and address. */
  label: string;
  readonly pending = new Map<number, PendingRequest>();
  /** The last socket error, for the message of the UnreachableError when it drops. */
  lastError: string | null = null;
  /** The close code and reason of the socket, once it closed (1008: the peer refused us). */
  closeCode: number | null = null;
  closeReason = '';
  /** The peer's traffic totals, once the peer is known (set by the network). */
  traffic: PeerTraffic | null = null;

  private parts: Buffer[] = [];
  private partsBytes = 0;
  private flushScheduled = false;
  private blocked = false;
  private failed = false;
  private wasOpen = false;
  private awaitingPong = false;
  private held: boolean;
  private readonly socketClosed: Promise<void>;

  constructor(
    readonly socket: WebSocket,
    readonly direction: 'out' | 'in',
    peer: NodeId | null,
    label: string,
    private readonly opts: PeerLinkOptions,
  ) {
    this.peer = peer;
    this.label = label;
    this.held = opts.held ?? false;
    this.socketClosed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('open', () => {
      this.wasOpen = true;
      opts.onOpen?.(this);
      this.flush();
    });
    socket.on('message', (raw: WebSocket.RawData, isBinary: boolean) => {
      // binaryType is 'nodebuffer' (the default), so ws hands over one Buffer.
      const data = raw as Buffer;
      opts.counters.framesReceived++;
      opts.counters.bytesReceived += data.length;
      if (this.traffic !== null) this.traffic.bytesReceived += data.length;
      this.awaitingPong = false;
      if (!this.failed) opts.onFrame(this, data, isBinary);
    });
    socket.on('pong', () => { this.awaitingPong = false; });
    // ws emits 'error' before 'close'; without a listener it would be thrown.
    socket.on('error', (err: Error) => { this.lastError = err.message; });
    socket.on('close', (code: number, reason: Buffer) => {
      this.closeCode = code;
      this.closeReason = reason.toString();
      const why = this.wasOpen
        ? `link to ${this.label} dropped (code ${code}${reason.length > 0 ? `, ${reason.toString()}` : ''})`
        : `could not connect to ${this.label}: ${this.lastError ?? `closed with code ${code}`}`;
      this.fail(new UnreachableError(why));
    });
  }

  get isOpen(): boolean {
    return !this.failed && this.socket.readyState === WebSocket.OPEN;
  }

  get isClosed(): boolean {
    return this.failed;
  }

  get queuedBytes(): number {
    return this.partsBytes;
  }

  /** Bytes handed to ws but not yet written to the kernel. */
  get bufferedBytes(): number {
    return this.socket.bufferedAmount;
  }

  /**
   * Queue a packed envelope (see frame-codec.ts). Returns false when the
   * link is closed or its queue is full; the caller fails the message.
   */
  enqueue(part: Buffer): boolean {
    if (this.failed || this.partsBytes + part.length > this.opts.queueBytesMax) return false;
    this.parts.push(part);
    this.partsBytes += part.length;
    if (!this.isOpen) return true; // sent on open
    if (this.partsBytes >= this.opts.batchBytesMax || this.parts.length >= this.opts.batchMessagesMax) {
      this.flush();
    } else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushLater);
    }
    return true;
  }

  /** Whether queued messages are held back (handshake not done). */
  get isHeld(): boolean {
    return this.held;
  }

  /**
   * Send one packed envelope as a frame of its own now, ahead of the queue and
   * even while held: the handshake messages. The socket must be open.
   */
  sendNow(part: Buffer): void {
    if (!this.isOpen) return;
    const frame = frameOf([part]);
    this.socket.send(frame, BINARY);
    this.opts.counters.framesSent++;
    this.opts.counters.messagesSent++;
    this.opts.counters.bytesSent += frame.length;
    if (this.traffic !== null) this.traffic.bytesSent += frame.length;
  }

  /** Let queued messages go (the handshake succeeded). */
  release(): void {
    if (!this.held) return;
    this.held = false;
    this.flush();
  }

  /** Settle the request `id` with its reply; false if it is no longer waiting (timed out). */
  settle(id: number, reply: PeerMessage | null, err?: Error): boolean {
    const p = this.pending.get(id);
    if (p === undefined) return false;
    this.pending.delete(id);
    if (p.timer !== undefined) clearTimeout(p.timer);
    if (err !== undefined) p.reject(err);
    else p.resolve(reply as PeerMessage);
    return true;
  }

  /**
   * Liveness check, run every ping interval: a link that did not answer the
   * previous ping (nor sent anything since) is dead, e.g. a crashed machine
   * that never sent a FIN, and is torn down so its requests fail now.
   */
  ping(): void {
    if (!this.isOpen) return;
    if (this.awaitingPong) {
      this.lastError = 'no pong';
      this.socket.terminate();
      return;
    }
    this.awaitingPong = true;
    this.socket.ping();
  }

  /** Fail the link with `err` (pending requests reject with it) and close the socket. */
  close(code: number, reason: string, err: RingstoreError): void {
    this.fail(err);
    const state = this.socket.readyState;
    if (state === WebSocket.CONNECTING) {
      this.socket.terminate();
    } else if (state === WebSocket.OPEN) {
      this.socket.close(code, reason);
      const t = setTimeout(() => this.socket.terminate(), CLOSE_GRACE_MS);
      t.unref();
      void this.socketClosed.then(() => clearTimeout(t));
    }
  }

  /** Resolves once the socket is closed. */
  whenClosed(): Promise<void> {
    return this.socketClosed;
  }

  private fail(err: RingstoreError): void {
    if (this.failed) return;
    this.failed = true;
    this.parts = [];
    this.partsBytes = 0;
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) {
      if (p.timer !== undefined) clearTimeout(p.timer);
      p.reject(err);
    }
    this.opts.onClose(this);
  }

  private readonly flushLater = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  private readonly written = (): void => {
    if (this.blocked && this.socket.bufferedAmount <= this.opts.highWaterBytes) {
      this.blocked = false;
      this.flush();
    }
  };

  private flush(): void {
    if (!this.isOpen || this.held || this.parts.length === 0) return;
    const parts = this.parts;
    const limit = Math.min(this.opts.batchBytesMax, this.opts.frameBytesMax - FRAME_HEADER_BYTES_MAX);
    const counters = this.opts.counters;
    let start = 0;
    let sentBytes = 0;
    while (start < parts.length) {
      if (this.socket.bufferedAmount > this.opts.highWaterBytes) {
        this.blocked = true; // written() resumes
        break;
      }
      let end = start;
      let bytes = 0;
      // At least one envelope per frame: the network refused any single one
      // that cannot fit in frameBytesMax.
      while (end < parts.length && (end === start || bytes + parts[end].length <= limit)) {
        bytes += parts[end].length;
        end++;
      }
      const frame = frameOf(start === 0 && end === parts.length ? parts : parts.slice(start, end), bytes);
      this.socket.send(frame, BINARY, this.written);
      counters.framesSent++;
      counters.messagesSent += end - start;
      counters.bytesSent += frame.length;
      if (this.traffic !== null) this.traffic.bytesSent += frame.length;
      sentBytes += bytes;
      start = end;
    }
    this.parts = start === parts.length ? [] : parts.slice(start);
    this.partsBytes -= sentBytes;
  }
}
