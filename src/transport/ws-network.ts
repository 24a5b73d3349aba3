/**
 * The production Network (DESIGN.md layer 7): peer links over WebSocket (ws)
 * with msgpack frames (frame-codec.ts). This file is the composition: it
 * dials and keeps the links and routes requests, replies and one-way messages
 * over them. The opening of each link (hello, authentication) is
 * link-auth.ts, injected faults region-faults.ts, messages to itself
 * self-delivery.ts, request timeouts request-deadlines.ts, and one socket's
 * queue and batching peer-link.ts.
 *
 * Each node dials one outgoing link per peer, lazily on the first message,
 * and keeps it up afterwards, redialling with exponential backoff and jitter
 * when it drops. Its requests and one-way messages go out on that link and the
 * peer answers on the same socket; requests from the peer arrive on the
 * peer's own outgoing link (an incoming link here) and are answered there. An
 * incoming link has no identity until its hello (peer-hello.ts); that id is
 * the `from` of everything it carries. With a cluster `secret` every link
 * authenticates before it carries anything (link-auth.ts, docs/security.md);
 * with `tls`, links are dialled as wss.
 *
 * Connection limits: at most handshakesPerAddressMax links from one IP may
 * be in their handshake at once (more get HTTP 429 at the upgrade), and an
 * identified peer keeps at most linksPerPeerMax incoming links (a newer one
 * closes the oldest, which is what a reconnect after a silent drop needs).
 *
 * Failure model, as the replication layer sees it: a request to an unknown
 * peer, to a peer whose link is down (waiting to redial), or to a region cut
 * by an injected fault rejects with UnreachableError at once; one whose dial
 * fails rejects as soon as the dial fails; every request pending on a link
 * rejects with UnreachableError when the link drops; a request whose link is
 * up but gets no answer rejects with TimeoutError after timeoutMs (or
 * UnreachableError if the link never came up in that time).
 *
 * Serving: give the node's http.Server to attach(), or, when the server has
 * other WebSocket routes (the node's /client API), call handleUpgrade() from
 * the server's own 'upgrade' listener: it takes the upgrade and returns true
 * for the peer path and returns false, touching nothing, for any other.
 *
 * Faults (DESIGN.md `/admin/faults`): messages this node sends (requests,
 * replies, one-way) to a peer whose region is cut are dropped, and requests
 * to it reject at once; to a delayed region they are held for delayMs before
 * they are queued. The region of a peer comes from addPeer() or its hello.
 */
import type * as http from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import { assert } from '../core/assert';
import {
  BadFrameError,
  ClosedError,
  TimeoutError,
  UnreachableError,
  ValueTooLargeError,
} from '../core/errors';
import type { NodeId } from '../core/ids';
import type { PeerHandler, PeerMessage } from '../core/network-port';
import type { Random } from '../core/prng';
import { backoffDelayMs, prngFor } from './backoff';
import {
  decodeFrame,
  encodeEnvelope,
  FRAME_HEADER_BYTES_MAX,
  KIND_ERROR,
  KIND_ONE_WAY,
  KIND_REPLY,
  KIND_REQUEST,
  type Envelope,
} from './frame-codec';
import { callHandler, type Answer } from './handler-call';
import { silentLogger, type Logger } from './logger';
import { LinkAuth } from './link-auth';
import { channelBinding, checkClusterSecret } from './peer-auth';
import type { Hello } from './peer-hello';
import { PeerLink, type LinkCounters, type PeerLinkOptions, type PeerTraffic } from './peer-link';
import type { PeerNetwork } from './peer-network';
import { RegionFaults, type Faults } from './region-faults';
import { errorBodyOf, RemoteError } from './remote-error';
import { RequestDeadlines, TimedRequest } from './request-deadlines';
import { SelfDelivery } from './self-delivery';
import { zeroMask } from './ws-mask';

export type { Faults } from './region-faults';
export type { Hello } from './peer-hello';

