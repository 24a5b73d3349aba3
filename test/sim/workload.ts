/**
 * The simulated clients (DESIGN.md Data model): opaque puts by blind writers
 * and by clients that read and then write back with the context they read,
 * deletes with and without a context, cart adds/removes/sets, session field
 * writes, touches and destroys with TTLs on virtual time, and reads of all of
 * them. Keys are few and hot, plus a colder tail, so writes collide.
 *
 * The plan (what, when, on which key, through which of the live nodes) is
 * drawn up front from its own random stream, so removing a fault (shrinking)
 * does not change the workload. Every value a client writes is unique in the
 * run, which is how the checks find a write again among the siblings, cart
 * entries and session fields.
 */
import type { Random } from '../../src/core/prng';
import type { ClientOp, RequestOptions } from '../../src/replication/client-op';
import type { StoredObject } from '../../src/crdt/stored-object';
import { compareDots } from '../../src/clock/dot';
import { vvCovers } from '../../src/clock/version-vector';
import type { EventQueue } from './event-queue';
import type { History, OpKind, OpRecord } from './history';
import { trueNowMs } from './sim-clock';
import type { SimNode } from './sim-node';

export type PlanKind =
  | 'get'
  | 'put-blind'
  | 'put-after-read'
  | 'delete-after-read'
  | 'delete-blind'
  | 'cart-add'
  | 'cart-remove'
  | 'cart-set'
  | 'cart-get'
  | 'session-write'
  | 'session-touch'
  | 'session-destroy'
  | 'session-get';

export interface PlannedOp {
  readonly atMs: number;
  readonly kind: PlanKind;
  readonly key: string;
  /** Uniform in [0, 1): picks the coordinator among the nodes up at that time. */
  readonly via: number;
  /** The same for the write of a read-then-write. */
  readonly via2: number;
  readonly opts: RequestOptions;
  readonly item: string;
  readonly qty: number;
  readonly fields: string[];
  readonly delField: boolean;
  readonly ttlMs: number;
}

const WEIGHTS: [PlanKind, number][] = [
  ['get', 8],
  ['put-blind', 10],
  ['put-after-read', 14],
  ['delete-after-read', 3],
  ['delete-blind', 2],
  ['cart-add', 10],
  ['cart-remove', 4],
  ['cart-set', 3],
  ['cart-get', 3],
  ['session-write', 10],
  ['session-touch', 4],
  ['session-destroy', 1],
  ['session-get', 3],
];

const ITEMS = ['sku-0', 'sku-1', 'sku-2', 'sku-3'];
const SESSION_FIELDS = ['a', 'b', 'c', 'd'];

export interface WorkloadShape {
  /** Mean virtual ms between client arrivals. */
  meanGapMs: number;
  /** Whether nodes are spread over more than one region (then some requests ask for local consistency). */
  multiRegion: boolean;
}

function pickWeighted(random: Random): PlanKind {
  const total = WEIGHTS.reduce((s, [, w]) => s + w, 0);
  let x = random.next() * total;
  for (const [k, w] of WEIGHTS) {
    if ((x -= w) < 0) return k;
  }
  return WEIGHTS[0]![0];
}

function keyFor(kind: PlanKind, random: Random): string {
  if (kind.startsWith('cart')) return `cart/${random.int(4)}`;
  if (kind.startsWith('session')) return `sess/${random.int(6)}`;
  // Opaque: mostly a few hot keys, sometimes a colder one.
  return random.next() < 0.75 ? `kv/h${random.int(6)}` : `kv/c${random.int(40)}`;
}

/** Draws `count` client arrivals starting at `startMs`. */
export function planWorkload(random: Random, count: number, startMs: number, shape: WorkloadShape): PlannedOp[] {
  const plan: PlannedOp[] = [];
  let t = startMs;
  for (let i = 0; i < count; i++) {
    // Exponential gaps (a Poisson arrival process), bounded so one gap cannot swallow the run.
    t += Math.min(-Math.log(1 - random.next()) * shape.meanGapMs, shape.meanGapMs * 8);
    const kind = pickWeighted(random);
    const key = keyFor(kind, random);
    const o = random.next();
    const opts: RequestOptions =
      o < 0.05 ? { w: 1 } : o < 0.1 ? { w: 3 } : o < 0.13 ? { r: 1 } : shape.multiRegion && o < 0.2 ? { consistency: 'local' } : {};
    const fieldCount = 1 + random.int(2);
    const fields: string[] = [];
    for (let f = 0; f < fieldCount; f++) {
      const name = SESSION_FIELDS[random.int(SESSION_FIELDS.length)]!;
      if (!fields.includes(name)) fields.push(name);
    }
    plan.push({
      atMs: t,
      kind,
      key,
      via: random.next(),
      via2: random.next(),
      opts,
      item: ITEMS[random.int(ITEMS.length)]!,
      qty: random.next() < 0.1 ? 0 : 1,
      fields,
      delField: random.next() < 0.15,
      ttlMs: 1_000 + random.int(14_000),
    });
  }
  return plan;
}

