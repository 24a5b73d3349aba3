/**
 * Harness for the membership tests (docs/membership.md): real `ringstore
 * node` processes on loopback started with chosen seeds (process-cluster.ts
 * always seeds every node), killed with SIGKILL or stopped with SIGTERM;
 * writer workers that remember every acknowledged write; checkers that read
 * every acknowledged key back, and that open each stopped node's SQLite file
 * to compare the copies every replica holds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { dvvValues } from '../../src/clock/dvv';
import { DEFAULT_CONFIG } from '../../src/core/config';
import { asNodeId } from '../../src/core/ids';
import type { MembershipSettings } from '../../src/membership/gossiper';
import type { StoredObject } from '../../src/crdt/stored-object';
import type { MemberRecord } from '../../src/membership/member-table';
import { partitionOf } from '../../src/ring/partitioner';
import { preferenceList } from '../../src/ring/preference-list';
import { buildRing, type Ring } from '../../src/ring/ring';
import { SqliteStorage } from '../../src/storage/sqlite-storage';
import { freePorts, sleep, waitFor } from './process-cluster';

const BIN = path.resolve(__dirname, '../../../bin/ringstore.js');

/**
 * Detector settings of the test nodes: short intervals (200 ms gossip,
 * suspect after ~1 s of silence, down 1 s later), or the production
 * defaults of core/config.ts with RINGSTORE_TEST_DETECTOR=default (to
 * measure them; docs/membership.md).
 */
export const DETECTOR_SETTINGS: MembershipSettings = process.env.RINGSTORE_TEST_DETECTOR === 'default'
  ? {
    gossipIntervalMs: DEFAULT_CONFIG.gossipIntervalMs, gossipFanout: DEFAULT_CONFIG.gossipFanout, phiSuspect: DEFAULT_CONFIG.phiSuspect,
    heartbeatPauseMs: DEFAULT_CONFIG.heartbeatPauseMs, downAfterMs: DEFAULT_CONFIG.downAfterMs,
  }
  : { gossipIntervalMs: 200, gossipFanout: 3, phiSuspect: 8, heartbeatPauseMs: 400, downAfterMs: 1000 };

export const FAST_ARGS = [
  '--gossip-interval-ms', String(DETECTOR_SETTINGS.gossipIntervalMs),
  '--heartbeat-pause-ms', String(DETECTOR_SETTINGS.heartbeatPauseMs),
  '--down-after-ms', String(DETECTOR_SETTINGS.downAfterMs),
  '--handoff-interval-ms', '250', '--partitions', '128',
];

export interface MemberSpec {
  id: string;
  port: number;
  region: string;
  dataDir: string;
}

export interface MemberStatus {
  id: string;
  ringVersion: string;
  members: Array<{ id: string; state: string; silentMs?: number | null }>;
  partitions: { total: number; owned: number };
  hints: { pending: number };
  keys: number;
  /** The tombstone reaper's view (docs/operations.md, Tombstones). */
  tombstones?: { held: number; reaped: number; confirmed: number };
  epoch: number;
  handoff: {
    active: number; done: number; total: number; keysSent: number; bytesSent: number; mbPerSec: number;
    startedAtMs: number | null; finishedAtMs: number | null;
    incoming?: { active: number; done: number; keys: number };
  };
  leave: { state: string; keys: number; hints: number; pendingPartitions: number };
}

export class MemberCluster {
  private readonly procs = new Map<string, ChildProcess>();

  private constructor(readonly specs: MemberSpec[], readonly root: string, private readonly extraArgs: string[]) {}

  static async create(opts: { nodes: number; regions?: string[]; extraArgs?: string[] }): Promise<MemberCluster> {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ringstore-members-'));
    const ports = await freePorts(opts.nodes);
    const regions = opts.regions ?? ['r1', 'r2', 'r3'];
    const specs = ports.map((port, i) => ({
      id: `n${i + 1}`, port, region: regions[i % regions.length]!, dataDir: path.join(root, `n${i + 1}`),
    }));
    return new MemberCluster(specs, root, opts.extraArgs ?? FAST_ARGS);
  }

  ids(): string[] {
    return this.specs.map((s) => s.id);
  }

  spec(id: string): MemberSpec {
    const s = this.specs.find((x) => x.id === id);
    if (!s) throw new Error(`no node ${id}`);
    return s;
  }

  addr(id: string): string {
    return `127.0.0.1:${this.spec(id).port}`;
  }

  url(id: string, p: string): string {
    return `http://${this.addr(id)}${p}`;
  }

