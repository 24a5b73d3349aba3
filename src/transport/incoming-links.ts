/**
 * The accepting side of the ws transport: taking upgrades on the peer path
 * and keeping the links that peers dialled to this node, with their limits.
 *
 * Connection limits: at most handshakesPerAddressMax links from one IP may
 * be in their handshake at once (more get HTTP 429 at the upgrade, before ws
 * does any work for them), and an identified peer keeps at most
 * linksPerPeerMax incoming links (a newer one closes the oldest, which is what
 * a reconnect after a silent drop needs).
 *
 * What an accepted link must send first is link-auth.ts's business; what its
 * frames mean is the network's (deps.onFrame).
 */
import type * as http from 'node:http';
import type { Duplex } from 'node:stream';
import type WebSocket from 'ws';
import { WebSocketServer } from 'ws';
import { UnreachableError } from '../core/errors';
import type { NodeId } from '../core/ids';
import type { LinkAuth } from './link-auth';
import type { Logger } from './logger';
import { channelBinding } from './peer-auth';
import { PeerLink, type PeerLinkOptions } from './peer-link';

export interface IncomingLinksDeps {
  frameBytesMax: number;
  linksPerPeerMax: number;
  handshakesPerAddressMax: number;
  linkOptions: Omit<PeerLinkOptions, 'onOpen' | 'onFrame' | 'onClose'>;
  auth: LinkAuth;
  log: Logger;
  /** The network's counters this side adds to. */
  counters: { authFailures: number; linksRefused: number };
  /** The WebSocket path served (attach() may change it). */
  path(): string;
  isClosed(): boolean;
  onFrame(link: PeerLink, data: Buffer, isBinary: boolean): void;
}

export class IncomingLinks {
  /** Accepted links, oldest first (a Set iterates in insertion order), identified or not. */
  readonly links = new Set<PeerLink>();
  private readonly wss: WebSocketServer;

  constructor(private readonly d: IncomingLinksDeps) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: d.frameBytesMax, perMessageDeflate: false });
  }

  /**
   * Take an HTTP upgrade if it is for the peer path (true), or leave it
   * untouched for the caller to route (false).
   */
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    if ((q < 0 ? url : url.slice(0, q)) !== this.d.path()) return false;
    if (this.d.isClosed()) {
      socket.destroy();
      return true;
    }
    const ip = req.socket.remoteAddress ?? 'unknown';
    const inHandshake = this.d.auth.inProgressFrom(ip);
    if (inHandshake >= this.d.handshakesPerAddressMax) {
      this.d.counters.linksRefused++;
      this.d.log.warn({ remote: ip, handshakes: inHandshake }, `refusing peer link from ${ip}: ${inHandshake} handshakes from it already in progress`);
      socket.end('HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return true;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req));
    return true;
  }

  /**
   * The link's peer was identified as `peer`: close its oldest other links
   * beyond linksPerPeerMax.
   */
  admit(link: PeerLink, peer: NodeId): void {
    const same = [...this.links].filter((l) => l.peer === peer && l !== link && !l.isClosed);
    for (let k = 0; k <= same.length - this.d.linksPerPeerMax; k++) {
      // Oldest first: most likely a link that died silently.
      this.d.counters.linksRefused++;
      this.d.log.warn({ peer, links: same.length + 1 }, `closing the oldest link from ${peer}: at most ${this.d.linksPerPeerMax} per peer`);
      same[k].close(1008, 'too many links from this peer', new UnreachableError(`link from ${peer} replaced by a newer one`));
    }
  }

  /** Identified incoming links per peer. */
  countsByPeer(): Map<NodeId, number> {
    const counts = new Map<NodeId, number>();
    for (const link of this.links) {
      if (link.peer !== null) counts.set(link.peer, (counts.get(link.peer) ?? 0) + 1);
    }
    return counts;
  }

  /** Stop the ws server (the links are closed by the network). */
  close(): Promise<void> {
    return new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private accept(ws: WebSocket, req: http.IncomingMessage): void {
    const ip = req.socket.remoteAddress ?? 'unknown';
    const remote = `${ip}:${req.socket.remotePort}`;
    if (this.d.isClosed()) {
      ws.terminate();
      return;
    }
    const link: PeerLink = new PeerLink(ws, 'in', null, `unidentified peer from ${remote}`, {
      ...this.d.linkOptions,
      onFrame: (l, data, isBinary) => this.d.onFrame(l, data, isBinary),
      onClose: () => {
        this.links.delete(link);
        const hello = this.d.auth.helloAwaitingProof(link);
        if (hello !== null && link.closeCode !== null) {
          // The dialler hung up after our challenge: it found our proof wrong (a different secret).
          this.d.counters.authFailures++;
          this.d.log.warn({ peer: hello.id, remote, code: link.closeCode, reason: link.closeReason },
            `peer link from ${hello.id} at ${remote} closed during authentication (different cluster secrets?)`);
        }
        this.d.auth.endIncoming(link);
      },
    });
    this.links.add(link);
    this.d.auth.beginIncoming(link, ip, remote, channelBinding(req.socket));
  }
}
