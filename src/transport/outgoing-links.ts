/**
 * The dialling side of the ws transport: one outgoing link per known peer,
 * dialled lazily on the first message and kept up afterwards, redialled with
 * exponential backoff and jitter (backoff.ts) when it drops. A peer is up
 * (onPeerUp) while its link is open, past its handshake (link-auth.ts), and
 * its region is not cut by an injected fault; every change of that is
 * announced once (deps.announced).
 *
 * While a peer is in backoff its link is null and requests to it fail at once
 * (the network checks `state`); the redial timer dials it again.
 */
import WebSocket from 'ws';
import { UnreachableError } from '../core/errors';
import type { NodeId } from '../core/ids';
import { backoffDelayMs } from './backoff';
import type { LinkAuth } from './link-auth';
import type { Logger } from './logger';
import { PeerLink, type PeerLinkOptions, type PeerTraffic } from './peer-link';
import { zeroMask } from './ws-mask';
import type { WsNetworkConfig } from './ws-network-options';

export type LinkState = 'idle' | 'connecting' | 'open' | 'backoff';

export interface OutgoingPeer {
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

export interface OutgoingLinksDeps {
  config: Pick<WsNetworkConfig, 'frameBytesMax' | 'connectTimeoutMs' | 'reconnectBaseMs' | 'reconnectMaxMs' | 'random' | 'tls'>;
  linkOptions: Omit<PeerLinkOptions, 'onOpen' | 'onFrame' | 'onClose'>;
  auth: LinkAuth;
  log: Logger;
  /** The WebSocket path dialled (attach() may change it). */
  path(): string;
  isClosed(): boolean;
  isCut(peer: NodeId): boolean;
  trafficOf(peer: NodeId): PeerTraffic;
  onFrame(link: PeerLink, data: Buffer, isBinary: boolean): void;
  /** The peer's usable state changed: fire onPeerUp or onPeerDown. */
  announced(peer: NodeId, up: boolean): void;
}

export class OutgoingLinks {
  readonly peers = new Map<NodeId, OutgoingPeer>();

  constructor(private readonly d: OutgoingLinksDeps) {}

  /** Know a peer at `addr`; a known peer that moved has its old link closed. */
  add(id: NodeId, addr: string): void {
    const known = this.peers.get(id);
    if (known === undefined) {
      this.peers.set(id, {
        id, addr, link: null, state: 'idle', attempt: 0, redialTimer: null, announcedUp: false, lastError: null,
      });
      return;
    }
    if (known.addr === addr) return;
    // The peer moved: drop the link to the old address; the next message dials the new one.
    this.d.log.info({ peer: id, from: known.addr, to: addr }, 'peer address changed');
    known.addr = addr;
    this.reset(known, new UnreachableError(`peer ${id} moved to ${addr}`));
  }

  /** Forget a peer: its link closes and its pending requests reject. */
  remove(id: NodeId): void {
    const peer = this.peers.get(id);
    if (peer === undefined) return;
    this.peers.delete(id);
    this.reset(peer, new UnreachableError(`peer ${id} was removed`));
  }

  /** The peer's link, dialled now if it has none. */
  linkTo(peer: OutgoingPeer): PeerLink {
    if (peer.link !== null) return peer.link;
    if (peer.redialTimer) {
      clearTimeout(peer.redialTimer);
      peer.redialTimer = null;
    }
    const { tls, frameBytesMax, connectTimeoutMs } = this.d.config;
    const scheme = tls === null ? 'ws' : 'wss';
    const url = /^wss?:\/\//.test(peer.addr) ? peer.addr : `${scheme}://${peer.addr}${this.d.path()}`;
    const ws = new WebSocket(url, {
      perMessageDeflate: false,
      generateMask: zeroMask,
      maxPayload: frameBytesMax,
      handshakeTimeout: connectTimeoutMs,
      ...(tls === null ? {} : { rejectUnauthorized: true, ...(tls.ca === undefined ? {} : { ca: tls.ca }) }),
    });
    const link: PeerLink = new PeerLink(ws, 'out', peer.id, `${peer.id} at ${peer.addr}`, {
      ...this.d.linkOptions,
      held: this.d.auth.secured,
      onOpen: () => this.d.auth.sendHello(link),
      onFrame: (l, data, isBinary) => this.d.onFrame(l, data, isBinary),
      onClose: () => {
        this.d.auth.endOutgoing(link);
        this.closed(peer, link);
      },
    });
    link.traffic = this.d.trafficOf(peer.id);
    this.d.auth.beginOutgoing(link, ws);
    peer.link = link;
    peer.state = 'connecting';
    return link;
  }

