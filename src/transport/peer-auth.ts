/**
 * Peer authentication (DESIGN.md layer 7; docs/security.md): a mutual
 * challenge-response over fresh nonces, keyed by the cluster secret every
 * node shares, run on each peer link before any cluster message is accepted.
 *
 *   dialler  -> acceptor   hello { id, addr, region, nonce: Nc }
 *   acceptor -> dialler    auth-challenge { nonce: Ns, proof: HMAC(K, server | Nc | Ns | id | binding), tls }
 *   dialler  -> acceptor   auth-proof { proof: HMAC(K, client | Nc | Ns | id | binding) }
 *
 * Each side proves it knows K over a nonce the other side just chose, so a
 * recorded exchange cannot be replayed, and the role label keeps one side's
 * proof from being reflected back as the other's. The acceptor proves itself
 * first, and the dialler sends nothing but its hello until it has checked
 * that proof: a node dialling an impostor (a rogue seed, a hijacked address)
 * leaks no data to it. The dialler's id is under the MAC, so a proof cannot
 * be reused under another name.
 *
 * Channel binding (RFC 9266 in spirit): on a TLS link both ends mix the TLS
 * keying-material exporter of their session into the MAC. A man in the
 * middle that terminates TLS on each side (possible when the dialler does not
 * verify certificates) sees two different sessions, so it cannot relay the
 * proofs between them. Over plain ws the binding is empty and an on-path
 * attacker can still relay and read; docs/security.md says so.
 *
 * Everything here is pure apart from the nonce source (node:crypto).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type * as net from 'node:net';
import { TLSSocket } from 'node:tls';
import { BadRequestError } from '../core/errors';

export const NONCE_BYTES = 32;
export const PROOF_BYTES = 32;
/** A cluster secret shorter than this is refused: 16 random bytes are 128 bits. */
export const SECRET_BYTES_MIN = 16;
const BINDING_BYTES = 32;
const BINDING_LABEL = 'EXPORTER-ringstore-peer-auth';
const PROOF_LABEL = 'ringstore peer auth v1';

export type AuthRole = 'server' | 'client';

/** The acceptor's answer to a hello that carries a nonce. */
export interface AuthChallenge {
  type: 'auth-challenge';
  nonce: Uint8Array;
  proof: Uint8Array;
  /** Whether the acceptor sees a TLS socket: a mismatch means TLS is terminated in between. */
  tls: boolean;
}

/** The dialler's proof, after it checked the acceptor's. */
export interface AuthProof {
  type: 'auth-proof';
  proof: Uint8Array;
}

/** A fresh random nonce for one handshake. */
export function newNonce(): Buffer {
  return randomBytes(NONCE_BYTES);
}

/** Refuse a secret too short to resist guessing; returns it for chaining. */
export function checkClusterSecret(secret: Uint8Array): Uint8Array {
  if (secret.length < SECRET_BYTES_MIN) {
    throw new BadRequestError(`the cluster secret is ${secret.length} bytes; it must be at least ${SECRET_BYTES_MIN}`);
  }
  return secret;
}

/**
 * The MAC one side sends. Nonces and the binding have fixed lengths and the
 * id is length-prefixed, so no two different inputs share an encoding.
 */
export function authProof(
  secret: Uint8Array,
  role: AuthRole,
  clientNonce: Uint8Array,
  serverNonce: Uint8Array,
  clientId: string,
  binding: Uint8Array,
): Buffer {
  const id = Buffer.from(clientId, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(id.length);
  return createHmac('sha256', secret)
    .update(PROOF_LABEL)
    .update(role === 'server' ? '\x01' : '\x02')
    .update(clientNonce)
    .update(serverNonce)
    .update(len)
    .update(id)
    .update(Buffer.from([binding.length]))
    .update(binding)
    .digest();
}

/** Whether `got` (from the wire, untrusted) equals the expected proof; constant time. */
export function proofMatches(expected: Uint8Array, got: unknown): boolean {
  if (!(got instanceof Uint8Array) || got.length !== expected.length) return false;
  return timingSafeEqual(expected, got);
}

/** Whether a value from the wire is a nonce of the right size. */
export function isNonce(x: unknown): x is Uint8Array {
  return x instanceof Uint8Array && x.length === NONCE_BYTES;
}

/**
 * The channel binding of a socket: TLS keying material both ends of one TLS
 * session derive alike (RFC 5705), or empty for a plain socket.
 */
export function channelBinding(socket: net.Socket | undefined | null): Buffer {
  if (!(socket instanceof TLSSocket)) return Buffer.alloc(0);
  return socket.exportKeyingMaterial(BINDING_BYTES, BINDING_LABEL, Buffer.alloc(0));
}

/** The challenge message, from an untrusted value; null if it is not one. */
export function asAuthChallenge(m: unknown): AuthChallenge | null {
  const x = m as Record<string, unknown> | null;
  if (typeof x !== 'object' || x === null || x.type !== 'auth-challenge') return null;
  if (!isNonce(x.nonce) || !(x.proof instanceof Uint8Array) || typeof x.tls !== 'boolean') return null;
  return { type: 'auth-challenge', nonce: x.nonce, proof: x.proof, tls: x.tls };
}

/** The proof message, from an untrusted value; null if it is not one. */
export function asAuthProof(m: unknown): AuthProof | null {
  const x = m as Record<string, unknown> | null;
  if (typeof x !== 'object' || x === null || x.type !== 'auth-proof' || !(x.proof instanceof Uint8Array)) return null;
  return { type: 'auth-proof', proof: x.proof };
}