  /** Start (or restart) a node; `seeds` are node ids (default: the first node). */
  start(id: string, seeds: string[] = [this.specs[0]!.id]): void {
    const s = this.spec(id);
    fs.mkdirSync(s.dataDir, { recursive: true });
    const log = fs.openSync(path.join(s.dataDir, 'node.log'), 'a');
    const child = spawn(process.execPath, [
      BIN, 'node', '--id', s.id, '--port', String(s.port), '--data', s.dataDir, '--region', s.region,
      '--seeds', seeds.map((x) => this.addr(x)).join(','), ...this.extraArgs,
    ], { stdio: ['ignore', log, log], env: { ...process.env, RINGSTORE_LOG_LEVEL: process.env.RINGSTORE_LOG_LEVEL ?? 'info' } });
    fs.closeSync(log);
    this.procs.set(id, child);
  }

  running(id: string): boolean {
    const p = this.procs.get(id);
    return p !== undefined && p.exitCode === null && p.signalCode === null;
  }

  /** SIGKILL: no shutdown hooks run. */
  async kill(id: string): Promise<void> {
    await this.signal(id, 'SIGKILL');
  }

  /** SIGTERM: the node closes cleanly (storage flushed). */
  async stop(id: string): Promise<void> {
    await this.signal(id, 'SIGTERM');
  }

  async stopAll(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await Promise.all([...this.procs.keys()].map((id) => this.signal(id, signal)));
  }

  cleanup(): void {
    if (process.env.RINGSTORE_KEEP_TEST_DATA) {
      console.log(`      test data kept in ${this.root}`);
      return;
    }
    fs.rmSync(this.root, { recursive: true, force: true });
  }

  log(id: string): string {
    try {
      return fs.readFileSync(path.join(this.spec(id).dataDir, 'node.log'), 'utf8');
    } catch {
      return '';
    }
  }

  /** Print the tail of every node's log (for a failed test). */
  dumpLogs(chars = 3000): void {
    for (const s of this.specs) console.log(`--- ${s.id} log tail\n${this.log(s.id).slice(-chars)}`);
  }

  async status(id: string): Promise<MemberStatus> {
    const res = await fetch(this.url(id, '/admin/status'), { signal: AbortSignal.timeout(5000) });
    if (!res.ok) throw new Error(`status of ${id}: ${res.status}`);
    return (await res.json()) as MemberStatus;
  }

  /** Wait until every node in `ids` sees every node in `ids` alive and all report one ring version. */
  async waitConverged(ids: string[], timeoutMs = 20_000): Promise<{ ringVersion: string; ms: number }> {
    const t0 = Date.now();
    let version = '';
    await waitFor(`${ids.join(',')} alive everywhere with one ring`, async () => {
      const all = await Promise.all(ids.map((id) => this.status(id)));
      version = all[0]!.ringVersion;
      return all.every((st) => st.ringVersion === version &&
        ids.every((o) => st.members.find((m) => m.id === o)?.state === 'alive'));
    }, timeoutMs, 50);
    return { ringVersion: version, ms: Date.now() - t0 };
  }

  /** Wait until no node in `ids` has a partition moving to or from it, and no hints. */
  async waitHandoffDone(ids: string[], timeoutMs = 40_000): Promise<void> {
    await waitFor('handoff and hinted handoff done everywhere', async () => {
      const all = await Promise.all(ids.map((id) => this.status(id)));
      return all.every((st) => st.handoff.active === 0 && st.hints.pending === 0);
    }, timeoutMs, 200);
  }

  private async signal(id: string, sig: NodeJS.Signals): Promise<void> {
    const p = this.procs.get(id);
    if (!p) return;
    if (p.exitCode === null && p.signalCode === null) {
      const exited = new Promise((r) => p.once('exit', r));
      p.kill(sig);
      await exited;
    }
    this.procs.delete(id);
  }
}

/**
 * `workers` loops that each run rounds through the running nodes of
 * `via()` until stop(), waiting while none runs; subclasses say what a
 * round does.
 */
abstract class WorkerLoops {
  private stopped = false;
  private loops: Promise<void>[] = [];

  constructor(
    protected readonly c: MemberCluster,
    protected readonly opts: { workers: number; prefix: string; via: () => string[]; pauseMs?: number },
  ) {}

