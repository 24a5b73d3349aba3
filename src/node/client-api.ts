/**
 * The client WebSocket API (DESIGN.md layer 8, Interfaces: CLI "the client
 * WebSocket API at /client"): what RingClient (src/client) talks to. Every
 * node serves it on its own port, and any node coordinates any key, so a
 * client that routes by the ring (Dynamo 4.5's client-driven coordination)
 * saves the extra hop while a client that does not still gets answers.
 *
 * Wire format: the peer protocol's frames (transport/frame-codec.ts), a
 * msgpack array of `[kind, id, msg]` envelopes per WebSocket binary message,
 * batched per event-loop turn by the same PeerLink the peer links use. The
 * client sends requests (kind 0); the node answers each with a reply (kind 1)
 * or an error (kind 3: `{ code, message, status }`, the stable RS_ERR_* code
 * of the RingstoreError). On accept the node first sends a one-way hello
 * naming itself. Requests (docs/session-store.md lists them with examples):
 *
 *   { type: 'op', key, op: ClientOp, opts?: RequestOptions } -> { type: 'op-ok', view: ObjectView | null }
 *   { type: 'ring' }                                          -> { type: 'ring-ok', ... RingInfo }
 *   { type: 'scan', prefix, cursor: [p, key] | null, limit }  -> { type: 'scan-ok', keys, cursor }
 *
 * Everything from the socket is validated before protocol code sees it
 * (replication/wire-validate.ts plus the checks below): a malformed request
 * gets an error reply and the connection stays up; a frame that is not even
 * msgpack envelopes closes the connection (1002), as a peer link does, since
 * there is no request id to answer. Frames are bounded by
 * config.limits.frameBytesMax (ws maxPayload closes the socket with 1009)
 * and requests in flight per connection by config.clientInflightMax.
 */
import type * as http from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import { Counter, Gauge } from 'prom-client';
import {
  BadFrameError, BadRequestError, ClosedError, OverloadedError, RingstoreError, ValueTooLargeError,
} from '../core/errors';
import { asPartitionId } from '../core/ids';
import type { PeerMessage } from '../core/network-port';
import { encodeContext } from '../clock/context-codec';
import { cartItems } from '../crdt/cart';
import { sessionIsLive, sessionMaxStamp, sessionView } from '../crdt/session';
import { isTombstoneOnly, type StoredObject } from '../crdt/stored-object';
import type { ClientOp, RequestOptions } from '../replication/client-op';
import { opIdOf, validateClientOp, validateKey, validateRequestOptions } from '../replication/wire-validate';
import {
  decodeFrame, encodeEnvelope, FRAME_HEADER_BYTES_MAX, KIND_ERROR, KIND_ONE_WAY, KIND_REPLY, KIND_REQUEST,
  type Envelope,
} from '../transport/frame-codec';
import { PeerLink, type LinkCounters } from '../transport/peer-link';
import { errorBodyOf } from '../transport/remote-error';
import type {
  ClientHello, ClientReply, ClientRequest, MemberState, ObjectView, RingInfo, ScanCursor,
} from '../transport/client-protocol';
import type { FeatureHost } from './feature-host';
import { clientRequestRefusal, upgradeScope } from './auth';

/** The WebSocket path of the client API. */
export const CLIENT_PATH = '/client';

// ---- the protocol: src/transport/client-protocol.ts ----

// ---- bounds of client input beyond wire-validate.ts ----

const CONTENT_TYPE_CHARS_MAX = 256;
/** How deep a session field's JSON value may nest. */
const JSON_DEPTH_MAX = 64;
/** Keys a scan page may examine before it returns (possibly with fewer keys than asked). */
const SCAN_EXAMINE_MAX = 50_000;
const PING_INTERVAL_MS = 5000;
/** Request types whose `ok` counter child is cached (countOk). */
const OK_COUNTERS_MAX = 64;

const isObj = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);

export function installClientApi(host: FeatureHost): void {
  const api = new ClientApi(host);
  host.addUpgradeHandler((req, socket, head) => api.handleUpgrade(req, socket, head));
  host.every(PING_INTERVAL_MS, () => api.pingAll());
  host.onClose(() => api.close());
}

