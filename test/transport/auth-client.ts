/**
 * A raw peer client for tests: a bare ws socket on a node's /peer path that
 * speaks the handshake of src/transport/peer-auth.ts by hand (or breaks it on
 * purpose), then sends whatever frames a test wants and collects what comes
 * back. The fuzz tests use it to reach every peer message handler of a real
 * node over an authenticated link.
 */
import WebSocket from 'ws';
import { decodeFrame, encodeFrame, KIND_ONE_WAY, type Envelope } from '../../src/transport/frame-codec';
import { authProof, newNonce } from '../../src/transport/peer-auth';

export type LooseEnvelope = [number, number, Record<string, unknown>];

export interface RawPeer {
  ws: WebSocket;
  /** Resolves with the close code once the socket closed. */
  closed: Promise<number>;
  /** Every envelope received, in order. */
  received: Envelope[];
  /** The next frame received (decoded), or null if the socket closes first. */
  nextFrame(timeoutMs?: number): Promise<Envelope[] | null>;
  /** Send envelopes as one frame; messages are loosely typed on purpose (tests send wrong ones). */
  send(envelopes: LooseEnvelope[]): void;
  sendRaw(data: Buffer): void;
  close(): void;
}

export async function openRawPeer(url: string, opts: { ca?: string | Buffer } = {}): Promise<RawPeer> {
  const ws = new WebSocket(url, { perMessageDeflate: false, ...(opts.ca ? { ca: opts.ca } : {}) });
  const received: Envelope[] = [];
  const frames: Envelope[][] = [];
  const waiters: ((f: Envelope[] | null) => void)[] = [];
  let isClosed = false;
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => {
    isClosed = true;
    for (const w of waiters.splice(0)) w(null);
    resolve(code);
  }));
  ws.on('error', () => undefined);
  ws.on('message', (data: Buffer) => {
    let envs: Envelope[];
    try {
      envs = decodeFrame(data);
    } catch {
      return;
    }
    received.push(...envs);
    const w = waiters.shift();
    if (w) w(envs);
    else frames.push(envs);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused with ${res.statusCode}`)));
  });
  return {
    ws,
    closed,
    received,
    nextFrame(timeoutMs = 2000) {
      const f = frames.shift();
      if (f) return Promise.resolve(f);
      if (isClosed) return Promise.resolve(null);
      return new Promise((resolve) => {
        const t = setTimeout(() => {
          const i = waiters.indexOf(done);
          if (i >= 0) waiters.splice(i, 1);
          resolve(null);
        }, timeoutMs);
        const done = (x: Envelope[] | null): void => {
          clearTimeout(t);
          resolve(x);
        };
        waiters.push(done);
      });
    },
    send(envelopes) {
      ws.send(encodeFrame(envelopes as unknown as Envelope[]));
    },
    sendRaw(data) {
      ws.send(data);
    },
    close() {
      ws.terminate();
    },
  };
}

export interface HandshakeResult {
  peer: RawPeer;
  clientNonce: Buffer;
  serverNonce: Buffer;
  /** The proof sent (or that would have been sent). */
  proof: Buffer;
}

/**
 * Open a raw peer and run the dialler's side of the handshake as `id` with
 * `secret`. `proofOverride` replaces the computed proof (a wrong or replayed
 * one); `clientNonce` fixes the nonce (a replay). Resolves once the proof is
 * sent; whether the node accepted it shows in what happens next.
 */
export async function handshake(
  url: string,
  secret: Uint8Array,
  id: string,
  opts: { ca?: string | Buffer; clientNonce?: Buffer; proofOverride?: Buffer; addr?: string } = {},
): Promise<HandshakeResult> {
  const peer = await openRawPeer(url, { ca: opts.ca });
  const clientNonce = opts.clientNonce ?? newNonce();
  peer.send([[KIND_ONE_WAY, 0, { type: 'hello', id, addr: opts.addr ?? '127.0.0.1:1', region: null, nonce: clientNonce }]]);
  const frame = await peer.nextFrame();
  const fail = (why: string): never => {
    peer.close();
    throw new Error(why);
  };
  if (frame === null) return fail('no challenge: the node closed the link');
  const challenge = frame[0]![2] as unknown as { type: string; nonce: Buffer; proof: Buffer };
  if (challenge.type !== 'auth-challenge') fail(`expected a challenge, got ${challenge.type}`);
  const serverNonce = Buffer.from(challenge.nonce);
  // Raw sockets have no TLS binding in these tests unless the caller's link is TLS;
  // the fuzz and auth tests run over plain ws.
  const expected = authProof(secret, 'server', clientNonce, serverNonce, id, Buffer.alloc(0));
  if (!expected.equals(Buffer.from(challenge.proof))) fail('the node failed to prove it knows the secret');
  const proof = opts.proofOverride ?? authProof(secret, 'client', clientNonce, serverNonce, id, Buffer.alloc(0));
  peer.send([[KIND_ONE_WAY, 0, { type: 'auth-proof', proof }]]);
  return { peer, clientNonce, serverNonce, proof };
}