  start(): void {
    for (let w = 0; w < this.opts.workers; w++) this.loops.push(this.loop(w));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  /** Round `i` of worker `w`, through one or more of the running nodes `via`. */
  protected abstract round(w: number, i: number, via: string[]): Promise<void>;

  private async loop(w: number): Promise<void> {
    for (let i = 0; !this.stopped; i++) {
      const via = this.opts.via().filter((id) => this.c.running(id));
      if (via.length === 0) {
        await sleep(50);
        continue;
      }
      await this.round(w, i, via);
      if (this.opts.pauseMs) await sleep(this.opts.pauseMs);
    }
  }
}

/** Writers that PUT unique keys through random running nodes and remember each acknowledged write. */
export class Writers extends WorkerLoops {
  readonly acked = new Map<string, string>();
  /** Writes not acknowledged: `refused` answered with an error status, the rest were cut off (node killed, not up yet). */
  failed = 0;
  refused = 0;
  readonly refusals: string[] = [];
  private readonly pad: string;

  constructor(c: MemberCluster, opts: { workers: number; prefix: string; valueBytes?: number; via: () => string[]; pauseMs?: number }) {
    super(c, opts);
    this.pad = 'x'.repeat(Math.max(0, (opts.valueBytes ?? 64) - 16));
  }

  protected async round(w: number, i: number, via: string[]): Promise<void> {
    const node = via[(i * 7 + w) % via.length]!;
    const key = `${this.opts.prefix}-${w}-${i}`;
    const value = `${w}:${i}:${this.pad}`;
    try {
      const res = await fetch(this.c.url(node, `/kv/${key}`), {
        method: 'PUT', body: value, headers: { 'Content-Type': 'text/plain' }, signal: AbortSignal.timeout(10_000),
      });
      await res.arrayBuffer();
      if (res.status >= 200 && res.status < 300) this.acked.set(key, value);
      else {
        this.failed++;
        this.refused++;
        if (this.refusals.length < 10) this.refusals.push(`${node} ${res.status}`);
      }
    } catch {
      // The node died under us: not acknowledged, so not owed.
      this.failed++;
    }
  }
}

/**
 * Deleters: each round PUTs a unique key through one running node and, once
 * that is acknowledged, DELETEs it through another with the context the PUT
 * returned, so the delete covers exactly that write. `deleted` holds the
 * keys whose PUT and DELETE were both acknowledged: they must read absent
 * on every replica for good. A key whose DELETE was not acknowledged is
 * ambiguous and not owed either way.
 */
export class Deleters extends WorkerLoops {
  readonly deleted = new Set<string>();
  puts = 0;
  /** PUTs and DELETEs not acknowledged: answered with an error status, or cut off (node killed, not up yet). */
  putsFailed = 0;
  deletesFailed = 0;
  readonly refusals: string[] = [];

  protected async round(w: number, i: number, via: string[]): Promise<void> {
    const key = `${this.opts.prefix}-${w}-${i}`;
    try {
      const put = await fetch(this.c.url(via[(i * 5 + w) % via.length]!, `/kv/${key}`), {
        method: 'PUT', body: `${w}:${i}`, headers: { 'Content-Type': 'text/plain' }, signal: AbortSignal.timeout(10_000),
      });
      await put.arrayBuffer();
      const context = put.headers.get('x-ringstore-context');
      if (put.status < 200 || put.status >= 300 || context === null) {
        this.putsFailed++;
        if (this.refusals.length < 10) this.refusals.push(`PUT ${put.status}`);
        return;
      }
      this.puts++;
      const del = await fetch(this.c.url(via[(i * 5 + w + 1) % via.length]!, `/kv/${key}`), {
        method: 'DELETE', headers: { 'X-Ringstore-Context': context }, signal: AbortSignal.timeout(10_000),
      });
      await del.arrayBuffer();
      if (del.status >= 200 && del.status < 300) this.deleted.add(key);
      else {
        this.deletesFailed++;
        if (this.refusals.length < 10) this.refusals.push(`DELETE ${del.status}`);
      }
    } catch {
      if (this.deleted.size + this.deletesFailed < this.puts) this.deletesFailed++;
      else this.putsFailed++;
    }
  }
}

/** Read every deleted key back through `via` with r=`r`; returns those that do not read 404. */
export function readBackDeleted(c: MemberCluster, deleted: Set<string>, via: string[], r: number, concurrency = 16): Promise<string[]> {
  return readEveryKey(c, [...deleted], via, r, concurrency, (status) => status === 404);
}

/** Read every key back through `via` with r=`r`; returns the keys whose value is missing or wrong. */
export function readBack(
  c: MemberCluster, written: Map<string, string>, via: string[], r: number, concurrency = 16,
): Promise<string[]> {
  return readEveryKey(c, [...written.keys()], via, r, concurrency, (status, body, key) =>
    // 300: concurrent versions. For these unique, blind writes that only happens when a
    // forwarded put was retried on a second replica after a timeout, which writes the same
    // value twice; the write is present, which is what this checks.
    (status === 200 && body === written.get(key)) ||
    (status === 300 && siblingsOf(body).includes(written.get(key)!)));
}

/**
 * GET every key with r=`r`, `concurrency` at a time, each through the next
 * node of `via`; a read is retried (3 attempts) after a 503 or a network
 * error. Returns "key via node: last answer" for each read `good` refused.
 */
async function readEveryKey(
  c: MemberCluster, keys: string[], via: string[], r: number, concurrency: number,
  good: (status: number, body: string, key: string) => boolean,
): Promise<string[]> {
  const bad: string[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < keys.length) {
      const key = keys[next++]!;
      const node = via[next % via.length]!;
      let ok = false;
      let why = '';
      for (let attempt = 0; attempt < 3 && !ok; attempt++) {
        try {
          const res = await fetch(c.url(node, `/kv/${key}?r=${r}`), { signal: AbortSignal.timeout(10_000) });
          const body = await res.text();
          ok = good(res.status, body, key);
          why = `${res.status} ${body.slice(0, 80)}`;
          if (!ok && res.status !== 503) break;
          if (!ok) await sleep(200);
        } catch (err) {
          why = (err as Error).message;
          await sleep(100);
        }
      }
      if (!ok) bad.push(`${key} via ${node}: ${why}`);
    }
  }));
  return bad;
}