export interface WsNetworkOptions {
  self: NodeId;
  /** This node's `host:port`, announced in the hello. */
  selfAddr: string;
  region?: string;
  logger?: Logger;
  /** Largest frame accepted (ws maxPayload) and sent. */
  frameBytesMax: number;
  /** First redial delay after a link drops; doubles per failed dial. Default 100. */
  reconnectBaseMs?: number;
  /** Ceiling of the redial delay. Default 5000. */
  reconnectMaxMs?: number;
  /** Queued bytes that flush a frame before the end of the turn. Default 256 KiB. */
  batchBytesMax?: number;
  /**
   * Queued messages that flush a frame before the end of the turn. Default
   * 64: see peer-link.ts for why a burst should not go out as one frame.
   */
  batchMessagesMax?: number;
  /** Bytes a link may queue while its socket is slow before refusing messages. Default max(64 MiB, frameBytesMax). */
  queueBytesMax?: number;
  /** The WebSocket path served and dialled. Default '/peer'. */
  path?: string;
  /** Dial (TCP + upgrade) time limit. Default 5000. */
  connectTimeoutMs?: number;
  /** How long an accepted socket may stay silent before its hello. Default 5000. */
  helloTimeoutMs?: number;
  /** Interval of liveness pings on every link; 0 disables. Default 5000. */
  pingIntervalMs?: number;
  /** Jitter for redial delays. Default: a Prng seeded from `self`. */
  random?: Random;
  /**
   * The cluster secret (at least 16 bytes). When set, every link runs the
   * challenge-response of peer-auth.ts and a peer without the secret is
   * refused. Unset: hellos are trusted (a private network only).
   */
  secret?: Uint8Array;
  /**
   * Dial peers over wss, verifying their certificate (and host name) against
   * `ca`, or the system's roots when it is absent.
   */
  tls?: { ca?: string | Buffer };
  /** Identified incoming links one peer may hold; a newer one closes the oldest. Default 4. */
  linksPerPeerMax?: number;
  /** Incoming links from one IP that may be in their handshake at once; more get 429. Default 16. */
  handshakesPerAddressMax?: number;
}

export type LinkState = 'idle' | 'connecting' | 'open' | 'backoff';

export interface PeerLinkStats {
  addr: string;
  region: string | null;
  /** The outgoing link. */
  state: LinkState;
  /** Whether onPeerUp was the last event announced for the peer. */
  up: boolean;
  pendingRequests: number;
  /** Bytes waiting in the link's own queue (not yet framed). */
  queuedBytes: number;
  /** Bytes framed and handed to ws but not yet written to the socket. */
  bufferedBytes: number;
  incomingLinks: number;
  /** Bytes of frames sent to and received from this peer since start, over every link with it. */
  bytesSent: number;
  bytesReceived: number;
}

export interface WsNetworkStats extends LinkCounters {
  messagesReceived: number;
  /** Messages dropped by a cut, a down link, or a full queue. */
  messagesDropped: number;
  badFrames: number;
  /** Links refused because the peer failed, stalled or broke the handshake (either direction). */
  authFailures: number;
  /** Upgrades refused by handshakesPerAddressMax, and links closed by linksPerPeerMax. */
  linksRefused: number;
  incomingLinks: number;
  peers: Record<string, PeerLinkStats>;
}

interface OutgoingPeer {
  id: NodeId;
  addr: string;
  link: PeerLink | null;
  state: LinkState;
  /** Failed dials since the link was last open. */
  attempt: number;
  redialTimer: NodeJS.Timeout | null;
  /** What onPeerUp/onPeerDown last announced. */
  announcedUp: boolean;
  lastError: string | null;
}

/**
 * A request on a peer link: the entry in the link's pending map (settled
 * there by the reply or the link's end) and in the network's deadlines.
 */
class LinkRequest<M extends PeerMessage> extends TimedRequest<M> {
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

  expire(): void {
    if (!this.link.pending.delete(this.id)) return;
    this.reject(this.link.isOpen
      ? new TimeoutError(`${this.type} request to ${this.to} got no reply within ${this.timeoutMs} ms`)
      : new UnreachableError(`could not connect to ${this.to} at ${this.addr} within ${this.timeoutMs} ms`));
  }
}

const HIGH_WATER_BYTES = 1024 * 1024;

