/**
 * The TypeScript client (DESIGN.md layer 9): connects to the nodes it is
 * given over the client WebSocket API (/client, src/node/client-api.ts),
 * learns the ring from them, and sends each request to a replica of its key
 * (Dynamo 4.5 and 6.4, client-driven coordination: no load balancer, no
 * forwarding hop), the same replica for every request of one event-loop turn
 * where it can (turn-affinity.ts). It prefers replicas in its own region when given one,
 * fails over to the next node when a link drops or a request times out,
 * refreshes the ring periodically and after failures, and redials lost
 * nodes with backoff.
 *
 * Retries: a request that failed before it reached any node is always sent
 * to the next one. One that may have been applied is retried only when
 * applying it twice gives the same result: reads, scans, deletes, cart
 * remove and set, and every session operation (a session write assigns
 * fields, so replaying it leaves the same values; touch and destroy are
 * max/absorbing). A cart add carries an operation id the nodes remember
 * (Coordinator.executeForwarded), so a retry that reaches the node that ran
 * it, or the primary it was forwarded to, returns the first result instead of
 * adding twice; only when that node died between replicating the add and
 * answering can a retry on another replica count it twice (at least once,
 * never lost: docs/session-store.md). An opaque put is not retried once sent:
 * its error is returned.
 *
 * Degraded answers (fewer than W acknowledgements or R answers, DESIGN.md
 * Never says no) are successes; `stats.degraded` counts them.
 *
 * Events: 'connect' when the client goes from no open connection to one,
 * 'disconnect' when it loses the last one. It never emits 'error'.
 */
import { EventEmitter } from 'node:events';
import {
  BadFrameError, BadRequestError, ClosedError, RingstoreError, TypeMismatchError, UnreachableError,
} from '../core/errors';
import { DEFAULT_LIMITS } from '../core/config';
import { Prng } from '../core/prng';
import { decodeContext } from '../clock/context-codec';
import type { ClientOp, Consistency, RequestOptions } from '../replication/client-op';
import { silentLogger, type Logger } from '../transport/logger';
import type { LinkCounters } from '../transport/peer-link';
import type { ClientReply, ClientRequest, ObjectView, ScanCursor } from '../transport/client-protocol';
import { NodeConnection, wasNotSent } from './node-connection';
import { ringViewOf, routeOf, type RingView } from './ring-view';
import { SessionTokens, type SessionToken } from './session-tokens';
import { TurnAffinity } from './turn-affinity';

type OpOk = Extract<ClientReply, { type: 'op-ok' }>;
/** Sessions whose token a client keeps, at most. */
const SESSION_TOKENS_MAX = 100_000;

export type { Consistency, RequestOptions };

export interface RingClientOptions {
  /** Nodes to connect to first, as 'HOST:PORT'; the rest are learned from the ring. */
  nodes: string[];
  /** This client's region: requests go to replicas in it first. */
  region?: string;
  /** How long one attempt of a request waits for its answer. Default 5000. */
  timeoutMs?: number;
  /** Default consistency of every request (a node's own default when unset). */
  consistency?: Consistency;
  /** Further attempts after the first, on other nodes. Default 3. */
  retriesMax?: number;
  /** How often the ring is refreshed. Default 5000. */
  ringRefreshMs?: number;
  /** First redial delay of a lost node; doubles per failed dial. Default 100. */
  reconnectBaseMs?: number;
  /** Ceiling of the redial delay. Default 2000. */
  reconnectMaxMs?: number;
  /** Dial (TCP + upgrade) time limit. Default 3000. */
  connectTimeoutMs?: number;
  /** Liveness ping interval per connection. Default 5000. */
  pingIntervalMs?: number;
  /** Largest frame sent or accepted. Default the nodes' default (config.limits.frameBytesMax). */
  frameBytesMax?: number;
  /** Bearer token for nodes that require one (docs/security.md); sent on each connection's upgrade. */
  token?: string;
  /** Nodes serve TLS (docs/security.md): dial wss and verify their certificates against `ca` (default: the system's roots). */
  tls?: { ca?: string | Buffer };
  /** pino or anything with debug/info/warn/error(obj, msg). Default: silent. */
  logger?: Logger;
}

