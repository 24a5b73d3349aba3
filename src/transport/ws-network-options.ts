/**
 * The options of the ws transport (ws-network.ts) and their defaults, in one
 * place (STYLE.md 8: bound everything, defaults documented beside the bound).
 */
import { assert } from '../core/assert';
import type { NodeId } from '../core/ids';
import type { Random } from '../core/prng';
import { prngFor } from './backoff';
import { FRAME_HEADER_BYTES_MAX } from './frame-codec';
import { silentLogger, type Logger } from './logger';
import { checkClusterSecret } from './peer-auth';
import type { LinkCounters, PeerLinkOptions } from './peer-link';

/** Unwritten socket bytes above which a link stops handing frames to ws (peer-link.ts). */
const HIGH_WATER_BYTES = 1024 * 1024;

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

/** The options with every default filled in and every bound checked. */
export interface WsNetworkConfig {
  self: NodeId;
  selfAddr: string;
  region: string | null;
  logger: Logger;
  frameBytesMax: number;
  reconnectBaseMs: number;
  reconnectMaxMs: number;
  batchBytesMax: number;
  batchMessagesMax: number;
  queueBytesMax: number;
  path: string;
  connectTimeoutMs: number;
  helloTimeoutMs: number;
  pingIntervalMs: number;
  random: Random;
  /** Checked by checkClusterSecret; null: hellos are trusted. */
  secret: Uint8Array | null;
  tls: { ca?: string | Buffer } | null;
  linksPerPeerMax: number;
  handshakesPerAddressMax: number;
}

export function wsNetworkConfig(opts: WsNetworkOptions): WsNetworkConfig {
  assert(opts.frameBytesMax > FRAME_HEADER_BYTES_MAX + 64, 'frameBytesMax is too small for any message');
  const c: WsNetworkConfig = {
    self: opts.self,
    selfAddr: opts.selfAddr,
    region: opts.region ?? null,
    logger: opts.logger ?? silentLogger,
    frameBytesMax: opts.frameBytesMax,
    reconnectBaseMs: opts.reconnectBaseMs ?? 100,
    reconnectMaxMs: opts.reconnectMaxMs ?? 5000,
    batchBytesMax: opts.batchBytesMax ?? 256 * 1024,
    batchMessagesMax: opts.batchMessagesMax ?? 64,
    queueBytesMax: opts.queueBytesMax ?? Math.max(64 * 1024 * 1024, opts.frameBytesMax),
    path: opts.path ?? '/peer',
    connectTimeoutMs: opts.connectTimeoutMs ?? 5000,
    helloTimeoutMs: opts.helloTimeoutMs ?? 5000,
    pingIntervalMs: opts.pingIntervalMs ?? 5000,
    random: opts.random ?? prngFor(opts.self),
    secret: opts.secret === undefined ? null : checkClusterSecret(opts.secret),
    tls: opts.tls ?? null,
    linksPerPeerMax: opts.linksPerPeerMax ?? 4,
    handshakesPerAddressMax: opts.handshakesPerAddressMax ?? 16,
  };
  assert(c.linksPerPeerMax >= 1 && c.handshakesPerAddressMax >= 1, 'link limits must be at least 1');
  return c;
}

/** What every peer link of the network is created with, but its callbacks. */
export function linkOptionsOf(c: WsNetworkConfig, counters: LinkCounters): Omit<PeerLinkOptions, 'onOpen' | 'onFrame' | 'onClose'> {
  return {
    batchBytesMax: c.batchBytesMax,
    batchMessagesMax: c.batchMessagesMax,
    frameBytesMax: c.frameBytesMax,
    queueBytesMax: c.queueBytesMax,
    highWaterBytes: HIGH_WATER_BYTES,
    counters,
  };
}
