/**
 * The hello: the first envelope a dialler sends on every peer link, naming
 * itself (`{ type: 'hello', id, addr, region }`, plus its handshake nonce when
 * the cluster has a secret; see link-auth.ts). An incoming link has no
 * identity until its hello arrived, and its id is the `from` of everything the
 * link carries afterwards, so the acceptor checks its shape and bounds before
 * believing any of it.
 */
import type { NodeId } from '../core/ids';
import { KIND_ONE_WAY, type Envelope } from './frame-codec';
import { isNonce } from './peer-auth';

export interface Hello {
  type: 'hello';
  id: NodeId;
  addr: string;
  region: string | null;
  /** The dialler's handshake nonce, present when it has a cluster secret. */
  nonce?: Uint8Array;
}

const NODE_ID_CHARS_MAX = 256;
const ADDR_CHARS_MAX = 1024;

/** The hello in an envelope, or null if it is not a well-formed one. */
export function helloOf(env: Envelope): Hello | null {
  if (env[0] !== KIND_ONE_WAY) return null;
  const m = env[2] as unknown as Record<string, unknown>;
  if (m.type !== 'hello') return null;
  if (typeof m.id !== 'string' || m.id.length === 0 || m.id.length > NODE_ID_CHARS_MAX) return null;
  if (typeof m.addr !== 'string' || m.addr.length > ADDR_CHARS_MAX) return null;
  if (m.region !== undefined && m.region !== null && (typeof m.region !== 'string' || m.region.length > NODE_ID_CHARS_MAX)) return null;
  if (m.nonce !== undefined && !isNonce(m.nonce)) return null;
  const hello: Hello = { type: 'hello', id: m.id as NodeId, addr: m.addr, region: (m.region as string | undefined) ?? null };
  if (m.nonce !== undefined) hello.nonce = m.nonce as Uint8Array;
  return hello;
}