export class WsNetwork<M extends PeerMessage> implements PeerNetwork<M> {
  readonly self: NodeId;
  readonly selfAddr: string;
  readonly region: string | null;

  private readonly log: Logger;
  private readonly frameBytesMax: number;
  private readonly reconnectBaseMs: number;
  private readonly reconnectMaxMs: number;
  private readonly connectTimeoutMs: number;
  private readonly random: Random;
  private path: string;
  private readonly wss: WebSocketServer;
  private readonly linkOptions: Omit<PeerLinkOptions, 'onOpen' | 'onFrame' | 'onClose'>;
  private readonly counters: WsNetworkStats;
  /** Bytes to and from each peer, kept across its links' reconnects. */
  private readonly traffic = new Map<NodeId, PeerTraffic>();

  private handler: PeerHandler<M> | null = null;
  private readonly upListeners: ((id: NodeId) => void)[] = [];
  private readonly downListeners: ((id: NodeId) => void)[] = [];
  private readonly helloListeners: ((hello: Hello) => void)[] = [];

  private readonly outgoing = new Map<NodeId, OutgoingPeer>();
  private readonly incoming = new Set<PeerLink>();
  /** Regions of peers, from addPeer() or their hello. */
  private readonly regions = new Map<NodeId, string>();
  private readonly faultSet = new RegionFaults();
  /** Timeouts of every request in flight, self-requests included: one timer. */
  private readonly deadlines = new RequestDeadlines();
  private readonly selfDelivery: SelfDelivery<M>;
  private readonly auth: LinkAuth;
  private readonly heldTimers = new Set<NodeJS.Timeout>();
  private readonly pingTimer: NodeJS.Timeout | null;
  private nextId = 1;
  private closed = false;
  private readonly tls: { ca?: string | Buffer } | null;
  private readonly linksPerPeerMax: number;
  private readonly handshakesPerAddressMax: number;

  constructor(opts: WsNetworkOptions) {
    assert(opts.frameBytesMax > FRAME_HEADER_BYTES_MAX + 64, 'frameBytesMax is too small for any message');
    this.self = opts.self;
    this.selfAddr = opts.selfAddr;
    this.region = opts.region ?? null;
    this.log = opts.logger ?? silentLogger;
    this.frameBytesMax = opts.frameBytesMax;
    this.reconnectBaseMs = opts.reconnectBaseMs ?? 100;
    this.reconnectMaxMs = opts.reconnectMaxMs ?? 5000;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 5000;
    this.random = opts.random ?? prngFor(opts.self);
    this.path = opts.path ?? '/peer';
    this.tls = opts.tls ?? null;
    this.linksPerPeerMax = opts.linksPerPeerMax ?? 4;
    this.handshakesPerAddressMax = opts.handshakesPerAddressMax ?? 16;
    assert(this.linksPerPeerMax >= 1 && this.handshakesPerAddressMax >= 1, 'link limits must be at least 1');
    this.counters = {
      framesSent: 0, messagesSent: 0, bytesSent: 0, framesReceived: 0, bytesReceived: 0,
      messagesReceived: 0, messagesDropped: 0, badFrames: 0, authFailures: 0, linksRefused: 0, incomingLinks: 0, peers: {},
    };
    this.linkOptions = {
      batchBytesMax: opts.batchBytesMax ?? 256 * 1024,
      batchMessagesMax: opts.batchMessagesMax ?? 64,
      frameBytesMax: opts.frameBytesMax,
      queueBytesMax: opts.queueBytesMax ?? Math.max(64 * 1024 * 1024, opts.frameBytesMax),
      highWaterBytes: HIGH_WATER_BYTES,
      counters: this.counters,
    };
    this.wss = new WebSocketServer({ noServer: true, maxPayload: opts.frameBytesMax, perMessageDeflate: false });
    this.auth = new LinkAuth({
      self: opts.self,
      selfAddr: opts.selfAddr,
      region: this.region,
      secret: opts.secret === undefined ? null : checkClusterSecret(opts.secret),
      helloTimeoutMs: opts.helloTimeoutMs ?? 5000,
      log: this.log,
      opened: (link) => this.outgoingOpened(link),
      identified: (link, hello) => this.identify(link, hello),
      onRefused: () => { this.counters.authFailures++; },
    });
    this.selfDelivery = new SelfDelivery<M>({
      self: opts.self,
      log: this.log,
      deadlines: this.deadlines,
      pack: (env) => this.pack(env),
      nextId: () => this.nextId++,
      handler: () => this.handler,
      isClosed: () => this.closed,
    });
    const pingIntervalMs = opts.pingIntervalMs ?? 5000;
    this.pingTimer = pingIntervalMs > 0 ? setInterval(() => this.pingAll(), pingIntervalMs) : null;
    this.pingTimer?.unref();
  }

