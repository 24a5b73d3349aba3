/**
 * An express-session Store backed by a ringstore cluster (DESIGN.md
 * Interfaces: Library; issue 5 part 1; docs/session-store.md is the user's
 * guide and states the exact semantics).
 *
 * Each session is a `session` value (crdt/session.ts) under `prefix + sid`:
 * a map of top-level fields, each a last-writer-wins register stamped by the
 * coordinating node's hybrid logical clock, plus an expiry, plus an
 * absorbing destroyed flag. The store talks to the cluster through
 * RingClient (partition-aware routing, failover, retries of idempotent
 * operations; every session operation is idempotent).
 *
 * Field-level merge: express-session saves the whole session object, and a
 * plain key-value store would let the later of two concurrent requests undo
 * the other's change. This store remembers, for each session object it
 * hands out, the JSON text of every field as loaded (a hidden,
 * non-enumerable property carried onto express-session's Session object by
 * createSession, with a bounded per-sid LRU as fallback), and on set sends
 * only the fields whose JSON changed (`set`) and the ones removed (`del`).
 * The server merges per field, so changes of different fields by concurrent
 * requests both survive; for one field the later HLC stamp wins. A session
 * object the store did not load (a new session, or one built by hand) is
 * written whole, and fields the cluster holds that it lacks are deleted.
 *
 * Every method takes a callback (called exactly once, on a later tick, never
 * inside the store's own promise chain, so a throwing callback cannot make
 * it fire twice) or, without one, returns a promise.
 */
import session from 'express-session';
import type { Request } from 'express';
import { RingClient, type RequestOptions, type RingClientOptions } from '../src/client/ring-client';
import { BadRequestError, ValueTooLargeError } from '../src/core/errors';
import { diffSnapshot, fieldsOf, jsonSnapshot, snapshotOf, type FieldChange, type FieldSnapshot } from './field-diff';
import { sessionExpiresAtMs } from './session-expiry';
import { SnapshotLru } from './snapshot-lru';

type SessionData = session.SessionData;
type Callback<T> = (err: any, value?: T) => void; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface RingstoreSessionStoreOptions {
  /** Cluster nodes to connect to first, as 'HOST:PORT' (the rest are learned from the ring). */
  nodes: string[];
  /** Key prefix of sessions in the cluster. Default 'sess:'. */
  prefix?: string;
  /** Seconds a session lives when its cookie has no expiry. Default 86400. */
  ttl?: number;
  /** Make touch() a no-op (expiry then only moves when the session is saved). */
  disableTouch?: boolean;
  /** Prefer this region's nodes and use `local` consistency (DESIGN.md Regions). */
  region?: string;
  /** Per-attempt request timeout of the client, ms. Default 5000. */
  timeoutMs?: number;
  /** Session ids whose loaded field snapshots are remembered (the LRU fallback). Default 10000. */
  snapshotsMax?: number;
  /** Sessions read at once by all(), length(), ids() and clear(). Default 16. */
  scanConcurrency?: number;
  /** Further RingClient options (logger, retries, ...); `nodes` and `region` above win. */
  client?: Partial<RingClientOptions>;
}

/** The hidden property: which sid a session object was loaded as, and its fields then. */
const LOADED = Symbol('ringstore.loadedFields');

interface Loaded {
  sid: string;
  snapshot: FieldSnapshot;
}

export class RingstoreSessionStore extends session.Store {
  readonly client: RingClient;
  readonly prefix: string;
  readonly ttl: number;
  readonly disableTouch: boolean;
  private readonly requestOpts: RequestOptions;
  private readonly lru: SnapshotLru;
  private readonly concurrency: number;