export interface GetResult {
  /** The live sibling values: empty when absent or deleted, more than one after concurrent blind writes. */
  values: Uint8Array[];
  contentTypes: string[];
  /** Opaque causal context: pass it to the next put or delete of this key ('' when nothing is known). */
  context: string;
}

export interface PutOptions extends RequestOptions {
  /** The context of the read this write replaces; without it the write is blind. */
  context?: string;
  /** Default 'text/plain; charset=utf-8' for strings, 'application/octet-stream' for bytes. */
  contentType?: string;
}

export interface DeleteOptions extends RequestOptions {
  /** Remove what this context covers; without it, what the coordinator reads at R. */
  context?: string;
}

export interface SessionRecord {
  data: Record<string, unknown>;
  expiresAtMs: number;
}

export interface SessionChange {
  /** Fields to set to these JSON values (per-field last-writer-wins). */
  set?: Record<string, unknown>;
  /** Fields to delete. */
  del?: string[];
  /** The session's new expiry (it keeps the later of this and its current one). */
  expiresAtMs: number;
}

export type CartItems = Record<string, number>;

const ADDR = /^(\[[0-9A-Fa-f:.]+\]|[^\s/:[\]]+):\d{1,5}$/;
/** Remote errors after which another coordinator may well succeed. */
const RETRYABLE_CODES = new Set(['RS_ERR_UNREACHABLE', 'RS_ERR_TIMEOUT', 'RS_ERR_CLOSED', 'RS_ERR_QUORUM', 'RS_ERR_OVERLOADED']);
/** Failure-triggered ring refreshes are at most this frequent. */
const REFRESH_AFTER_FAILURE_MIN_MS = 250;
/** Keys per scan page asked of a node (it may cap it lower). */
const SCAN_PAGE = 1000;

/** The tried set of a call that has not failed yet. */
const NONE_TRIED: ReadonlySet<never> = new Set<never>();

export class RingClient extends EventEmitter {
  private readonly conns: NodeConnection[] = [];
  private readonly region: string | null;
  private readonly timeoutMs: number;
  private readonly retriesMax: number;
  private readonly consistency: Consistency | undefined;
  private readonly logger: Logger;
  private readonly connOptions: ConstructorParameters<typeof NodeConnection>[1];
  private readonly timers: NodeJS.Timeout[] = [];
  private view: RingView | null = null;
  private openCount = 0;
  private connectWaiters: Array<() => void> = [];
  private refreshing: Promise<void> | null = null;
  private lastFailureRefreshMs = 0;
  private closed = false;
  /** Requests answered, retried on another node, and failed, since the start. */
  /** staleReads: session reads asked again of the node that took this client's last write (session-tokens.ts). */
  readonly stats = { requests: 0, retries: 0, failures: 0, ringRefreshes: 0, degraded: 0, staleReads: 0 };
  /** Names this client's operation ids (unique enough across clients: 64 random bits). */
  private readonly opIdPrefix = `c${Math.floor(Math.random() * 2 ** 32).toString(36)}${Math.floor(Math.random() * 2 ** 32).toString(36)}`;
  private opSeq = 0;
  private readonly turn = new TurnAffinity<NodeConnection>();
  private readonly sessionTokens = new SessionTokens<NodeConnection>(SESSION_TOKENS_MAX);
  private readonly replicaScratch: NodeConnection[] = [];
  readonly linkCounters: LinkCounters = { framesSent: 0, messagesSent: 0, bytesSent: 0, framesReceived: 0, bytesReceived: 0 };