/** Runs planned operations against the simulated nodes and records them in the history. */
export class Workload {
  /** Unique quantities and values: the run's client-side identity of each write. */
  private unique = 0;
  private afterAck: ((op: OpRecord, node: SimNode) => void) | null = null;

  constructor(
    private readonly queue: EventQueue,
    private readonly nodes: readonly SimNode[],
    private readonly history: History,
    private readonly log: (text: string) => void,
    private readonly onLiveOpsChange: () => void = () => undefined,
  ) {}

  /** Call `fn` once, right after the next write is acknowledged to its client. */
  armAfterAck(fn: (op: OpRecord, node: SimNode) => void): void {
    this.afterAck = fn;
  }

  disarm(): void {
    this.afterAck = null;
  }

  /** Schedules every planned operation on the queue. */
  schedule(plan: readonly PlannedOp[]): void {
    for (const p of plan) this.queue.schedule(Math.max(0, p.atMs - this.queue.now()), () => this.start(p), `client ${p.kind} ${p.key}`);
  }

  private pick(u: number): SimNode | undefined {
    const up = this.nodes.filter((n) => n.isUp());
    return up.length === 0 ? undefined : up[Math.floor(u * up.length)];
  }

  private start(p: PlannedOp): void {
    const node = this.pick(p.via);
    if (!node) {
      this.log(`client ${p.kind} ${p.key} skipped: no node up`);
      return;
    }
    switch (p.kind) {
      case 'get':
      case 'cart-get':
      case 'session-get':
        void this.run(node, { kind: 'get', key: p.key }, { op: 'get' }, p.opts);
        return;
      case 'put-blind':
        void this.put(node, p, {});
        return;
      case 'delete-blind': {
        void this.run(node, { kind: 'delete', key: p.key, context: null }, { op: 'delete', context: null }, p.opts);
        return;
      }
      case 'put-after-read':
      case 'delete-after-read': {
        void this.run(node, { kind: 'get', key: p.key }, { op: 'get' }, {}).then((read) => {
          if (read === undefined) return; // the read failed: this client gives up
          const ctx = read && read.kind === 'opaque' ? read.dvv.vv : {};
          const writer = this.pick(p.via2);
          if (!writer) return;
          if (p.kind === 'put-after-read') void this.put(writer, p, ctx);
          else void this.run(writer, { kind: 'delete', key: p.key, context: ctx }, { op: 'delete', context: ctx }, p.opts);
        });
        return;
      }
      case 'cart-add':
      case 'cart-set': {
        const qty = p.kind === 'cart-set' && p.qty === 0 ? 0 : ++this.unique;
        const kind: OpKind = p.kind;
        void this.run(node, { kind, key: p.key, item: p.item, qty }, { op: 'cart', action: p.kind === 'cart-add' ? 'add' : 'set', item: p.item, qty }, p.opts);
        return;
      }
      case 'cart-remove':
        void this.run(node, { kind: 'cart-remove', key: p.key, item: p.item }, { op: 'cart', action: 'remove', item: p.item, qty: 0 }, p.opts);
        return;
      case 'session-write': {
        const set: Record<string, string> = {};
        const del: string[] = [];
        p.fields.forEach((f, i) => {
          if (p.delField && i === p.fields.length - 1) del.push(f);
          else set[f] = `v${++this.unique}`;
        });
        const expiresAtMs = trueNowMs(this.queue) + p.ttlMs;
        void this.run(node, { kind: 'session-write', key: p.key, set, del, expiresAtMs }, { op: 'session-write', set, del, expiresAtMs }, p.opts);
        return;
      }
      case 'session-touch': {
        const expiresAtMs = trueNowMs(this.queue) + p.ttlMs;
        void this.run(node, { kind: 'session-touch', key: p.key, expiresAtMs }, { op: 'session-touch', expiresAtMs }, p.opts);
        return;
      }
      case 'session-destroy':
        void this.run(node, { kind: 'session-destroy', key: p.key }, { op: 'session-destroy' }, p.opts);
        return;
    }
  }

