/**
 * The opening of every peer link, in both directions: the hello
 * (peer-hello.ts) and, with a cluster secret, the mutual HMAC
 * challenge-response of peer-auth.ts (docs/security.md).
 *
 * Dialler                                  Acceptor
 *   hello { id, addr, region, nonce }  ->
 *                                      <-  auth-challenge { nonce, proof(server) }
 *   checks the acceptor's proof
 *   auth-proof { proof(client) }       ->
 *   releases its queue, link up            checks the proof, identifies the peer
 *
 * The acceptor dispatches nothing from a link (and tells onHello listeners
 * nothing, so the peer cannot join) until the dialler proved it knows the
 * secret; the dialler holds its queue (peer-link.ts) until the acceptor proved
 * it first. A peer that fails, stalls, or sends anything out of turn is
 * refused: logged at warn, counted (deps.onRefused), its socket closed with
 * 1008. Without a secret the hello is trusted, as on a private network. With
 * TLS the proofs are bound to the TLS session (channelBinding), so a proof
 * replayed through a TLS-terminating middlebox does not match.
 *
 * This class keeps the handshakes in progress and decides; the network owns
 * the links and is told the outcome: opened() for a dialled link that may
 * carry messages, identified() for an accepted one.
 */
import type * as http from 'node:http';
import type * as net from 'node:net';
import type WebSocket from 'ws';
import { UnreachableError } from '../core/errors';
import type { NodeId } from '../core/ids';
import { encodeEnvelope, KIND_ONE_WAY, type Envelope } from './frame-codec';
import type { Logger } from './logger';
import {
  asAuthChallenge, asAuthProof, authProof, channelBinding, newNonce, proofMatches,
  type AuthChallenge, type AuthProof,
} from './peer-auth';
import { helloOf, type Hello } from './peer-hello';
import type { PeerLink } from './peer-link';

export interface LinkAuthDeps {
  self: NodeId;
  selfAddr: string;
  region: string | null;
  /** The checked cluster secret, or null to trust hellos. */
  secret: Uint8Array | null;
  /** How long a handshake may take, in either direction, before the link is closed. */
  helloTimeoutMs: number;
  log: Logger;
  /** A dialled link finished its handshake: it may carry messages now. */
  opened(link: PeerLink): void;
  /** An accepted link's peer is known (and, with a secret, proved it). */
  identified(link: PeerLink, hello: Hello): void;
  /** A link was refused for its handshake. */
  onRefused(): void;
}

/** An accepted link whose peer has not been identified yet. */
interface IncomingHandshake {
  ip: string;
  remote: string;
  binding: Buffer;
  /** The hello, once it arrived (with a secret: waiting for the proof). */
  hello: Hello | null;
  serverNonce: Buffer | null;
  /** Closes the link if no hello (or no proof) arrives in time. */
  timer: NodeJS.Timeout;
}

/** A dialled link waiting for the acceptor's proof. */
interface OutgoingHandshake {
  clientNonce: Buffer;
  binding: Buffer;
  timer: NodeJS.Timeout | null;
}

export class LinkAuth {
  /** Whether links authenticate (a cluster secret is set); dialled links are then created held. */
  readonly secured: boolean;
  /** The plain hello, packed once: without a secret it is the same on every link. */
  private readonly helloPart: Buffer;
  private readonly inHandshakes = new Map<PeerLink, IncomingHandshake>();
  private readonly outHandshakes = new Map<PeerLink, OutgoingHandshake>();
  private readonly handshakesByIp = new Map<string, number>();

  constructor(private readonly d: LinkAuthDeps) {
    this.secured = d.secret !== null;
    const hello: Hello = { type: 'hello', id: d.self, addr: d.selfAddr, region: d.region };
    this.helloPart = encodeEnvelope([KIND_ONE_WAY, 0, hello]);
  }

  // ---- dialled links ----