class ClientApi {
  private readonly wss: WebSocketServer;
  private readonly links = new Set<PeerLink>();
  private readonly counters: LinkCounters = { framesSent: 0, messagesSent: 0, bytesSent: 0, framesReceived: 0, bytesReceived: 0 };
  private readonly requests: Counter<'type' | 'code'>;
  private readonly okCounters = new Map<string, Counter.Internal>();
  private readonly helloPart: Buffer;
  private closed = false;

  constructor(private readonly host: FeatureHost) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: host.config.limits.frameBytesMax, perMessageDeflate: false });
    const registry = host.metrics.registry;
    this.requests = new Counter({
      name: 'ringstore_client_requests_total', help: 'Client WebSocket API requests by type and outcome code',
      labelNames: ['type', 'code'], registers: [registry],
    });
    const links = this.links;
    new Gauge({
      name: 'ringstore_client_connections', help: 'Open client WebSocket connections', registers: [registry],
      collect() { this.set(links.size); },
    });
    const hello: ClientHello = { type: 'hello', id: host.id, addr: host.addr, region: host.region };
    this.helloPart = encodeEnvelope([KIND_ONE_WAY, 0, hello]);
  }

  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    if ((q < 0 ? url : url.slice(0, q)) !== CLIENT_PATH) return false;
    if (this.closed) {
      socket.destroy();
      return true;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req));
    return true;
  }

  pingAll(): void {
    for (const link of this.links) link.ping();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Close client links before the node stops serving, so clients fail over
    // at once instead of getting errors from a half-closed node.
    const links = [...this.links];
    for (const link of links) link.close(1001, 'node shutting down', new ClosedError('node'));
    await Promise.all(links.map((l) => l.whenClosed()));
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private accept(ws: WebSocket, req: http.IncomingMessage): void {
    if (this.closed) {
      ws.terminate();
      return;
    }
    const remote = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
    // The bearer token's scope, checked at the upgrade (http-guard.ts; docs/security.md).
    const scope = upgradeScope(req);
    let inflight = 0;
    const frameBytesMax = this.host.config.limits.frameBytesMax;
    const link: PeerLink = new PeerLink(ws, 'in', null, `client ${remote}`, {
      batchBytesMax: 256 * 1024,
      batchMessagesMax: 64,
      frameBytesMax,
      queueBytesMax: Math.max(64 * 1024 * 1024, frameBytesMax),
      highWaterBytes: 1024 * 1024,
      counters: this.counters,
      onFrame: (l, data, isBinary) => {
        const envelopes = this.decode(l, data, isBinary);
        if (envelopes === null) return;
        for (const env of envelopes) {
          if (l.isClosed) return;
          if (env[0] !== KIND_REQUEST) continue; // clients only send requests; anything else is ignored
          const id = env[1];
          const type = String((env[2] as PeerMessage).type).slice(0, 32);
          const refusal = clientRequestRefusal(scope, env[2]);
          if (refusal !== null) {
            this.answerError(l, id, type, refusal);
            continue;
          }
          if (inflight >= this.host.config.clientInflightMax) {
            this.answerError(l, id, type, new OverloadedError(`more than ${this.host.config.clientInflightMax} requests in flight on one connection`));
            continue;
          }
          inflight++;
          this.handle(env[2] as unknown).then(
            (reply) => { inflight--; this.answer(l, id, type, reply); },
            (err: unknown) => { inflight--; this.answerError(l, id, type, err); },
          );
        }
      },
      onClose: (l) => { this.links.delete(l); },
    });
    this.links.add(link);
    link.enqueue(this.helloPart);
  }

  /** The envelopes of a frame, or null after closing a link that sent a malformed one. */
  private decode(link: PeerLink, data: Buffer, isBinary: boolean): Envelope[] | null {
    try {
      if (!isBinary) throw new BadFrameError('text frame on the client API (send msgpack binary frames)');
      return decodeFrame(data);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      this.host.logger.warn({ client: link.label, err: why }, 'closing client connection: malformed frame');
      link.close(1002, 'malformed frame', new BadFrameError(why));
      return null;
    }
  }

  private answer(link: PeerLink, id: number, type: string, reply: ClientReply): void {
    if (link.isClosed) return;
    let part: Buffer;
    try {
      part = this.pack([KIND_REPLY, id, reply]);
    } catch (err) {
      this.answerError(link, id, type, err);
      return;
    }
    this.countOk(type);
    if (!link.enqueue(part)) this.host.logger.warn({ client: link.label }, 'client reply dropped: connection congested or closed');
  }

  /**
   * The `ok` child of the request counter, looked up once per type: a
   * labelled inc() hashes its labels on every call, once per operation.
   */
  private countOk(type: string): void {
    let child = this.okCounters.get(type);
    if (child === undefined) {
      child = this.requests.labels(type, 'ok');
      // Types come from clients; bound the cache (prom-client keeps the series anyway).
      if (this.okCounters.size < OK_COUNTERS_MAX) this.okCounters.set(type, child);
    }
    child.inc();
  }

  private answerError(link: PeerLink, id: number, type: string, err: unknown): void {
    const body = errorBodyOf(err);
    this.requests.inc({ type, code: body.code });
    if (!(err instanceof RingstoreError)) {
      this.host.logger.error({ err, type }, 'client API request failed unexpectedly');
    } else if (err.status >= 500) {
      this.host.logger.debug({ code: err.code, type, err: err.message }, 'client API request failed');
    }
    if (link.isClosed) return;
    link.enqueue(encodeEnvelope([KIND_ERROR, id, body]));
  }

  private pack(env: Envelope): Buffer {
    const part = encodeEnvelope(env);
    const max = this.host.config.limits.frameBytesMax - FRAME_HEADER_BYTES_MAX;
    if (part.length > max) throw new ValueTooLargeError(part.length, max);
    return part;
  }

  private async handle(raw: unknown): Promise<ClientReply> {
    if (this.closed) throw new ClosedError('node');
    const msg = raw as Record<string, unknown>;
    switch (msg.type) {
      case 'op': {
        const { config } = this.host;
        const key = validateKey(msg.key, config.limits);
        const op = checkClientOp(validateClientOp(msg.op), config.limits.keyBytesMax);
        const opts = validateRequestOptions(msg.opts === null ? undefined : msg.opts, config.n);
        const opId = opIdOf(msg.opId);
        const done = opId === undefined
          ? await this.host.coordinator.run(key, op, opts)
          : await this.host.coordinator.executeForwarded(opId, key, op, opts);
        const view = op.op.startsWith('session-') ? null : this.view(done.obj);
        const reply: Extract<ClientReply, { type: 'op-ok' }> = { type: 'op-ok', view };
        if (done.got < done.wanted) {
          reply.got = done.got;
          reply.wanted = done.wanted;
        }
        // A session's stamp (0 when this node knows nothing of the key) for the client's token.
        if (done.obj === null) reply.stamp = 0;
        else if (done.obj.kind === 'session') reply.stamp = sessionMaxStamp(done.obj.s);
        return reply;
      }
      case 'ring':
        return { type: 'ring-ok', ...this.ringInfo() };
      case 'scan':
        return { type: 'scan-ok', ...this.scan(msg) };
      default:
        throw new BadRequestError(`unknown client request type ${JSON.stringify(String(msg.type)).slice(0, 40)}`);
    }
  }

  private view(obj: StoredObject | null): ObjectView | null {
    if (obj === null) return null;
    switch (obj.kind) {
      case 'opaque': {
        const live = obj.dvv.siblings.filter((s) => s.value !== null);
        return {
          kind: 'opaque',
          values: live.map((s) => s.value!.b),
          contentTypes: live.map((s) => s.value!.ct),
          context: encodeContext(obj.dvv.vv),
        };
      }
      case 'session': {
        if (!sessionIsLive(obj.s, this.host.clock.nowMs())) return null;
        const data = sessionView(obj.s);
        if (Object.keys(data).length === 0) return null;
        return { kind: 'session', data, expiresAtMs: obj.s.expiresAtMs };
      }
      case 'cart':
        return { kind: 'cart', items: cartItems(obj.c) };
    }
  }

  private ringInfo(): RingInfo {
    const { host } = this;
    const ring = host.currentRing();
    const members = [...host.members().values()]
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .map((m) => ({
        id: m.id,
        addr: m.addr,
        region: m.region,
        state: host.memberStateOf(m.id),
      }));
    return {
      self: { id: host.id, addr: host.addr, region: host.region },
      members,
      ring: {
        q: ring.q,
        owners: [...ring.owners],
        version: ring.version,
        members: ring.members.map((m) => ({ id: m.id, region: m.region, joinedAtMs: m.joinedAtMs })),
      },
      quorum: { n: host.config.n, r: host.config.r, w: host.config.w },
      limits: {
        keyBytesMax: host.config.limits.keyBytesMax,
        valueBytesMax: host.config.limits.valueBytesMax,
        frameBytesMax: host.config.limits.frameBytesMax,
      },
    };
  }

  /**
   * One page of this node's own live keys with a prefix, in (partition, key)
   * order. Walks one partition at a time (storage keeps a per-partition
   * index), so a page costs about the keys it examines, never the whole
   * store; it stops at `limit` keys or after examining SCAN_EXAMINE_MAX keys.
   */
  private scan(msg: Record<string, unknown>): { keys: string[]; cursor: ScanCursor | null } {
    const { config, storage } = this.host;
    if (typeof msg.prefix !== 'string') throw new BadRequestError('scan prefix must be a string');
    const prefix = msg.prefix;
    if (Buffer.byteLength(prefix, 'utf8') > config.limits.keyBytesMax) throw new BadRequestError('scan prefix is longer than a key may be');
    const q = config.partitions;
    let limit = config.scanPageMax;
    if (msg.limit !== undefined && msg.limit !== null) {
      if (!Number.isSafeInteger(msg.limit) || (msg.limit as number) < 1) throw new BadRequestError('scan limit must be a positive integer');
      limit = Math.min(limit, msg.limit as number);
    }
    let startP = 0;
    let after = '';
    if (msg.cursor !== undefined && msg.cursor !== null) {
      const c = msg.cursor;
      if (!Array.isArray(c) || c.length !== 2 || !Number.isSafeInteger(c[0]) || c[0] < 0 || c[0] >= q || typeof c[1] !== 'string') {
        throw new BadRequestError('malformed scan cursor');
      }
      startP = c[0] as number;
      after = c[1] as string;
    }
    const nowMs = this.host.clock.nowMs();
    const keys: string[] = [];
    let examined = 0;
    for (let p = startP; p < q; p++) {
      const inPartition: string[] = [];
      for (const k of storage.keysInPartition(asPartitionId(p))) {
        examined++;
        if (k.startsWith(prefix) && (p !== startP || k > after)) inPartition.push(k);
      }
      inPartition.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      for (const k of inPartition) {
        const obj = storage.get(k);
        if (obj === undefined || !isLive(obj, nowMs)) continue;
        keys.push(k);
        if (keys.length === limit) return { keys, cursor: [p, k] };
      }
      if (examined >= SCAN_EXAMINE_MAX && p + 1 < q) return { keys, cursor: [p + 1, ''] };
    }
    return { keys, cursor: null };
  }
}