  /** A dialled link finished its handshake (link-auth.ts): the peer is up. */
  opened(link: PeerLink): void {
    const peer = link.peer === null ? undefined : this.peers.get(link.peer);
    if (peer === undefined || peer.link !== link) return;
    peer.state = 'open';
    peer.attempt = 0;
    peer.lastError = null;
    this.d.log.info({ peer: peer.id, addr: peer.addr }, 'peer link up');
    this.announce(peer);
  }

  /** Announce every peer whose usable state changed (after the faults changed). */
  announceAll(): void {
    for (const peer of this.peers.values()) this.announce(peer);
  }

  /** Fire onPeerUp/onPeerDown when the peer's usable state (open and not cut) changed. */
  announce(peer: OutgoingPeer): void {
    if (this.d.isClosed()) return; // no events from a network that is shutting down
    const up = peer.state === 'open' && !this.d.isCut(peer.id) && this.peers.get(peer.id) === peer;
    if (up === peer.announcedUp) return;
    peer.announcedUp = up;
    this.d.announced(peer.id, up);
  }

  /** Stop redialling (the network is closing); returns the links to close. */
  stop(): PeerLink[] {
    const links: PeerLink[] = [];
    for (const peer of this.peers.values()) {
      if (peer.redialTimer) clearTimeout(peer.redialTimer);
      if (peer.link) links.push(peer.link);
    }
    return links;
  }

  private closed(peer: OutgoingPeer, link: PeerLink): void {
    if (peer.link !== link) return;
    peer.link = null;
    const wasOpen = peer.state === 'open';
    peer.lastError = link.lastError;
    if (link.closeCode === 1008) {
      // The peer refused us (most likely a wrong or missing cluster secret): say so loudly.
      peer.lastError = `refused by the peer: ${link.closeReason || 'policy violation'}`;
      this.d.log.warn({ peer: peer.id, addr: peer.addr, reason: link.closeReason }, `peer ${peer.id} at ${peer.addr} refused our link: ${link.closeReason}`);
    }
    if (this.d.isClosed() || this.peers.get(peer.id) !== peer) {
      peer.state = 'idle';
      this.announce(peer);
      return;
    }
    // Keep the link up: redial after a backoff that grows while dials fail.
    const { reconnectBaseMs, reconnectMaxMs, random } = this.d.config;
    const delayMs = backoffDelayMs(peer.attempt++, reconnectBaseMs, reconnectMaxMs, random);
    peer.state = 'backoff';
    const fields = { peer: peer.id, addr: peer.addr, err: link.lastError, redialInMs: Math.round(delayMs) };
    if (wasOpen) this.d.log.warn(fields, 'peer link down');
    else this.d.log.debug(fields, 'peer dial failed');
    peer.redialTimer = setTimeout(() => {
      peer.redialTimer = null;
      if (!this.d.isClosed() && this.peers.get(peer.id) === peer && peer.link === null) this.linkTo(peer);
    }, delayMs);
    peer.redialTimer.unref();
    this.announce(peer);
  }

  /** Close a peer's link now (rejecting its requests with `err`) without a redial. */
  private reset(peer: OutgoingPeer, err: UnreachableError): void {
    if (peer.redialTimer) clearTimeout(peer.redialTimer);
    peer.redialTimer = null;
    const link = peer.link;
    peer.link = null;
    peer.state = 'idle';
    peer.attempt = 0;
    link?.close(1000, 'peer removed', err);
    this.announce(peer);
  }
}