  /** A link was just dialled on `ws`: start its handshake. */
  beginOutgoing(link: PeerLink, ws: WebSocket): void {
    if (!this.secured) {
      link.enqueue(this.helloPart); // always the first envelope on the socket
      return;
    }
    const hs: OutgoingHandshake = { clientNonce: newNonce(), binding: Buffer.alloc(0), timer: null };
    this.outHandshakes.set(link, hs);
    // ws emits 'upgrade' before 'open': the binding is known when the hello goes out.
    ws.once('upgrade', (res: http.IncomingMessage) => { hs.binding = channelBinding(res.socket as net.Socket); });
  }

  /**
   * The dialled socket is open. Without a secret the link is up (its queue,
   * led by the hello, goes out); with one, send the hello with our nonce and
   * wait for the acceptor's proof.
   */
  sendHello(link: PeerLink): void {
    if (!this.secured) {
      this.d.opened(link);
      return;
    }
    const hs = this.outHandshakes.get(link);
    if (hs === undefined) return;
    const hello: Hello = { type: 'hello', id: this.d.self, addr: this.d.selfAddr, region: this.d.region, nonce: hs.clientNonce };
    link.sendNow(encodeEnvelope([KIND_ONE_WAY, 0, hello]));
    hs.timer = setTimeout(() => {
      this.refuse(link, link.label, `it did not authenticate within ${this.d.helloTimeoutMs} ms (does it have the cluster secret?)`);
    }, this.d.helloTimeoutMs);
    hs.timer.unref();
  }

  /** Whether a frame on this dialled link must be the acceptor's challenge (given to answerChallenge). */
  isWaitingOnChallenge(link: PeerLink): boolean {
    return this.outHandshakes.has(link);
  }

  /**
   * The acceptor's challenge arrived on a dialled link: check its proof, send
   * ours, and only then let the queue go and call the link up.
   */
  answerChallenge(link: PeerLink, envelopes: Envelope[]): void {
    const hs = this.outHandshakes.get(link);
    if (hs === undefined) return;
    const secret = this.d.secret as Uint8Array;
    const first = envelopes[0];
    const challenge: AuthChallenge | null = first[0] === KIND_ONE_WAY ? asAuthChallenge(first[2]) : null;
    if (challenge === null || envelopes.length > 1) {
      this.refuse(link, link.label, 'it answered the hello with something other than an authentication challenge');
      return;
    }
    const expected = authProof(secret, 'server', hs.clientNonce, challenge.nonce, this.d.self, hs.binding);
    if (!proofMatches(expected, challenge.proof)) {
      const tlsHere = hs.binding.length > 0;
      this.refuse(link, link.label, challenge.tls !== tlsHere
        ? `its proof does not match: TLS is terminated between the nodes (${tlsHere ? 'TLS here, plain there' : 'plain here, TLS there'})`
        : 'its proof does not match: it does not know the cluster secret');
      return;
    }
    const proof: AuthProof = {
      type: 'auth-proof', proof: authProof(secret, 'client', hs.clientNonce, challenge.nonce, this.d.self, hs.binding),
    };
    link.sendNow(encodeEnvelope([KIND_ONE_WAY, 0, proof]));
    this.endOutgoing(link);
    link.release();
    this.d.opened(link);
  }

  /** Forget a dialled link's handshake (done, or the link closed). */
  endOutgoing(link: PeerLink): void {
    const hs = this.outHandshakes.get(link);
    if (hs === undefined) return;
    if (hs.timer) clearTimeout(hs.timer);
    this.outHandshakes.delete(link);
  }

  // ---- accepted links ----

  /** Accepted links from `ip` still in their handshake (handshakesPerAddressMax counts these). */
  inProgressFrom(ip: string): number {
    return this.handshakesByIp.get(ip) ?? 0;
  }

  /** A link from `ip` (`remote` is ip:port) was accepted: wait for its hello. */
  beginIncoming(link: PeerLink, ip: string, remote: string, binding: Buffer): void {
    const timer = setTimeout(() => {
      if (link.peer !== null || link.isClosed) return;
      this.d.log.warn({ remote }, `closing peer link from ${remote}: no hello within ${this.d.helloTimeoutMs} ms`);
      link.close(1008, 'expected hello', new UnreachableError(`no hello from ${remote}`));
    }, this.d.helloTimeoutMs);
    timer.unref();
    this.inHandshakes.set(link, { ip, remote, binding, hello: null, serverNonce: null, timer });
    this.handshakesByIp.set(ip, this.inProgressFrom(ip) + 1);
  }