  constructor(options: RingstoreSessionStoreOptions) {
    super();
    if (!options || typeof options !== 'object') throw new BadRequestError('RingstoreSessionStore needs options: { nodes: [...] }');
    const { prefix = 'sess:', ttl = 86400, disableTouch = false, region } = options;
    if (typeof prefix !== 'string') throw new BadRequestError('prefix must be a string');
    if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0) throw new BadRequestError('ttl must be a positive number of seconds');
    if (region !== undefined && (typeof region !== 'string' || region.length === 0)) throw new BadRequestError('region must be a non-empty string');
    this.prefix = prefix;
    this.ttl = ttl;
    this.disableTouch = Boolean(disableTouch);
    this.requestOpts = region !== undefined ? { consistency: 'local' } : {};
    this.lru = new SnapshotLru(options.snapshotsMax ?? 10_000);
    this.concurrency = Math.max(1, Math.floor(options.scanConcurrency ?? 16));
    this.client = new RingClient({
      ...options.client,
      nodes: options.nodes,
      ...(region !== undefined ? { region } : {}),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    });
    // express-session stops using a store that emits 'disconnect' until it emits 'connect'.
    this.client.on('connect', () => this.emit('connect'));
    this.client.on('disconnect', () => this.emit('disconnect'));
  }

  // ---- the Store interface ----

  get(sid: string, callback: Callback<SessionData | null>): void;
  get(sid: string): Promise<SessionData | null>;
  get(sid: string, callback?: Callback<SessionData | null>): Promise<SessionData | null> | void {
    return finish(this.doGet(sid), callback);
  }

  set(sid: string, sess: SessionData, callback: Callback<void>): void;
  set(sid: string, sess: SessionData): Promise<void>;
  set(sid: string, sess: SessionData, callback?: Callback<void>): Promise<void> | void {
    return finish(this.doSet(sid, sess), callback);
  }

  destroy(sid: string, callback: Callback<void>): void;
  destroy(sid: string): Promise<void>;
  destroy(sid: string, callback?: Callback<void>): Promise<void> | void {
    return finish(this.doDestroy(sid), callback);
  }

  override touch(sid: string, sess: SessionData, callback: Callback<void>): void;
  override touch(sid: string, sess: SessionData): Promise<void>;
  override touch(sid: string, sess: SessionData, callback?: Callback<void>): Promise<void> | void {
    return finish(this.doTouch(sid, sess), callback);
  }

  /** Every live session (neither expired nor destroyed), each with its `id`. */
  override all(callback: Callback<Array<SessionData & { id: string }>>): void;
  override all(): Promise<Array<SessionData & { id: string }>>;
  override all(callback?: Callback<Array<SessionData & { id: string }>>): Promise<Array<SessionData & { id: string }>> | void {
    const p = this.liveSessions().then((list) => list.map(({ sid, data }) => ({ ...data, id: sid }) as SessionData & { id: string }));
    return finish(p, callback);
  }

  override length(callback: Callback<number>): void;
  override length(): Promise<number>;
  override length(callback?: Callback<number>): Promise<number> | void {
    return finish(this.liveSessions().then((list) => list.length), callback);
  }

  ids(callback: Callback<string[]>): void;
  ids(): Promise<string[]>;
  ids(callback?: Callback<string[]>): Promise<string[]> | void {
    return finish(this.liveSessions().then((list) => list.map((s) => s.sid)), callback);
  }

  /** Destroy every session under the prefix. Idempotent. */
  override clear(callback: Callback<void>): void;
  override clear(): Promise<void>;
  override clear(callback?: Callback<void>): Promise<void> | void {
    return finish(this.doClear(), callback);
  }

  /** Carry the loaded fields' snapshot onto express-session's Session object. */
  override createSession(req: Request, data: SessionData): session.Session & SessionData {
    const loaded = loadedOf(data);
    const s = super.createSession(req, data);
    if (loaded !== undefined) hide(s, loaded);
    return s;
  }

  /** Close the cluster connections; later calls fail with RS_ERR_CLOSED. */
  close(): Promise<void> {
    return this.client.close();
  }

  // ---- implementation ----

  private key(sid: unknown): string {
    if (typeof sid !== 'string' || sid.length === 0) throw new BadRequestError('session id must be a non-empty string');
    return this.prefix + sid;
  }

  private async doGet(sid: string): Promise<SessionData | null> {
    const rec = await this.client.sessionGet(this.key(sid), this.requestOpts);
    if (rec === null) {
      this.lru.delete(sid);
      return null;
    }
    const data = rec.data as Record<string, unknown>;
    // express-session's createSession reads sess.cookie; a session written
    // without one (by another client) gets one that expires with it.
    if (typeof data.cookie !== 'object' || data.cookie === null) {
      data.cookie = { originalMaxAge: null, expires: new Date(rec.expiresAtMs).toISOString(), httpOnly: true, path: '/' };
    }
    const loaded: Loaded = { sid, snapshot: snapshotOf(rec.data) };
    this.lru.set(sid, loaded.snapshot);
    hide(data, loaded);
    return data as unknown as SessionData;
  }

  private async doSet(sid: string, sess: SessionData): Promise<void> {
    const key = this.key(sid);
    if (typeof sess !== 'object' || sess === null) throw new BadRequestError('a session must be an object');
    const now = Date.now();
    const expiresAtMs = sessionExpiresAtMs(sess, now, this.ttl);
    if (expiresAtMs <= now) {
      // What connect-redis does with a non-positive TTL: the session is gone.
      await this.client.sessionDestroy(key, this.requestOpts);
      this.lru.delete(sid);
      return;
    }
    let parsed: ReturnType<typeof jsonSnapshot>;
    try {
      parsed = jsonSnapshot(sess);
    } catch (err) {
      throw new BadRequestError(`session is not JSON-serialisable: ${err instanceof Error ? err.message : String(err)}`);
    }
    const limit = this.client.limits.valueBytesMax;
    if (parsed.bytes > limit) throw new ValueTooLargeError(parsed.bytes, limit);
    const loaded = loadedOf(sess);
    const snapshot = loaded !== undefined && loaded.sid === sid ? loaded.snapshot : this.lru.get(sid);
    let change: FieldChange;
    if (snapshot !== undefined) {
      change = diffSnapshot(snapshot, parsed.snapshot);
    } else {
      // Not loaded through this store: write every field, and delete what
      // the cluster holds beyond them, so set() replaces the session.
      const current = await this.client.sessionGet(key, this.requestOpts);
      const stale = current === null ? [] : Object.keys(current.data).filter((f) => !parsed.snapshot.has(f));
      change = { set: fieldsOf(parsed.snapshot), del: stale };
    }
    await this.client.sessionWrite(key, { set: change.set, del: change.del, expiresAtMs }, this.requestOpts);
    const saved: Loaded = { sid, snapshot: parsed.snapshot };
    this.lru.set(sid, saved.snapshot);
    hide(sess, saved);
  }

  private async doDestroy(sid: string): Promise<void> {
    const key = this.key(sid);
    this.lru.delete(sid);
    await this.client.sessionDestroy(key, this.requestOpts);
  }

  private async doTouch(sid: string, sess: SessionData): Promise<void> {
    const key = this.key(sid);
    if (this.disableTouch) return;
    const now = Date.now();
    const expiresAtMs = sessionExpiresAtMs(sess, now, this.ttl);
    // Touch only extends: an expiry in the past has nothing to extend.
    if (expiresAtMs <= now) return;
    await this.client.sessionTouch(key, expiresAtMs, this.requestOpts);
  }

  private async doClear(): Promise<void> {
    const keys = await this.client.scanKeys(this.prefix);
    await forEachLimit(keys, this.concurrency, async (key) => {
      this.lru.delete(key.slice(this.prefix.length));
      await this.client.sessionDestroy(key, this.requestOpts);
    });
  }

  /**
   * Sessions under the prefix that read as live at quorum: the nodes list
   * the keys they hold live, and each is read back, so a session destroyed
   * or expired on any replica the read reaches is left out.
   */
  private async liveSessions(): Promise<Array<{ sid: string; data: SessionData }>> {
    const keys = await this.client.scanKeys(this.prefix);
    const found: Array<{ sid: string; data: SessionData } | null> = new Array(keys.length).fill(null);
    await forEachLimit(keys, this.concurrency, async (key, i) => {
      const rec = await this.client.sessionGet(key, this.requestOpts);
      if (rec !== null) found[i] = { sid: key.slice(this.prefix.length), data: rec.data as unknown as SessionData };
    });
    return found.filter((x): x is { sid: string; data: SessionData } => x !== null);
  }
}

function loadedOf(x: unknown): Loaded | undefined {
  if (typeof x !== 'object' || x === null || !Object.prototype.hasOwnProperty.call(x, LOADED)) return undefined;
  return (x as Record<symbol, Loaded>)[LOADED];
}

function hide(x: object, loaded: Loaded): void {
  if (!Object.isExtensible(x) && !Object.prototype.hasOwnProperty.call(x, LOADED)) return;
  Object.defineProperty(x, LOADED, { value: loaded, enumerable: false, writable: true, configurable: true });
}

/** Callback or promise: with a callback, call it exactly once on a later tick; without, return the promise. */
function finish<T>(p: Promise<T>, callback: Callback<T> | undefined): Promise<T> | void {
  if (typeof callback !== 'function') return p;
  p.then(
    (value) => { process.nextTick(callback, null, value); },
    (err: unknown) => { process.nextTick(callback, err); },
  );
}

async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