/** Whether a stored object reads as present (what scan lists). */
function isLive(obj: StoredObject, nowMs: number): boolean {
  switch (obj.kind) {
    case 'opaque':
      return !isTombstoneOnly(obj);
    case 'session':
      return sessionIsLive(obj.s, nowMs) && Object.values(obj.s.fields).some((r) => r.d !== true);
    case 'cart':
      return true;
  }
}

/** Client-facing bounds beyond validateClientOp's (cart bounds live there, shared by every API). */
function checkClientOp(op: ClientOp, fieldBytesMax: number): ClientOp {
  switch (op.op) {
    case 'put':
      if (op.ct.length > CONTENT_TYPE_CHARS_MAX) throw new BadRequestError(`content type is longer than ${CONTENT_TYPE_CHARS_MAX} characters`);
      return op;
    case 'session-write':
      for (const name of [...Object.keys(op.set), ...op.del]) {
        if (name.length === 0 || Buffer.byteLength(name, 'utf8') > fieldBytesMax) {
          throw new BadRequestError(`session field names must be non-empty and at most ${fieldBytesMax} bytes`);
        }
      }
      for (const [name, v] of Object.entries(op.set)) {
        if (!isJsonValue(v, 0)) throw new BadRequestError(`session field ${JSON.stringify(name.slice(0, 64))} is not a JSON value`);
      }
      return op;
    default:
      return op;
  }
}

/** null, booleans, finite numbers, strings, arrays and plain objects of them, nested at most JSON_DEPTH_MAX deep. */
function isJsonValue(v: unknown, depth: number): boolean {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return true;
  if (typeof v === 'number') return Number.isFinite(v);
  if (depth >= JSON_DEPTH_MAX) return false;
  if (Array.isArray(v)) return v.every((x) => isJsonValue(x, depth + 1));
  if (isObj(v) && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null)) {
    return Object.values(v).every((x) => isJsonValue(x, depth + 1));
  }
  return false;
}
