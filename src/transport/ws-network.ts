/**
 * The production Network (DESIGN.md layer 7): peer links over WebSocket (ws)
 * with msgpack frames (frame-codec.ts). This file is the composition: it
 * dials and keeps the links and routes requests, replies and one-way messages
 * over them. Accepting links (and their limits) is incoming-links.ts,
 * dialling outgoing-links.ts, the opening of each link (hello,
 * authentication) link-auth.ts, injected faults region-faults.ts, messages
 * to itself self-delivery.ts, request timeouts request-deadlines.ts, one
 * socket's queue and batching peer-link.ts, and the options
 * ws-network-options.ts.
 *
 * Each node dials one outgoing link per peer (outgoing-links.ts). Its
 * requests and one-way messages go out on that link and the peer answers on
 * the same socket; requests from the peer arrive on the
 * peer's own outgoing link (an incoming link here) and are answered there. An
 * incoming link has no identity until its hello (peer-hello.ts); that id is
 * the `from` of everything it carries. With a cluster `secret` every link
 * authenticates before it carries anything (link-auth.ts, docs/security.md);
 * with `tls`, links are dialled as wss.
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
 * Faults (region-faults.ts) apply to every message this node sends, requests,
 * replies and one-way; the region of a peer comes from addPeer() or its hello.
 */
import type * as http from 'node:http';
import type { Duplex } from 'node:stream';
import { assert } from '../core/assert';
import { BadFrameError, ClosedError, UnreachableError, ValueTooLargeError } from '../core/errors';
import type { NodeId } from '../core/ids';
import type { PeerHandler, PeerMessage } from '../core/network-port';
import {
  decodeFrame, encodeEnvelope, FRAME_HEADER_BYTES_MAX, KIND_ERROR, KIND_ONE_WAY, KIND_REPLY, KIND_REQUEST, type Envelope,
} from './frame-codec';
import { callHandler, type Answer } from './handler-call';
import { IncomingLinks } from './incoming-links';
import { LinkAuth } from './link-auth';
import { LinkRequest } from './link-request';
import { Listeners } from './listeners';
import type { Logger } from './logger';
import { OutgoingLinks } from './outgoing-links';
import type { Hello } from './peer-hello';
import type { PeerLink, PeerLinkOptions, PeerTraffic } from './peer-link';
import type { PeerNetwork } from './peer-network';
import { RegionFaults, type Faults } from './region-faults';
import { errorBodyOf, RemoteError } from './remote-error';
import { RequestDeadlines } from './request-deadlines';
import { SelfDelivery } from './self-delivery';
import { linkOptionsOf, wsNetworkConfig, type WsNetworkConfig, type WsNetworkOptions } from './ws-network-options';
import { newWsNetworkStats, peerLinkStats, type PeerLinkStats, type WsNetworkStats } from './ws-network-stats';

export type { Faults } from './region-faults';
export type { Hello } from './peer-hello';
export type { WsNetworkOptions } from './ws-network-options';
export type { LinkState } from './outgoing-links';
export type { PeerLinkStats, WsNetworkStats } from './ws-network-stats';

export class WsNetwork<M extends PeerMessage> implements PeerNetwork<M> {
  readonly self: NodeId;
  readonly selfAddr: string;
  readonly region: string | null;

  private readonly o: WsNetworkConfig;
  private readonly log: Logger;
  private path: string;
  private readonly linkOptions: Omit<PeerLinkOptions, 'onOpen' | 'onFrame' | 'onClose'>;
  private readonly counters: WsNetworkStats;
  /** Bytes to and from each peer, kept across its links' reconnects. */
  private readonly traffic = new Map<NodeId, PeerTraffic>();

  private handler: PeerHandler<M> | null = null;
  private readonly upListeners: Listeners<NodeId>;
  private readonly downListeners: Listeners<NodeId>;
  private readonly helloListeners: Listeners<Hello>;

  private readonly outgoing: OutgoingLinks;
  private readonly incoming: IncomingLinks;
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