  constructor(options: RingClientOptions) {
    super();
    if (!options || !Array.isArray(options.nodes) || options.nodes.length === 0) {
      throw new BadRequestError("RingClient needs nodes: ['HOST:PORT', ...]");
    }
    for (const a of options.nodes) {
      if (typeof a !== 'string' || !ADDR.test(a)) throw new BadRequestError(`node address ${JSON.stringify(a)} is not HOST:PORT`);
    }
    const positive = (name: string, v: number | undefined, dflt: number): number => {
      if (v === undefined) return dflt;
      if (!Number.isFinite(v) || v <= 0) throw new BadRequestError(`${name} must be a positive number`);
      return v;
    };
    this.region = options.region ?? null;
    this.timeoutMs = positive('timeoutMs', options.timeoutMs, 5000);
    this.retriesMax = options.retriesMax === undefined ? 3 : Math.max(0, Math.floor(options.retriesMax));
    if (options.consistency !== undefined && options.consistency !== 'local' && options.consistency !== 'global') {
      throw new BadRequestError('consistency must be "local" or "global"');
    }
    this.consistency = options.consistency;
    this.logger = options.logger ?? silentLogger;
    if (options.token !== undefined && (typeof options.token !== 'string' || !/^[\x21-\x7e]+$/.test(options.token))) {
      throw new BadRequestError('token must be a string of visible ASCII characters');
    }
    this.connOptions = {
      token: options.token ?? null,
      tls: options.tls ?? null,
      frameBytesMax: positive('frameBytesMax', options.frameBytesMax, DEFAULT_LIMITS.frameBytesMax),
      connectTimeoutMs: positive('connectTimeoutMs', options.connectTimeoutMs, 3000),
      reconnectBaseMs: positive('reconnectBaseMs', options.reconnectBaseMs, 100),
      reconnectMaxMs: positive('reconnectMaxMs', options.reconnectMaxMs, 2000),
      // Redial jitter only has to differ between clients, not replay.
      random: new Prng(Math.floor(Math.random() * 2 ** 32)),
      logger: this.logger,
      counters: this.linkCounters,
      onOpen: (c) => this.opened(c),
      onDown: (c, wasOpen) => this.down(c, wasOpen),
      onHello: () => undefined,
    };
    for (const addr of new Set(options.nodes)) this.conns.push(new NodeConnection(addr, this.connOptions));
    const every = (ms: number, fn: () => void): void => {
      const t = setInterval(fn, ms);
      t.unref();
      this.timers.push(t);
    };
    every(positive('ringRefreshMs', options.ringRefreshMs, 5000), () => this.refreshInBackground('periodic'));
    every(positive('pingIntervalMs', options.pingIntervalMs, 5000), () => { for (const c of this.conns) c.ping(); });
  }

  /** Whether at least one node connection is open. */
  get connected(): boolean {
    return this.openCount > 0;
  }

  /** The limits the cluster announced (the defaults until the ring is known). */
  get limits(): { keyBytesMax: number; valueBytesMax: number; frameBytesMax: number } {
    return this.view?.limits ?? { ...DEFAULT_LIMITS };
  }

  /** Resolves once a node connection is open and the ring is known; rejects after timeoutMs. */
  async ready(): Promise<void> {
    if (this.view === null) await this.refreshRing();
  }

  // ---- opaque values ----

  async get(key: string, opts: RequestOptions = {}): Promise<GetResult> {
    const view = await this.op(key, { op: 'get' }, opts, true);
    if (view === null) return { values: [], contentTypes: [], context: '' };
    if (view.kind !== 'opaque') throw new TypeMismatchError(key, view.kind, 'opaque');
    return { values: view.values, contentTypes: view.contentTypes, context: view.context };
  }

  async put(key: string, value: Uint8Array | string, opts: PutOptions = {}): Promise<{ context: string }> {
    let body: Uint8Array;
    let ct: string;
    if (typeof value === 'string') {
      body = Buffer.from(value, 'utf8');
      ct = opts.contentType ?? 'text/plain; charset=utf-8';
    } else if (value instanceof Uint8Array) {
      body = value;
      ct = opts.contentType ?? 'application/octet-stream';
    } else {
      throw new BadRequestError('value must be a string or a Uint8Array');
    }
    const context = decodeContext(opts.context ?? '');
    const view = await this.op(key, { op: 'put', ct, body, context }, requestOptions(opts), false);
    return { context: view !== null && view.kind === 'opaque' ? view.context : '' };
  }