  // ---- serving ----

  /**
   * Serve incoming peer links on `server` at `path`. Upgrades for other paths
   * are left to the server's other 'upgrade' listeners, or refused if it has
   * none. Use handleUpgrade() instead to route upgrades yourself.
   */
  attach(server: http.Server, path = this.path): void {
    this.path = path;
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      // Node hands the socket over without an 'error' listener (see ringstore-node.ts).
      socket.on('error', (err: Error) => this.log.debug({ err: err.message }, 'upgrade socket error'));
      if (this.handleUpgrade(req, socket, head)) return;
      if (server.listenerCount('upgrade') === 1) {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      }
    });
  }

  /**
   * Take an HTTP upgrade if it is for the peer path (true), or leave it
   * untouched for the caller to route (false).
   */
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    if ((q < 0 ? url : url.slice(0, q)) !== this.path) return false;
    if (this.closed) {
      socket.destroy();
      return true;
    }
    const ip = req.socket.remoteAddress ?? 'unknown';
    const inHandshake = this.auth.inProgressFrom(ip);
    if (inHandshake >= this.handshakesPerAddressMax) {
      this.counters.linksRefused++;
      this.log.warn({ remote: ip, handshakes: inHandshake }, `refusing peer link from ${ip}: ${inHandshake} handshakes from it already in progress`);
      socket.end('HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return true;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req));
    return true;
  }

  // ---- peers ----

  /** Know a peer by id and address (and region, for faults). Dialled on first use. */
  addPeer(id: NodeId, addr: string, region?: string): void {
    if (this.closed) return;
    if (region !== undefined) this.setRegion(id, region);
    const known = this.outgoing.get(id);
    if (known === undefined) {
      this.outgoing.set(id, {
        id, addr, link: null, state: 'idle', attempt: 0, redialTimer: null, announcedUp: false, lastError: null,
      });
      return;
    }
    if (known.addr === addr) return;
    // The peer moved: drop the link to the old address; the next message dials the new one.
    this.log.info({ peer: id, from: known.addr, to: addr }, 'peer address changed');
    known.addr = addr;
    this.resetLink(known, new UnreachableError(`peer ${id} moved to ${addr}`));
  }

  /** Forget a peer: its outgoing link closes and its pending requests reject. */
  removePeer(id: NodeId): void {
    const peer = this.outgoing.get(id);
    if (peer === undefined) return;
    this.outgoing.delete(id);
    this.resetLink(peer, new UnreachableError(`peer ${id} was removed`));
  }

  peers(): NodeId[] {
    return [...this.outgoing.keys()];
  }

  /** Whether the outgoing link to `to` is open and not cut by a fault. */
  isReachable(to: NodeId): boolean {
    if (to === this.self) return !this.closed;
    const peer = this.outgoing.get(to);
    return peer !== undefined && peer.state === 'open' && !this.isCut(to);
  }

  onPeerUp(cb: (id: NodeId) => void): void {
    this.upListeners.push(cb);
  }

  onPeerDown(cb: (id: NodeId) => void): void {
    this.downListeners.push(cb);
  }

  /** Called with each accepted hello: how a node learns of a peer that dialled it. */
  onHello(cb: (hello: Hello) => void): void {
    this.helloListeners.push(cb);
  }

  setHandler(handler: PeerHandler<M>): void {
    this.handler = handler;
  }

  // ---- messages ----

  request(to: NodeId, msg: M, timeoutMs: number): Promise<M> {
    assert(Number.isFinite(timeoutMs) && timeoutMs > 0, `request timeout must be positive, got ${timeoutMs}`);
    if (this.closed) return Promise.reject(new ClosedError('peer network'));
    if (to === this.self) return this.selfDelivery.request(msg, timeoutMs);
    const peer = this.outgoing.get(to);
    if (peer === undefined) return Promise.reject(new UnreachableError(`unknown peer ${to}`));
    const delayMs = this.delayTo(to);
    if (delayMs < 0) {
      this.counters.messagesDropped++;
      return Promise.reject(new UnreachableError(`link to ${to} is cut by an injected fault`));
    }
    if (peer.state === 'backoff') {
      return Promise.reject(new UnreachableError(`link to ${to} at ${peer.addr} is down (${peer.lastError ?? 'dropped'}); redialling`));
    }
    const id = this.nextId++;
    let part: Buffer;
    try {
      part = this.pack([KIND_REQUEST, id, msg]);
    } catch (err) {
      return Promise.reject(err);
    }
    const link = this.linkTo(peer);
    // One object per request: no timer, and no closure (request-deadlines.ts).
    const r = new LinkRequest<M>(this.deadlines, link, id, msg.type, to, peer.addr, timeoutMs);
    link.pending.set(id, r);
    this.deadlines.track(r, timeoutMs);
    this.transmit(link, part, delayMs, r);
    return r.promise;
  }

  send(to: NodeId, msg: M): void {
    if (this.closed) return;
    if (to === this.self) {
      this.selfDelivery.send(msg);
      return;
    }
    const peer = this.outgoing.get(to);
    const delayMs = this.delayTo(to);
    if (peer === undefined || peer.state === 'backoff' || delayMs < 0) {
      this.counters.messagesDropped++;
      this.log.debug({ peer: to, type: msg.type }, 'one-way message dropped: peer unknown, down or cut');
      return;
    }
    let part: Buffer;
    try {
      part = this.pack([KIND_ONE_WAY, 0, msg]);
    } catch (err) {
      // Fire and forget: a caller on a timer must not crash the node over one message.
      this.log.error({ peer: to, type: msg.type, err: (err as Error).message }, 'one-way message not sent');
      return;
    }
    this.transmit(this.linkTo(peer), part, delayMs, null);
  }

  // ---- faults ----

  /** Replace the injected faults (DESIGN.md POST /admin/faults). */
  setFaults(faults: Faults): void {
    this.faultSet.set(faults);
    this.log.info(this.faultSet.describe(), 'injected faults set');
    for (const peer of this.outgoing.values()) this.announce(peer);
  }

  clearFaults(): void {
    this.setFaults({});
  }

  faults(): { delayMs: Record<string, number>; cut: string[] } {
    return this.faultSet.describe();
  }

  // ---- lifecycle and stats ----

  /** Close every link; pending requests reject with ClosedError. Resolves when the sockets are closed. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.pingTimer) clearInterval(this.pingTimer);
    for (const t of this.heldTimers) clearTimeout(t);
    this.heldTimers.clear();
    const err = new ClosedError('peer network');
    this.selfDelivery.rejectAll(err);
    const links: PeerLink[] = [...this.incoming];
    for (const peer of this.outgoing.values()) {
      if (peer.redialTimer) clearTimeout(peer.redialTimer);
      if (peer.link) links.push(peer.link);
    }
    for (const link of links) link.close(1001, 'node shutting down', err);
    this.deadlines.stop(); // every request was rejected just now
    await Promise.all(links.map((l) => l.whenClosed()));
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private trafficOf(peer: NodeId): PeerTraffic {
    let t = this.traffic.get(peer);
    if (t === undefined) {
      t = { bytesSent: 0, bytesReceived: 0 };
      this.traffic.set(peer, t);
    }
    return t;
  }

  stats(): WsNetworkStats {
    const peers: Record<string, PeerLinkStats> = {};
    const incomingBy = new Map<NodeId, number>();
    for (const link of this.incoming) {
      if (link.peer !== null) incomingBy.set(link.peer, (incomingBy.get(link.peer) ?? 0) + 1);
    }
    for (const p of this.outgoing.values()) {
      peers[p.id] = {
        addr: p.addr,
        region: this.regions.get(p.id) ?? null,
        state: p.state,
        up: p.announcedUp,
        pendingRequests: p.link?.pending.size ?? 0,
        queuedBytes: p.link?.queuedBytes ?? 0,
        bufferedBytes: p.link?.bufferedBytes ?? 0,
        incomingLinks: incomingBy.get(p.id) ?? 0,
        bytesSent: this.trafficOf(p.id).bytesSent,
        bytesReceived: this.trafficOf(p.id).bytesReceived,
      };
    }
    return { ...this.counters, incomingLinks: this.incoming.size, peers };
  }

  // ---- outgoing links ----

  private linkTo(peer: OutgoingPeer): PeerLink {
    if (peer.link !== null) return peer.link;
    if (peer.redialTimer) {
      clearTimeout(peer.redialTimer);
      peer.redialTimer = null;
    }
    const scheme = this.tls === null ? 'ws' : 'wss';
    const url = /^wss?:\/\//.test(peer.addr) ? peer.addr : `${scheme}://${peer.addr}${this.path}`;
    const ws = new WebSocket(url, {
      perMessageDeflate: false,
      generateMask: zeroMask,
      maxPayload: this.frameBytesMax,
      handshakeTimeout: this.connectTimeoutMs,
      ...(this.tls === null ? {} : { rejectUnauthorized: true, ...(this.tls.ca === undefined ? {} : { ca: this.tls.ca }) }),
    });
    const link: PeerLink = new PeerLink(ws, 'out', peer.id, `${peer.id} at ${peer.addr}`, {
      ...this.linkOptions,
      held: this.auth.secured,
      onOpen: () => this.auth.sendHello(link),
      onFrame: (l, data, isBinary) => this.receive(l, data, isBinary),
      onClose: () => {
        this.auth.endOutgoing(link);
        this.outgoingClosed(peer, link);
      },
    });
    link.traffic = this.trafficOf(peer.id);
    this.auth.beginOutgoing(link, ws);
    peer.link = link;
    peer.state = 'connecting';
    return link;
  }

  /** A dialled link finished its handshake (link-auth.ts): the peer is up. */
  private outgoingOpened(link: PeerLink): void {
    const peer = link.peer === null ? undefined : this.outgoing.get(link.peer);
    if (peer === undefined || peer.link !== link) return;
    peer.state = 'open';
    peer.attempt = 0;
    peer.lastError = null;
    this.log.info({ peer: peer.id, addr: peer.addr }, 'peer link up');
    this.announce(peer);
  }

  private outgoingClosed(peer: OutgoingPeer, link: PeerLink): void {
    if (peer.link !== link) return;
    peer.link = null;
    const wasOpen = peer.state === 'open';
    peer.lastError = link.lastError;
    if (link.closeCode === 1008) {
      // The peer refused us (most likely a wrong or missing cluster secret): say so loudly.
      peer.lastError = `refused by the peer: ${link.closeReason || 'policy violation'}`;
      this.log.warn({ peer: peer.id, addr: peer.addr, reason: link.closeReason }, `peer ${peer.id} at ${peer.addr} refused our link: ${link.closeReason}`);
    }
    if (this.closed || this.outgoing.get(peer.id) !== peer) {
      peer.state = 'idle';
      this.announce(peer);
      return;
    }
    // Keep the link up: redial after a backoff that grows while dials fail.
    const delayMs = backoffDelayMs(peer.attempt++, this.reconnectBaseMs, this.reconnectMaxMs, this.random);
    peer.state = 'backoff';
    const fields = { peer: peer.id, addr: peer.addr, err: link.lastError, redialInMs: Math.round(delayMs) };
    if (wasOpen) this.log.warn(fields, 'peer link down');
    else this.log.debug(fields, 'peer dial failed');
    peer.redialTimer = setTimeout(() => {
      peer.redialTimer = null;
      if (!this.closed && this.outgoing.get(peer.id) === peer && peer.link === null) this.linkTo(peer);
    }, delayMs);
    peer.redialTimer.unref();
    this.announce(peer);
  }

  /** Close a peer's link now (rejecting its requests with `err`) without a redial. */
  private resetLink(peer: OutgoingPeer, err: UnreachableError): void {
    if (peer.redialTimer) clearTimeout(peer.redialTimer);
    peer.redialTimer = null;
    const link = peer.link;
    peer.link = null;
    peer.state = 'idle';
    peer.attempt = 0;
    link?.close(1000, 'peer removed', err);
    this.announce(peer);
  }

  /** Fire onPeerUp/onPeerDown when the peer's usable state (open and not cut) changed. */
  private announce(peer: OutgoingPeer): void {
    if (this.closed) return; // no events from a network that is shutting down
    const up = peer.state === 'open' && !this.isCut(peer.id) && this.outgoing.get(peer.id) === peer;
    if (up === peer.announcedUp) return;
    peer.announcedUp = up;
    for (const cb of up ? this.upListeners : this.downListeners) {
      try {
        cb(peer.id);
      } catch (err) {
        this.log.error({ peer: peer.id, err: (err as Error).message }, 'peer link listener threw');
      }
    }
  }

  // ---- incoming links ----

  private accept(ws: WebSocket, req: http.IncomingMessage): void {
    const ip = req.socket.remoteAddress ?? 'unknown';
    const remote = `${ip}:${req.socket.remotePort}`;
    if (this.closed) {
      ws.terminate();
      return;
    }
    const link: PeerLink = new PeerLink(ws, 'in', null, `unidentified peer from ${remote}`, {
      ...this.linkOptions,
      onFrame: (l, data, isBinary) => this.receive(l, data, isBinary),
      onClose: () => {
        this.incoming.delete(link);
        const hello = this.auth.helloAwaitingProof(link);
        if (hello !== null && link.closeCode !== null) {
          // The dialler hung up after our challenge: it found our proof wrong (a different secret).
          this.counters.authFailures++;
          this.log.warn({ peer: hello.id, remote, code: link.closeCode, reason: link.closeReason },
            `peer link from ${hello.id} at ${remote} closed during authentication (different cluster secrets?)`);
        }
        this.auth.endIncoming(link);
      },
    });
    this.incoming.add(link);
    this.auth.beginIncoming(link, ip, remote, channelBinding(req.socket));
  }

  /** An accepted link's peer is known (link-auth.ts): keep the link limit and tell the listeners. */
  private identify(link: PeerLink, hello: Hello): void {
    link.peer = hello.id;
    link.traffic = this.trafficOf(hello.id);
    link.label = `${hello.id} at ${hello.addr}`;
    const same = [...this.incoming].filter((l) => l.peer === hello.id && l !== link && !l.isClosed);
    for (let k = 0; k <= same.length - this.linksPerPeerMax; k++) {
      // Oldest first (a Set iterates in insertion order): most likely a link that died silently.
      this.counters.linksRefused++;
      this.log.warn({ peer: hello.id, links: same.length + 1 }, `closing the oldest link from ${hello.id}: at most ${this.linksPerPeerMax} per peer`);
      same[k].close(1008, 'too many links from this peer', new UnreachableError(`link from ${hello.id} replaced by a newer one`));
    }
    if (hello.region !== null) this.setRegion(hello.id, hello.region);
    this.log.info({ peer: hello.id, addr: hello.addr, region: hello.region }, 'peer link accepted');
    for (const cb of this.helloListeners) {
      try {
        cb(hello);
      } catch (err) {
        this.log.error({ peer: hello.id, err: (err as Error).message }, 'hello listener threw');
      }
    }
  }

  // ---- receiving ----

  private receive(link: PeerLink, data: Buffer, isBinary: boolean): void {
    let envelopes: Envelope[];
    try {
      if (!isBinary) throw new BadFrameError('text frame on a peer link');
      envelopes = decodeFrame(data);
    } catch (err) {
      this.counters.badFrames++;
      const why = err instanceof BadFrameError ? err.message : String(err);
      this.log.warn({ peer: link.label, err: why }, `closing peer link from ${link.label}: malformed frame`);
      link.close(1002, 'malformed frame', new UnreachableError(`link to ${link.label} closed: it sent a malformed frame`));
      return;
    }
    this.counters.messagesReceived += envelopes.length;
    let i = 0;
    if (link.direction === 'in' && link.peer === null) {
      i = this.auth.onIncomingFrame(link, envelopes);
      if (i < 0) return;
    } else if (link.direction === 'out' && this.auth.isWaitingOnChallenge(link)) {
      this.auth.answerChallenge(link, envelopes);
      return;
    }
    const from = link.peer as NodeId;
    for (; i < envelopes.length && !link.isClosed; i++) {
      const env = envelopes[i];
      switch (env[0]) {
        case KIND_REQUEST: {
          const id = env[1];
          callHandler(this.handler, from, env[2] as M, this.log, (a) => this.answer(link, id, a));
          break;
        }
        case KIND_ONE_WAY:
          callHandler(this.handler, from, env[2] as M, this.log);
          break;
        case KIND_REPLY:
          if (!link.settle(env[1], env[2])) this.log.debug({ peer: from, id: env[1] }, 'late reply ignored');
          break;
        case KIND_ERROR:
          if (!link.settle(env[1], null, new RemoteError(from, env[2]))) {
            this.log.debug({ peer: from, id: env[1] }, 'late error reply ignored');
          }
          break;
      }
    }
  }

  private answer(link: PeerLink, id: number, a: Answer<M>): void {
    if (link.isClosed) return; // the requester's promise already rejected on its side
    const to = link.peer as NodeId;
    const delayMs = this.delayTo(to);
    if (delayMs < 0) {
      this.counters.messagesDropped++;
      return;
    }
    let part: Buffer;
    try {
      part = a.ok ? this.pack([KIND_REPLY, id, a.msg]) : this.pack([KIND_ERROR, id, a.error]);
    } catch (err) {
      // Most likely a reply over frameBytesMax: the requester learns why.
      this.log.warn({ peer: to, err: (err as Error).message }, 'reply could not be sent');
      part = this.pack([KIND_ERROR, id, errorBodyOf(err)]);
    }
    this.transmit(link, part, delayMs, null);
  }

  // ---- helpers ----

  /** Pack an envelope, refusing one that could never fit in a frame. */
  private pack(env: Envelope): Buffer {
    const part = encodeEnvelope(env);
    const max = this.frameBytesMax - FRAME_HEADER_BYTES_MAX;
    if (part.length > max) throw new ValueTooLargeError(part.length, max);
    return part;
  }

  /**
   * Queue a packed envelope on a link, now or after an injected delay. One
   * that cannot be queued fails `request` if it is one, else counts as
   * dropped: no callback per message on the hot path.
   */
  private transmit(link: PeerLink, part: Buffer, delayMs: number, request: LinkRequest<M> | null): void {
    if (delayMs === 0) {
      if (!link.enqueue(part)) this.refused(link, request);
      return;
    }
    const t = setTimeout(() => {
      this.heldTimers.delete(t);
      if (!link.enqueue(part)) this.refused(link, request);
    }, delayMs);
    this.heldTimers.add(t);
  }

  private refused(link: PeerLink, request: LinkRequest<M> | null): void {
    if (request === null) {
      this.counters.messagesDropped++;
      return;
    }
    link.settle(request.id, null, new UnreachableError(`link to ${request.to} is congested: ${link.queuedBytes} bytes queued`));
  }

  /** -1 when the peer's region is cut, else the injected delay (0 for none). */
  private delayTo(to: NodeId): number {
    return this.faultSet.delayFor(this.regions.get(to));
  }

  private isCut(to: NodeId): boolean {
    return this.delayTo(to) < 0;
  }

  private setRegion(id: NodeId, region: string): void {
    if (this.regions.get(id) === region) return;
    this.regions.set(id, region);
    const peer = this.outgoing.get(id);
    if (peer) this.announce(peer);
  }

  private pingAll(): void {
    for (const peer of this.outgoing.values()) peer.link?.ping();
    for (const link of this.incoming) link.ping();
  }
}