function siblingsOf(body: string): string[] {
  try {
    return ((JSON.parse(body) as { siblings: string[] }).siblings ?? []).map((b) => Buffer.from(b, 'base64').toString());
  } catch {
    return [];
  }
}

/**
 * With every node stopped: open each node's SQLite file and check that every
 * replica of each key (under the ring of the nodes' saved member table)
 * holds the acknowledged value. Returns the (key, replica) pairs that do not.
 */
export async function replicaCopiesMissing(c: MemberCluster, written: Map<string, string>, n = 3): Promise<string[]> {
  const stores = new Map<string, SqliteStorage<StoredObject>>();
  try {
    for (const s of c.specs) {
      const file = path.join(s.dataDir, 'ringstore.db');
      if (fs.existsSync(file)) stores.set(s.id, await SqliteStorage.open<StoredObject>(file));
    }
    const ring = ringFromMeta([...stores.values()][0]!);
    const missing: string[] = [];
    for (const [key, value] of written) {
      for (const id of preferenceList(ring, partitionOf(key, ring.q), n)) {
        const store = stores.get(id);
        const own = store?.get(key);
        if (!own || !opaqueBodies(own).includes(value)) missing.push(`${key}@${id}`);
      }
    }
    return missing;
  } finally {
    for (const s of stores.values()) await s.close();
  }
}

/**
 * Open every stopped node's SQLite file and list the (key, node) copies of
 * deleted keys that still hold a live value (a tombstone, or nothing once
 * reaped, is what a delete leaves).
 */
export async function deletedCopiesLive(c: MemberCluster, deleted: Set<string>): Promise<string[]> {
  const live: string[] = [];
  for (const s of c.specs) {
    const file = path.join(s.dataDir, 'ringstore.db');
    if (!fs.existsSync(file)) continue;
    const store = await SqliteStorage.open<StoredObject>(file);
    try {
      for (const key of deleted) {
        const own = store.get(key);
        if (own && opaqueBodies(own).length > 0) live.push(`${key}@${s.id}: ${opaqueBodies(own).join('|')}`);
      }
    } finally {
      await store.close();
    }
  }
  return live;
}

function ringFromMeta(store: SqliteStorage<StoredObject>): Ring {
  const members = JSON.parse(store.getMeta('members') ?? '[]') as MemberRecord[];
  const q = Number(store.getMeta('ring.partitions'));
  return buildRing(members.filter((m) => m.status === 'alive').map((m) => ({ id: asNodeId(m.id), region: m.region, joinedAtMs: m.joinedAtMs })), q);
}

export function opaqueBodies(obj: StoredObject): string[] {
  if (obj.kind !== 'opaque') return [];
  return dvvValues(obj.dvv).filter((v): v is NonNullable<typeof v> => v !== null).map((v) => Buffer.from(v.b).toString());
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