  async delete(key: string, opts: DeleteOptions = {}): Promise<{ context: string }> {
    const context = opts.context === undefined ? null : decodeContext(opts.context);
    const view = await this.op(key, { op: 'delete', context }, requestOptions(opts), true);
    return { context: view !== null && view.kind === 'opaque' ? view.context : '' };
  }

  // ---- carts (key `cart/ID`, as the HTTP API's /carts/ID) ----

  async cartGet(id: string, opts: RequestOptions = {}): Promise<CartItems> {
    return this.cart(id, await this.op(cartKey(id), { op: 'get' }, opts, true));
  }

  async cartAdd(id: string, item: string, qty = 1, opts: RequestOptions = {}): Promise<CartItems> {
    const opId = `${this.opIdPrefix}-${(++this.opSeq).toString(36)}`;
    return this.cart(id, await this.op(cartKey(id), { op: 'cart', action: 'add', item, qty }, opts, true, opId));
  }

  async cartRemove(id: string, item: string, opts: RequestOptions = {}): Promise<CartItems> {
    return this.cart(id, await this.op(cartKey(id), { op: 'cart', action: 'remove', item, qty: 0 }, opts, true));
  }

  async cartSet(id: string, item: string, qty: number, opts: RequestOptions = {}): Promise<CartItems> {
    return this.cart(id, await this.op(cartKey(id), { op: 'cart', action: 'set', item, qty }, opts, true));
  }

  // ---- sessions ----

  /** The live session, or null when absent, expired or destroyed. */
  async sessionGet(key: string, opts: RequestOptions = {}): Promise<SessionRecord | null> {
    const view = await this.op(key, { op: 'get' }, opts, true, undefined, true);
    if (view === null) return null;
    if (view.kind !== 'session') throw new TypeMismatchError(key, view.kind, 'session');
    return { data: view.data, expiresAtMs: view.expiresAtMs };
  }

  /** Set and delete fields (each a last-writer-wins register) and extend the expiry. */
  async sessionWrite(key: string, change: SessionChange, opts: RequestOptions = {}): Promise<void> {
    if (!change || typeof change !== 'object') throw new BadRequestError('session change must be an object');
    await this.op(key, {
      op: 'session-write', set: change.set ?? {}, del: change.del ?? [], expiresAtMs: change.expiresAtMs,
    }, opts, true, undefined, true);
  }

  /** Extend the expiry only (never shortens it; leaves a destroyed session destroyed). */
  async sessionTouch(key: string, expiresAtMs: number, opts: RequestOptions = {}): Promise<void> {
    await this.op(key, { op: 'session-touch', expiresAtMs }, opts, true, undefined, true);
  }

  /** Logout: wins over every write and touch concurrent with it. */
  async sessionDestroy(key: string, opts: RequestOptions = {}): Promise<void> {
    await this.op(key, { op: 'session-destroy' }, opts, true, undefined, true);
  }

  // ---- scans ----