  constructor(opts: WsNetworkOptions) {
    const o = wsNetworkConfig(opts);
    this.o = o;
    this.self = o.self;
    this.selfAddr = o.selfAddr;
    this.region = o.region;
    this.log = o.logger;
    this.upListeners = new Listeners(this.log, 'peer link');
    this.downListeners = new Listeners(this.log, 'peer link');
    this.helloListeners = new Listeners(this.log, 'hello');
    this.path = o.path;
    this.counters = newWsNetworkStats();
    this.linkOptions = linkOptionsOf(o, this.counters);
    this.auth = new LinkAuth({
      ...o,
      log: this.log,
      opened: (link) => this.outgoing.opened(link),
      identified: (link, hello) => this.identify(link, hello),
      onRefused: () => { this.counters.authFailures++; },
    });
    this.outgoing = new OutgoingLinks({
      config: o,
      linkOptions: this.linkOptions,
      auth: this.auth,
      log: this.log,
      path: () => this.path,
      isClosed: () => this.closed,
      isCut: (peer) => this.isCut(peer),
      trafficOf: (peer) => this.trafficOf(peer),
      onFrame: (link, data, isBinary) => this.receive(link, data, isBinary),
      announced: (peer, up) => (up ? this.upListeners : this.downListeners).emit(peer, peer),
    });
    this.incoming = new IncomingLinks({
      ...o,
      linkOptions: this.linkOptions,
      auth: this.auth,
      log: this.log,
      counters: this.counters,
      path: () => this.path,
      isClosed: () => this.closed,
      onFrame: (link, data, isBinary) => this.receive(link, data, isBinary),
    });
    this.selfDelivery = new SelfDelivery<M>({
      self: o.self,
      log: this.log,
      deadlines: this.deadlines,
      pack: (env) => this.pack(env),
      nextId: () => this.nextId++,
      handler: () => this.handler,
      isClosed: () => this.closed,
    });
    this.pingTimer = o.pingIntervalMs > 0 ? setInterval(() => this.pingAll(), o.pingIntervalMs) : null;
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
    return this.incoming.handleUpgrade(req, socket, head);
  }

  // ---- peers ----

  /** Know a peer by id and address (and region, for faults). Dialled on first use. */
  addPeer(id: NodeId, addr: string, region?: string): void {
    if (this.closed) return;
    if (region !== undefined) this.setRegion(id, region);
    this.outgoing.add(id, addr);
  }

  /** Forget a peer: its outgoing link closes and its pending requests reject. */
  removePeer(id: NodeId): void {
    this.outgoing.remove(id);
  }

  peers(): NodeId[] {
    return [...this.outgoing.peers.keys()];
  }

  /** Whether the outgoing link to `to` is open and not cut by a fault. */
  isReachable(to: NodeId): boolean {
    if (to === this.self) return !this.closed;
    const peer = this.outgoing.peers.get(to);
    return peer !== undefined && peer.state === 'open' && !this.isCut(to);
  }

  onPeerUp(cb: (id: NodeId) => void): void {
    this.upListeners.add(cb);
  }

  onPeerDown(cb: (id: NodeId) => void): void {
    this.downListeners.add(cb);
  }

  /** Called with each accepted hello: how a node learns of a peer that dialled it. */
  onHello(cb: (hello: Hello) => void): void {
    this.helloListeners.add(cb);
  }

  setHandler(handler: PeerHandler<M>): void {
    this.handler = handler;
  }

  // ---- messages ----

  request(to: NodeId, msg: M, timeoutMs: number): Promise<M> {
    assert(Number.isFinite(timeoutMs) && timeoutMs > 0, `request timeout must be positive, got ${timeoutMs}`);
    if (this.closed) return Promise.reject(new ClosedError('peer network'));
    if (to === this.self) return this.selfDelivery.request(msg, timeoutMs);
    const peer = this.outgoing.peers.get(to);
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
    const link = this.outgoing.linkTo(peer);
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
    const peer = this.outgoing.peers.get(to);
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
    this.transmit(this.outgoing.linkTo(peer), part, delayMs, null);
  }

  // ---- faults ----

  /** Replace the injected faults (DESIGN.md POST /admin/faults). */
  setFaults(faults: Faults): void {
    this.faultSet.set(faults);
    this.log.info(this.faultSet.describe(), 'injected faults set');
    this.outgoing.announceAll();
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
    const links: PeerLink[] = [...this.incoming.links, ...this.outgoing.stop()];
    for (const link of links) link.close(1001, 'node shutting down', err);
    this.deadlines.stop(); // every request was rejected just now
    await Promise.all(links.map((l) => l.whenClosed()));
    await this.incoming.close();
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
    const incomingBy = this.incoming.countsByPeer();
    for (const p of this.outgoing.peers.values()) {
      peers[p.id] = peerLinkStats(p, this.regions.get(p.id) ?? null, incomingBy.get(p.id) ?? 0, this.trafficOf(p.id));
    }
    return { ...this.counters, incomingLinks: this.incoming.links.size, peers };
  }

  // ---- links ----

  /** An accepted link's peer is known (link-auth.ts): keep the link limit and tell the listeners. */
  private identify(link: PeerLink, hello: Hello): void {
    link.peer = hello.id;
    link.traffic = this.trafficOf(hello.id);
    link.label = `${hello.id} at ${hello.addr}`;
    this.incoming.admit(link, hello.id);
    if (hello.region !== null) this.setRegion(hello.id, hello.region);
    this.log.info({ peer: hello.id, addr: hello.addr, region: hello.region }, 'peer link accepted');
    this.helloListeners.emit(hello, hello.id);
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
    const max = this.o.frameBytesMax - FRAME_HEADER_BYTES_MAX;
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
    const peer = this.outgoing.peers.get(id);
    if (peer) this.outgoing.announce(peer);
  }

  private pingAll(): void {
    for (const peer of this.outgoing.peers.values()) peer.link?.ping();
    for (const link of this.incoming.links) link.ping();
  }
}
