/**
 * The counters of the ws transport, as WsNetwork.stats() reports them (the
 * node's /admin/status and metrics read these): totals since start, and one
 * entry per known peer.
 */
import type { OutgoingPeer, LinkState } from './outgoing-links';
import type { LinkCounters, PeerTraffic } from './peer-link';

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

/** Counters at zero, for a new network. */
export function newWsNetworkStats(): WsNetworkStats {
  return {
    framesSent: 0, messagesSent: 0, bytesSent: 0, framesReceived: 0, bytesReceived: 0,
    messagesReceived: 0, messagesDropped: 0, badFrames: 0, authFailures: 0, linksRefused: 0, incomingLinks: 0, peers: {},
  };
}

/** One peer's entry. */
export function peerLinkStats(p: OutgoingPeer, region: string | null, incomingLinks: number, traffic: PeerTraffic): PeerLinkStats {
  return {
    addr: p.addr,
    region,
    state: p.state,
    up: p.announcedUp,
    pendingRequests: p.link?.pending.size ?? 0,
    queuedBytes: p.link?.queuedBytes ?? 0,
    bufferedBytes: p.link?.bufferedBytes ?? 0,
    incomingLinks,
    bytesSent: traffic.bytesSent,
    bytesReceived: traffic.bytesReceived,
  };
}