  /**
   * Every key with the prefix that some node holds live, sorted. Asks every
   * member (each lists only the keys it stores); a member that cannot be
   * reached is skipped, since its keys are replicated on others, unless no
   * member answers at all.
   */
  async scanKeys(prefix: string): Promise<string[]> {
    if (typeof prefix !== 'string') throw new BadRequestError('prefix must be a string');
    await this.ready();
    const view = this.view!;
    const targets = new Set<NodeConnection>();
    for (const [id, m] of view.members) {
      if (m.state === 'leaving') continue;
      const c = this.connFor(id);
      if (c) targets.add(c);
    }
    const keys = new Set<string>();
    let answered = 0;
    let lastErr: unknown = null;
    await Promise.all([...targets].map(async (c) => {
      try {
        let cursor: ScanCursor | null = null;
        do {
          const reply: Extract<ClientReply, { type: 'scan-ok' }> = expect(
            await c.request({ type: 'scan', prefix, cursor, limit: SCAN_PAGE }, this.timeoutMs), 'scan-ok');
          if (!Array.isArray(reply.keys)) throw new UnreachableError(`malformed scan reply from ${c.label}`);
          for (const k of reply.keys) if (typeof k === 'string') keys.add(k);
          cursor = reply.cursor;
        } while (cursor !== null);
        answered++;
      } catch (err) {
        lastErr = err;
        this.logger.debug({ node: c.label, err: (err as Error).message }, 'scan of one node failed');
      }
    }));
    if (answered === 0) {
      throw lastErr instanceof RingstoreError
        ? lastErr
        : new UnreachableError(`no ringstore node answered the scan${lastErr instanceof Error ? `: ${lastErr.message}` : ''}`);
    }
    return [...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  // ---- ring and lifecycle ----

  /** Fetch the ring from a node now (also done periodically and after failures). */
  refreshRing(): Promise<void> {
    if (this.refreshing) return this.refreshing;
    const p = (async () => {
      try {
        const reply = expect(await this.call(null, { type: 'ring' }, true), 'ring-ok');
        this.adopt(ringViewOf(reply));
        this.stats.ringRefreshes++;
      } finally {
        this.refreshing = null;
      }
    })();
    this.refreshing = p;
    return p;
  }

  /** Close every connection; pending and later requests reject with ClosedError. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    for (const w of this.connectWaiters) w();
    this.connectWaiters = [];
    await Promise.all(this.conns.map((c) => c.close()));
  }

  /** Per-node connection states, for status pages and tests. */
  connections(): Array<{ addr: string; id: string | null; region: string | null; state: string; pending: number }> {
    return this.conns.map((c) => ({ addr: c.addr, id: c.nodeId, region: c.region, state: c.state, pending: c.pendingCount }));
  }

  // ---- internals ----

  private cart(id: string, view: ObjectView | null): CartItems {
    if (view === null) return {};
    if (view.kind !== 'cart') throw new TypeMismatchError(cartKey(id), view.kind, 'cart');
    return view.items;
  }

  private async op(
    key: string, op: ClientOp, opts: RequestOptions, idempotent: boolean, opId?: string, session = false,
  ): Promise<ObjectView | null> {
    if (typeof key !== 'string' || key.length === 0) throw new BadRequestError('key must be a non-empty string');
    const o = requestOptions(opts);
    if (o.consistency === undefined && this.consistency !== undefined) o.consistency = this.consistency;
    const token = session ? this.sessionTokens.get(key) : undefined;
    if (token !== undefined && op.op !== 'get' && o.after === undefined) o.after = token.stamp;
    const msg: ClientRequest = opId === undefined ? { type: 'op', key, op, opts: o } : { type: 'op', key, op, opts: o, opId };
    const answered = session ? { by: null as NodeConnection | null } : undefined;
    let reply = expect(await this.call(key, msg, idempotent, answered), 'op-ok');
    if (answered !== undefined && answered.by !== null) {
      // Most replies need no second ask: note them here, without another promise hop.
      reply = this.needsReask(op, reply, answered.by, token)
        ? await this.reaskSession(key, op, msg, reply, answered.by, token)
        : this.noteReply(key, op, reply, answered.by);
    }
    if (reply.got !== undefined && reply.wanted !== undefined && reply.got < reply.wanted) this.stats.degraded++;
    return reply.view;
  }

  /**
   * Whether a session read answered by `by` is older than this client's
   * last write to it (session-tokens.ts), so the node that took that write
   * should be asked again.
   */
  private needsReask(
    op: ClientOp, reply: OpOk, by: NodeConnection, token: SessionToken<NodeConnection> | undefined,
  ): token is SessionToken<NodeConnection> {
    return op.op === 'get' && reply.stamp !== undefined && token !== undefined && token.node !== by
      && token.node.state === 'open' && this.sessionTokens.isStale(token, reply.stamp, reply.view !== null);
  }

  /** Keep the session's token from a reply (a node that sends no stamps leaves none). */
  private noteReply(key: string, op: ClientOp, reply: OpOk, by: NodeConnection): OpOk {
    if (reply.stamp !== undefined) this.sessionTokens.note(key, reply.stamp, by, op.op === 'session-destroy');
    return reply;
  }

  /**
   * Ask the node of the client's last write again; if it cannot answer, the
   * first answer stands (stale beats an error).
   */
  private async reaskSession(
    key: string, op: ClientOp, msg: ClientRequest, reply: OpOk, answeredBy: NodeConnection, token: SessionToken<NodeConnection>,
  ): Promise<OpOk> {
    try {
      const again = expect(await token.node.request(msg, this.timeoutMs), 'op-ok');
      this.stats.staleReads++;
      return this.noteReply(key, op, again, token.node);
    } catch (err) {
      this.logger.debug({ node: token.node.label, err: (err as Error).message }, 'stale session read kept: the node of the last write did not answer');
      return this.noteReply(key, op, reply, answeredBy);
    }
  }

  /**
   * Send `msg` to the best node for `key` (any node when null) and fail over
   * as the module comment says. At most retriesMax + 1 attempts; waits up to
   * timeoutMs for a connection when none is open. `answered.by` is set to the
   * connection that answered.
   */
  private async call(
    key: string | null, msg: ClientRequest, idempotent: boolean, answered?: { by: NodeConnection | null },
  ): Promise<ClientReply> {
    if (this.closed) throw new ClosedError('ring client');
    // Made on the first failure: most calls succeed at once.
    let tried: Set<NodeConnection> | null = null;
    let lastErr: unknown = null;
    for (let attempt = 0; attempt <= this.retriesMax;) {
      const conn = this.pick(key, tried ?? NONE_TRIED);
      if (conn === null) {
        if (!(await this.waitForConnection())) {
          this.stats.failures++;
          throw this.closed
            ? new ClosedError('ring client')
            : new UnreachableError(`no ringstore node reachable (${this.conns.map((c) => `${c.addr}: ${c.lastError ?? c.state}`).join('; ')})`);
        }
        tried?.clear();
        continue;
      }
      try {
        const reply = await conn.request(msg, this.timeoutMs);
        this.stats.requests++;
        if (answered !== undefined) answered.by = conn;
        return reply;
      } catch (err) {
        lastErr = err;
        if (this.closed || !retryable(err) || (!idempotent && !wasNotSent(err))) {
          this.stats.failures++;
          throw err;
        }
        (tried ??= new Set()).add(conn);
        attempt++;
        this.stats.retries++;
        this.logger.debug({ node: conn.label, type: msg.type, err: (err as Error).message }, 'request failed over to another node');
        if (msg.type !== 'ring') this.refreshAfterFailure();
      }
    }
    this.stats.failures++;
    throw lastErr;
  }

  /** The first usable connection in routing order: open ones before ones still connecting. */
  private pick(key: string | null, tried: ReadonlySet<NodeConnection>): NodeConnection | null {
    // The usual case, without building the whole order: an open connection
    // to one of the key's nodes. It is the one the full order below would
    // pick, since the key's nodes come first in it.
    if (key !== null && this.view !== null) {
      const route = routeOf(this.view, key, this.region);
      const replicas = this.usableReplicas(this.view, route, tried);
      if (replicas.length > 0) return this.turn.choose(replicas);
      for (const id of route) {
        const c = this.connFor(id);
        if (c !== undefined && c.state === 'open' && !tried.has(c)) return c;
      }
    }
    const order: NodeConnection[] = [];
    const seen = new Set<NodeConnection>();
    const add = (c: NodeConnection | undefined): void => {
      if (c !== undefined && !seen.has(c)) {
        seen.add(c);
        order.push(c);
      }
    };
    if (key !== null && this.view !== null) for (const id of routeOf(this.view, key, this.region)) add(this.connFor(id));
    if (this.region !== null) for (const c of this.conns) if (c.region === this.region) add(c);
    for (const c of this.conns) add(c);
    for (const state of ['open', 'connecting'] as const) {
      for (const c of order) if (c.state === state && !tried.has(c)) return c;
    }
    return null;
  }

  /**
   * Open, untried connections to the key's N replicas, in route order; with
   * a region, only those in it while any is (a `local` request is
   * coordinated in its own region). Reuses one array.
   */
  private usableReplicas(view: RingView, route: readonly string[], tried: ReadonlySet<NodeConnection>): NodeConnection[] {
    const out = this.replicaScratch;
    out.length = 0;
    let local = false;
    for (let i = 0, n = Math.min(view.n, route.length); i < n; i++) {
      const id = route[i]!;
      const c = this.connFor(id);
      if (c === undefined || c.state !== 'open' || tried.has(c)) continue;
      const inRegion = this.region !== null && view.members.get(id)?.region === this.region;
      if (local && !inRegion) break;
      if (out.length === 0) local = inRegion;
      out.push(c);
    }
    return out;
  }

  /** The connection to member `id`: by the id its hello gave, else dialled at its announced address. */
  private connFor(id: string): NodeConnection | undefined {
    const byId = this.conns.find((c) => c.nodeId === id);
    if (byId) return byId;
    const addr = this.view?.members.get(id)?.addr;
    if (addr === undefined) return undefined;
    const byAddr = this.conns.find((c) => c.addr === addr);
    if (byAddr) return byAddr;
    if (this.closed || !ADDR.test(addr)) return undefined;
    const c = new NodeConnection(addr, this.connOptions);
    this.conns.push(c);
    return c;
  }

  private adopt(view: RingView): void {
    const before = this.view?.ring.version;
    this.view = view;
    // Dial every member now, so failover finds open connections.
    for (const id of view.members.keys()) this.connFor(id);
    if (before !== view.ring.version) {
      this.logger.info({ ringVersion: view.ring.version, members: view.members.size }, 'ring adopted');
      this.emit('ring', view.ring.version);
    }
  }

  private refreshAfterFailure(): void {
    const now = Date.now();
    if (now - this.lastFailureRefreshMs < REFRESH_AFTER_FAILURE_MIN_MS) return;
    this.lastFailureRefreshMs = now;
    this.refreshInBackground('after a failure');
  }

  private refreshInBackground(why: string): void {
    if (this.closed || this.openCount === 0) return;
    this.refreshRing().catch((err: unknown) => {
      this.logger.debug({ err: (err as Error).message, why }, 'ring refresh failed');
    });
  }

  private waitForConnection(): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (this.openCount > 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        resolve(this.openCount > 0 && !this.closed);
      };
      const timer = setTimeout(() => {
        this.connectWaiters = this.connectWaiters.filter((w) => w !== done);
        resolve(false);
      }, this.timeoutMs);
      this.connectWaiters.push(done);
    });
  }

  private opened(_c: NodeConnection): void {
    this.openCount++;
    if (this.openCount === 1) {
      const waiters = this.connectWaiters;
      this.connectWaiters = [];
      for (const w of waiters) w();
      if (!this.closed) this.emit('connect');
    }
    if (this.view === null) this.refreshInBackground('first connection');
  }

  private down(_c: NodeConnection, wasOpen: boolean): void {
    if (!wasOpen) return;
    this.openCount--;
    if (this.openCount === 0 && !this.closed) this.emit('disconnect');
    else this.refreshAfterFailure();
  }
}

function cartKey(id: string): string {
  if (typeof id !== 'string' || id.length === 0) throw new BadRequestError('cart id must be a non-empty string');
  return `cart/${id}`;
}

function requestOptions(opts: RequestOptions): RequestOptions {
  const o: RequestOptions = {};
  if (opts.r !== undefined) o.r = opts.r;
  if (opts.w !== undefined) o.w = opts.w;
  if (opts.consistency !== undefined) o.consistency = opts.consistency;
  if (opts.strict !== undefined) o.strict = opts.strict;
  return o;
}

function retryable(err: unknown): boolean {
  return err instanceof RingstoreError && RETRYABLE_CODES.has(err.code);
}

function expect<T extends ClientReply['type']>(reply: ClientReply, type: T): Extract<ClientReply, { type: T }> {
  if (typeof reply !== 'object' || reply === null || reply.type !== type) {
    throw new BadFrameError(`unexpected reply ${JSON.stringify(String((reply as { type?: unknown })?.type)).slice(0, 40)} to a request wanting ${type}`);
  }
  return reply as Extract<ClientReply, { type: T }>;
}
