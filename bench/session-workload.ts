/**
 * The session workload of issue 6, driven through the express-session Store
 * interface exactly as express-session calls it (`get(sid, cb)`,
 * `set(sid, session, cb)`), so ringstore's adapter and connect-redis are
 * measured doing the same work: `callers` concurrent loops, each op a get
 * (with probability readShare) or a set of a session picked uniformly from
 * a preloaded pool, for a fixed time.
 *
 * Sessions look like express-session's: a cookie, a user, a view counter and
 * a `data` string padded so the session's JSON is about `valueBytes`. A set
 * changes the counter and rewrites `data`, so even ringstore's adapter, which
 * sends only changed fields, ships about the whole session on every set
 * (the conservative choice: a set that changes one small field would cost
 * ringstore less and Redis the same).
 *
 * Latencies are kept per op (µs, in growable typed arrays) and completions
 * are counted per time bucket, for percentiles and the throughput timeline.
 */
import { performance } from 'node:perf_hooks';
import session from 'express-session';
import { Prng } from '../src/core/prng';

export type Store = session.Store;

export interface WorkloadOptions {
  callers: number;
  durationMs: number;
  /** Share of operations that are gets, 0..1. */
  readShare: number;
  /** Approximate JSON size of one session. */
  valueBytes: number;
  /** Sessions in the pool (preloaded before the timed part). */
  sessions: number;
  seed: number;
  /** Width of a throughput timeline bucket. */
  bucketMs?: number;
}

export interface WorkloadResult {
  ops: number;
  errors: number;
  /** The first few error messages, for the report. */
  errorSamples: string[];
  elapsedMs: number;
  getUs: Float64Array;
  setUs: Float64Array;
  /** Completed operations per bucket of bucketMs. */
  timeline: number[];
  bucketMs: number;
  /** CPU ms this (client) process used during the run. */
  clientCpuMs: number;
}

/** A growable Float64Array. */
export class Samples {
  private buf = new Float64Array(1 << 16);
  length = 0;

  push(x: number): void {
    if (this.length === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = x;
  }

  toArray(): Float64Array {
    return this.buf.slice(0, this.length);
  }
}

const PAD_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
/** Where pads are cut from; grown to the largest pad asked for. */
let padSource = PAD_ALPHABET.repeat(8);

export function sessionId(i: number): string {
  // express-session ids are 32 url-safe characters (uid-safe, 24 bytes).
  return `bench${String(i).padStart(8, '0')}${'s'.repeat(19)}`;
}

/** A session object like express-session's, whose JSON is about `valueBytes`. */
export function makeSession(i: number, valueBytes: number, version: number, expiresIso: string): session.SessionData & Record<string, unknown> {
  const s: Record<string, unknown> = {
    cookie: { originalMaxAge: 1_800_000, expires: expiresIso, secure: false, httpOnly: true, path: '/', sameSite: 'lax' },
    user: `user-${i}`,
    views: version,
    data: '',
  };
  const base = baseJsonLength(expiresIso) + decimalDigits(i) + decimalDigits(version);
  const pad = Math.max(8, valueBytes - base);
  // Different content per version: the set really rewrites the bytes.
  while (padSource.length < pad + PAD_ALPHABET.length) padSource += padSource;
  const offset = (i * 7 + version * 13) % PAD_ALPHABET.length;
  s.data = padSource.slice(offset, offset + pad);
  return s as session.SessionData & Record<string, unknown>;
}

/** The cookie expiry baseJsonLength last measured, and its length: a run uses one expiry. */
let baseExpires: string | null = null;
let baseLength = 0;

/**
 * JSON length of a session with an empty `data` and one-digit `i` and
 * `version`: the rest of a session's length is the digits of those two.
 * Serialising every session just to measure it was 8% of the bench
 * client's busy samples (docs/benchmarks.md, seventh pass), charged to both
 * systems alike.
 */
function baseJsonLength(expiresIso: string): number {
  if (expiresIso !== baseExpires) {
    const shape = {
      cookie: { originalMaxAge: 1_800_000, expires: expiresIso, secure: false, httpOnly: true, path: '/', sameSite: 'lax' },
      user: 'user-0',
      views: 0,
      data: '',
    };
    baseLength = JSON.stringify(shape).length - 2;
    baseExpires = expiresIso;
  }
  return baseLength;
}

function decimalDigits(n: number): number {
  let digits = 1;
  for (let rest = n; rest >= 10; rest = Math.floor(rest / 10)) digits++;
  return digits;
}

function call<T>(fn: (cb: (err: unknown, v?: T) => void) => void): Promise<T | undefined> {
  return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
}

/** Write every session of the pool once (untimed), `concurrency` at a time. */
export async function preload(store: Store, o: WorkloadOptions, expiresIso: string, concurrency = 64): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < o.sessions) {
      const i = next++;
      await call<void>((cb) => store.set(sessionId(i), makeSession(i, o.valueBytes, 0, expiresIso), cb));
    }
  }));
}