  private put(node: SimNode, p: PlannedOp, context: Record<string, number>): Promise<StoredObject | null | undefined> {
    const value = `w${++this.unique}`;
    const body = new Uint8Array(Buffer.from(value));
    return this.run(node, { kind: 'put', key: p.key, value, context }, { op: 'put', ct: 'text/plain', body, context }, p.opts);
  }

  /**
   * Runs one operation through `node`'s coordinator; resolves with its answer
   * when acknowledged, undefined otherwise.
   */
  private run(
    node: SimNode,
    fields: Omit<OpRecord, 'id' | 'endMs' | 'outcome' | 'node' | 'startMs'>,
    op: ClientOp,
    opts: RequestOptions,
  ): Promise<StoredObject | null | undefined> {
    const rec = this.history.begin({ ...fields, node: node.id, startMs: this.queue.now() });
    const incarnation = node.incarnation;
    const detail = rec.value !== undefined ? ` value=${rec.value}` : rec.qty !== undefined && rec.qty > 0 ? ` qty=${rec.qty}` : '';
    const ctx = rec.context === undefined ? '' : ` ctx=${rec.context === null ? 'read' : JSON.stringify(rec.context)}`;
    this.log(`op#${rec.id} ${rec.kind} ${rec.key} via ${node.id} start ${JSON.stringify(opts)}${detail}${ctx}`);
    this.onLiveOpsChange();
    // A client's connection dies with its coordinator: whatever that
    // incarnation answers later never reaches the client.
    const cutOff = (): boolean => node.incarnation !== incarnation || !node.isUp();
    return node.coordinator.execute(rec.key, op, opts).then(
      (obj) => {
        if (cutOff()) {
          this.history.settle(rec, 'unknown', this.queue.now());
          this.log(`op#${rec.id} cut off`);
          return undefined;
        }
        this.history.settle(rec, 'ok', this.queue.now());
        rec.result = obj;
        identify(rec, obj);
        this.log(`op#${rec.id} ok${rec.dot ? ` dot=${rec.dot[0]}:${rec.dot[1]}` : ''}${rec.addDot ? ` add=${rec.addDot[0]}#${rec.addDot[1]}` : ''}`);
        const armed = this.afterAck;
        if (armed && rec.kind !== 'get') {
          this.afterAck = null;
          armed(rec, node);
        }
        return obj;
      },
      (err: unknown) => {
        this.history.settle(rec, cutOff() ? 'unknown' : 'failed', this.queue.now());
        rec.error = (err as { code?: string }).code ?? String(err);
        this.log(`op#${rec.id} ${rec.outcome} ${rec.error}`);
        return undefined;
      },
    ).finally(this.onLiveOpsChange);
  }
}

/**
 * Finds an acknowledged write in the coordinator's answer: the sibling with
 * the put's unique body, the one new tombstone of a delete, the cart entry
 * with the add's unique quantity.
 */
function identify(rec: OpRecord, obj: StoredObject | null): void {
  if (obj === null) return;
  if (obj.kind === 'opaque' && rec.kind === 'put') {
    const mine = obj.dvv.siblings.filter((s) => s.value !== null && Buffer.from(s.value.b).toString() === rec.value);
    if (mine.length > 0) rec.dot = [...mine].sort((a, b) => compareDots(a.dot, b.dot))[0]!.dot;
  } else if (obj.kind === 'opaque' && rec.kind === 'delete') {
    const ctx = rec.context;
    const fresh = obj.dvv.siblings.filter((s) => s.value === null && (ctx === null || ctx === undefined || !vvCovers(ctx, s.dot)));
    if (fresh.length === 1) rec.dot = fresh[0]!.dot;
  } else if (obj.kind === 'cart' && (rec.kind === 'cart-add' || rec.kind === 'cart-set') && (rec.qty ?? 0) > 0) {
    const found = obj.c.entries.find(([, , item, qty]) => item === rec.item && qty === rec.qty);
    if (found) rec.addDot = [found[0], found[1]];
  }
}