  /** The hello of an accepted link whose dialler has been challenged and not yet proved itself, else null. */
  helloAwaitingProof(link: PeerLink): Hello | null {
    return this.inHandshakes.get(link)?.hello ?? null;
  }

  /** Forget an accepted link's handshake (its peer is identified, or the link closed). */
  endIncoming(link: PeerLink): void {
    const hs = this.inHandshakes.get(link);
    if (hs === undefined) return;
    clearTimeout(hs.timer);
    this.inHandshakes.delete(link);
    const n = (this.handshakesByIp.get(hs.ip) ?? 1) - 1;
    if (n <= 0) this.handshakesByIp.delete(hs.ip);
    else this.handshakesByIp.set(hs.ip, n);
  }

  /**
   * A frame on an accepted link whose peer is not identified yet: the hello,
   * and with a secret the challenge-response. Returns the index of the first
   * envelope to dispatch, or -1 when nothing more may be read from this frame
   * (waiting for the proof, or the link was refused).
   */
  onIncomingFrame(link: PeerLink, envelopes: Envelope[]): number {
    const hs = this.inHandshakes.get(link);
    if (hs === undefined) return -1; // closed meanwhile
    if (hs.hello === null) {
      const hello = helloOf(envelopes[0]);
      if (hello === null) {
        this.d.log.warn({ peer: link.label }, `closing peer link from ${link.label}: first message was not a hello`);
        link.close(1008, 'expected hello', new UnreachableError(`no hello from ${link.label}`));
        return -1;
      }
      if (this.d.secret === null) {
        if (hello.nonce !== undefined) {
          this.d.log.warn({ peer: hello.id, remote: hs.remote }, `peer ${hello.id} offers authentication but this node has no cluster secret; trusting its hello`);
        }
        this.identify(link, hello);
        return 1;
      }
      if (hello.nonce === undefined) {
        this.refuse(link, hs.remote, `${hello.id} sent no authentication nonce (is the cluster secret set on it?)`);
        return -1;
      }
      if (envelopes.length > 1) {
        this.refuse(link, hs.remote, `${hello.id} sent messages before authenticating`);
        return -1;
      }
      hs.hello = hello;
      hs.serverNonce = newNonce();
      const challenge: AuthChallenge = {
        type: 'auth-challenge',
        nonce: hs.serverNonce,
        proof: authProof(this.d.secret, 'server', hello.nonce, hs.serverNonce, hello.id, hs.binding),
        tls: hs.binding.length > 0,
      };
      link.sendNow(encodeEnvelope([KIND_ONE_WAY, 0, challenge]));
      return -1;
    }
    const first = envelopes[0];
    const proof = first[0] === KIND_ONE_WAY ? asAuthProof(first[2]) : null;
    const hello = hs.hello;
    if (proof === null) {
      this.refuse(link, hs.remote, `${hello.id} sent a message before completing authentication`);
      return -1;
    }
    const expected = authProof(this.d.secret as Uint8Array, 'client', hello.nonce as Uint8Array, hs.serverNonce as Buffer, hello.id, hs.binding);
    if (!proofMatches(expected, proof.proof)) {
      this.refuse(link, hs.remote, `${hello.id}'s proof does not match: it does not know the cluster secret`);
      return -1;
    }
    this.identify(link, hello);
    return 1;
  }

  // ---- either direction ----

  /** Refuse a link in either direction for a failed, stalled or out-of-turn handshake. */
  refuse(link: PeerLink, remote: string, why: string): void {
    if (link.isClosed) return;
    this.d.onRefused();
    const what = link.direction === 'in' ? `from ${remote}` : `to ${link.label}`;
    this.d.log.warn({ remote, direction: link.direction, reason: why }, `refusing peer link ${what}: ${why}`);
    link.close(1008, 'authentication failed', new UnreachableError(`peer link ${what} refused: ${why}`));
  }

  private identify(link: PeerLink, hello: Hello): void {
    this.endIncoming(link);
    this.d.identified(link, hello);
  }
}