/**
 * Run the mix for durationMs. `onTick` is called every ~200 ms with the
 * operations completed so far (progress bars).
 */
export async function runWorkload(
  store: Store, o: WorkloadOptions, expiresIso: string, onTick?: (ops: number, elapsedMs: number) => void,
): Promise<WorkloadResult> {
  const bucketMs = o.bucketMs ?? 250;
  const getUs = new Samples();
  const setUs = new Samples();
  const timeline: number[] = [];
  const errorSamples: string[] = [];
  let errors = 0;
  let ops = 0;
  const rng = new Prng(o.seed);
  const versions = new Uint32Array(o.sessions);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + o.durationMs;
  const tick = onTick ? setInterval(() => onTick(ops, performance.now() - t0), 200) : null;

  const done = (started: number, isGet: boolean): void => {
    const now = performance.now();
    (isGet ? getUs : setUs).push((now - started) * 1000);
    ops++;
    const b = Math.floor((now - t0) / bucketMs);
    while (timeline.length <= b) timeline.push(0);
    timeline[b]!++;
  };

  await Promise.all(Array.from({ length: o.callers }, async () => {
    while (performance.now() < deadline) {
      const i = rng.int(o.sessions);
      const isGet = rng.next() < o.readShare;
      const sid = sessionId(i);
      const started = performance.now();
      try {
        if (isGet) {
          await call((cb) => store.get(sid, cb));
        } else {
          const s = makeSession(i, o.valueBytes, ++versions[i]!, expiresIso);
          await call<void>((cb) => store.set(sid, s, cb));
        }
        done(started, isGet);
      } catch (err) {
        errors++;
        if (errorSamples.length < 5) errorSamples.push(err instanceof Error ? err.message : String(err));
      }
    }
  }));
  if (tick) clearInterval(tick);
  const elapsedMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return {
    ops, errors, errorSamples, elapsedMs, getUs: getUs.toArray(), setUs: setUs.toArray(), timeline, bucketMs,
    clientCpuMs: (cpu.user + cpu.system) / 1000,
  };
}

/**
 * A Store that answers every call on the next turn and holds nothing: run
 * through the workload, it measures the harness's own CPU per operation, so
 * a report can show that neither system is capped by the client loop.
 */
export class NoopStore extends session.Store {
  constructor(private readonly sample: session.SessionData) {
    super();
  }
  override get(_sid: string, cb: (err: unknown, s?: session.SessionData | null) => void): void {
    setImmediate(() => cb(null, this.sample));
  }
  override set(_sid: string, _s: session.SessionData, cb?: (err?: unknown) => void): void {
    setImmediate(() => cb?.());
  }
  override destroy(_sid: string, cb?: (err?: unknown) => void): void {
    setImmediate(() => cb?.());
  }
}

/** The harness alone against a NoopStore for `durationMs`: ops/s and client CPU ms per operation. */
export async function harnessFloor(o: WorkloadOptions, expiresIso: string): Promise<{ opsPerS: number; clientCpuMsPerOp: number }> {
  const r = await runWorkload(new NoopStore(makeSession(0, o.valueBytes, 0, expiresIso)), o, expiresIso);
  return { opsPerS: (r.ops / r.elapsedMs) * 1000, clientCpuMsPerOp: r.clientCpuMs / r.ops };
}
