/**
 * The cart as ringstore stores it (an ORSWOT, src/crdt/cart.ts) against the
 * same cart built on yjs, and against the OR-Set it replaced (issue 14;
 * DESIGN.md Data model: cart says yjs is welcome only if it meets the same
 * bound, measured). Pure and in-process: no sockets, no storage.
 *
 * Workload: three replicas of one cart, N rounds of "add sku-1, then remove
 * sku-1", each operation coordinated by a replica picked by a seeded Prng and
 * delivered to all three before the next (as the cluster test
 * test/cluster/cart-bounded.test.ts does over HTTP), so every remove has
 * observed the add it removes.
 *   - ORSWOT: the coordinator mints a dot under its actor (`nK~1`, as
 *     IdMint.actor() spells node K in epoch 1), ships cartAddDelta; a remove
 *     is cartRemove of the observed state, shipped whole. Stored bytes are
 *     encodeValue({kind: 'cart', c}) (msgpack, what SQLite holds) and
 *     objectByteSize (what /admin/replicas reports and valueBytesMax checks).
 *   - legacy OR-Set (`{adds, removed}`, before ORSWOT): an add under an id of
 *     IdMint.unique() (`nK~1~seq36`), a remove moves the observed ids into
 *     `removed`, merge = union of removed, adds minus removed; sized the same
 *     two ways (encoded as it was stored, without decodeValue's migration).
 *   - yjs, Y.Array: the reasonable yjs equivalent of these semantics: a
 *     Y.Array of plain `{sku, qty}` add entries, add = push, remove = delete
 *     every entry of the sku the replica holds, quantity = sum of entries (so
 *     two devices adding one each give 2 and an add concurrent with a remove
 *     survives, as ringstore promises). One Y.Doc per replica with clientIDs
 *     1, 2, 3 (fixed, so runs repeat; yjs picks random ones), gc on (the
 *     default), updates captured from 'update' events and applied to the
 *     other two. Stored bytes: Y.encodeStateAsUpdate(doc) (V1; V2 shown too).
 *   - yjs, Y.Map sku -> qty: what a user might write first; shown for its
 *     size only, since its semantics are weaker (concurrent adds of one sku
 *     are last-writer-wins: one device's add is lost).
 *
 * Merge time: two replicas' states, one a round behind the other (the merge
 * read repair, hinted handoff and anti-entropy do), median of many
 * repetitions timed with process.hrtime.bigint():
 *   - ORSWOT mergeCarts of decoded states, and unpack + mergeCarts + pack (a
 *     replica applying a put from the wire);
 *   - yjs Y.mergeUpdates of the two encoded states (merging without a
 *     document), and a fresh Y.Doc applying both states plus reading the
 *     items (what a server needs to answer a GET or to remove).
 *
 *   npm run bench:cart            (or: node dist/bench/cart-yjs-compare.js [--rounds 10,100,3000] [--seed S])
 */
import { pack, unpack } from 'msgpackr';
import * as Y from 'yjs';
import { Prng } from '../src/core/prng';
import {
  cartAddDelta, cartItems, cartNextCounter, cartRemove, emptyCart, mergeCarts, type CartState, type LegacyCartState,
} from '../src/crdt/cart';
import { objectByteSize, type StoredObject } from '../src/crdt/stored-object';
import { encodeValue } from '../src/storage/value-codec';

const REPLICAS = 3;
const SKU = 'sku-1';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}
const ROUNDS = (flag('--rounds') ?? '10,100,3000').split(',').map(Number);
const SEED = Number(flag('--seed') ?? Date.now() % 2 ** 31);
for (const n of [...ROUNDS, SEED]) if (!Number.isSafeInteger(n) || n < 1) throw new Error('--rounds and --seed take positive integers');

/** Stored sizes of one replica's copy. */
interface Sizes {
  stored: number;
  approx?: number;
  v2?: number;
}

/** A cart implementation driven by the workload: `after(n)` snapshots what the merge benchmark needs. */
interface Model<S> {
  add(replica: number, qty: number): void;
  remove(replica: number): void;
  items(replica: number): Record<string, number>;
  sizes(replica: number): Sizes;
  snapshot(): S;
}

// ---- ORSWOT (today's format) ----

class Orswot implements Model<CartState> {
  readonly states: CartState[] = Array.from({ length: REPLICAS }, () => emptyCart());

  add(r: number, qty: number): void {
    const actor = `n${r + 1}~1`;
    this.deliver(cartAddDelta(SKU, qty, actor, cartNextCounter(this.states[r]!, actor)));
  }

  remove(r: number): void {
    this.deliver(cartRemove(this.states[r]!, SKU));
  }

  private deliver(c: CartState): void {
    for (let k = 0; k < REPLICAS; k++) this.states[k] = mergeCarts(this.states[k]!, c);
  }

  items(r: number): Record<string, number> {
    return cartItems(this.states[r]!);
  }

  sizes(r: number): Sizes {
    const obj: StoredObject = { kind: 'cart', c: this.states[r]! };
    return { stored: encodeValue(obj).length, approx: objectByteSize(obj) };
  }

  snapshot(): CartState {
    return this.states[0]!;
  }
}

// ---- the OR-Set before ORSWOT (as the first version of cart.ts and its coordinator did it) ----

class Legacy implements Model<LegacyCartState> {
  readonly states: LegacyCartState[] = Array.from({ length: REPLICAS }, () => ({ adds: {}, removed: [] }));
  private readonly seq = Array.from({ length: REPLICAS }, () => 0);

  add(r: number, qty: number): void {
    // IdMint.unique(): node~epoch36~seq36, seq counting every id the node minted.
    const id = `n${r + 1}~1~${(++this.seq[r]!).toString(36)}`;
    const cur = this.states[r]!;
    this.deliver({ adds: sortedRecord({ ...cur.adds, [id]: [SKU, qty] }), removed: cur.removed });
  }

  remove(r: number): void {
    const cur = this.states[r]!;
    const observed = Object.keys(cur.adds).filter((id) => cur.adds[id]![0] === SKU);
    const adds = Object.fromEntries(Object.entries(cur.adds).filter(([id]) => !observed.includes(id)));
    this.deliver({ adds, removed: [...new Set([...cur.removed, ...observed])].sort() });
  }

  private deliver(c: LegacyCartState): void {
    for (let k = 0; k < REPLICAS; k++) this.states[k] = legacyMerge(this.states[k]!, c);
  }

  items(r: number): Record<string, number> {
    const sums: Record<string, number> = {};
    for (const [item, qty] of Object.values(this.states[r]!.adds)) sums[item] = (sums[item] ?? 0) + qty;
    return sums;
  }

  sizes(r: number): Sizes {
    // Packed as it was stored: encodeValue is the same pack(), and decodeValue would migrate it.
    const obj = { kind: 'cart', c: this.states[r]! } as unknown as StoredObject;
    return { stored: pack(obj).length, approx: objectByteSize(obj) };
  }

  snapshot(): LegacyCartState {
    return this.states[0]!;
  }
}

function legacyMerge(a: LegacyCartState, b: LegacyCartState): LegacyCartState {
  const removed = [...new Set([...a.removed, ...b.removed])].sort();
  const gone = new Set(removed);
  const adds: Record<string, readonly [string, number]> = {};
  for (const [id, e] of [...Object.entries(a.adds), ...Object.entries(b.adds)]) if (!gone.has(id)) adds[id] = e;
  return { adds: sortedRecord(adds), removed };
}

function sortedRecord<V>(r: Record<string, V>): Record<string, V> {
  return Object.fromEntries(Object.entries(r).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
}

// ---- yjs ----

type YEntry = { sku: string; qty: number };

/** Three Y.Docs that deliver every local update to the other two at once. */
abstract class YModel implements Model<Uint8Array> {
  readonly docs: Y.Doc[];

  constructor() {
    this.docs = Array.from({ length: REPLICAS }, (_, k) => {
      const doc = new Y.Doc({ gc: true });
      doc.clientID = k + 1;
      return doc;
    });
    for (const doc of this.docs) {
      doc.on('update', (update: Uint8Array, origin: unknown) => {
        if (origin === 'remote') return;
        for (const other of this.docs) if (other !== doc) Y.applyUpdate(other, update, 'remote');
      });
    }
  }

  abstract add(r: number, qty: number): void;
  abstract remove(r: number): void;
  abstract items(r: number): Record<string, number>;

  sizes(r: number): Sizes {
    return { stored: Y.encodeStateAsUpdate(this.docs[r]!).length, v2: Y.encodeStateAsUpdateV2(this.docs[r]!).length };
  }

  snapshot(): Uint8Array {
    return Y.encodeStateAsUpdate(this.docs[0]!);
  }
}

class YArrayCart extends YModel {
  add(r: number, qty: number): void {
    this.docs[r]!.getArray<YEntry>('cart').push([{ sku: SKU, qty }]);
  }

  remove(r: number): void {
    const doc = this.docs[r]!;
    const arr = doc.getArray<YEntry>('cart');
    doc.transact(() => {
      const all = arr.toArray();
      for (let i = all.length - 1; i >= 0; i--) if (all[i]!.sku === SKU) arr.delete(i, 1);
    });
  }

  items(r: number): Record<string, number> {
    return yArrayItems(this.docs[r]!);
  }
}

function yArrayItems(doc: Y.Doc): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const { sku, qty } of doc.getArray<YEntry>('cart').toArray()) sums[sku] = (sums[sku] ?? 0) + qty;
  return sums;
}

class YMapCart extends YModel {
  add(r: number, qty: number): void {
    const m = this.docs[r]!.getMap<number>('cart');
    m.set(SKU, (m.get(SKU) ?? 0) + qty);
  }

  remove(r: number): void {
    this.docs[r]!.getMap<number>('cart').delete(SKU);
  }

  items(r: number): Record<string, number> {
    return Object.fromEntries(this.docs[r]!.getMap<number>('cart').entries());
  }
}

// ---- the run ----

function medianNs(reps: number, fn: () => unknown): number {
  const times: number[] = [];
  for (let i = 0; i < Math.min(50, reps); i++) fn(); // warm-up
  for (let i = 0; i < reps; i++) {
    const t = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t));
  }
  times.sort((x, y) => x - y);
  return times[Math.floor(times.length / 2)]!;
}

interface Row {
  model: string;
  rounds: number;
  sizes: Sizes;
  merges: Array<[string, number]>;
}

/** Runs `rounds` rounds on a fresh model; checks the cart reads empty and the replicas agree on size. */
function drive<S>(make: () => Model<S>, rounds: number, rng: Prng): { model: Model<S>; behind: S; ahead: S } {
  const model = make();
  let behind = model.snapshot();
  for (let i = 0; i < rounds; i++) {
    if (i === rounds - 1) behind = model.snapshot();
    model.add(rng.int(REPLICAS), 1);
    model.remove(rng.int(REPLICAS));
  }
  const sizes = Array.from({ length: REPLICAS }, (_, k) => model.sizes(k).stored);
  for (let k = 0; k < REPLICAS; k++) {
    const items = model.items(k);
    if (Object.keys(items).length !== 0) throw new Error(`replica ${k} not empty after ${rounds} rounds: ${JSON.stringify(items)}`);
  }
  if (new Set(sizes).size !== 1) throw new Error(`replicas disagree on size after ${rounds} rounds: ${sizes.join(', ')}`);
  return { model, behind, ahead: model.snapshot() };
}

const repsFor = (rounds: number): number => (rounds >= 1000 ? 300 : 3000);

function main(): void {
  console.log(`cart-yjs-compare: ${REPLICAS} replicas, rounds of add+remove of one sku, coordinators from seed ${SEED} (replay with --seed ${SEED})`);
  const rows: Row[] = [];
  for (const rounds of ROUNDS) {
    const reps = repsFor(rounds);
    {
      const { model, behind, ahead } = drive(() => new Orswot(), rounds, new Prng(SEED));
      const bytesA = encodeValue({ kind: 'cart', c: ahead });
      const bytesB = encodeValue({ kind: 'cart', c: behind });
      rows.push({
        model: 'ORSWOT (today)', rounds, sizes: model.sizes(0), merges: [
          ['mergeCarts', medianNs(reps, () => mergeCarts(behind, ahead))],
          ['unpack+merge+pack', medianNs(reps, () => {
            const a = unpack(bytesA) as { c: CartState };
            const b = unpack(bytesB) as { c: CartState };
            return pack({ kind: 'cart', c: mergeCarts(b.c, a.c) });
          })],
        ],
      });
    }
    {
      const { model, behind, ahead } = drive(() => new Legacy(), rounds, new Prng(SEED));
      rows.push({ model: 'OR-Set {adds, removed} (before)', rounds, sizes: model.sizes(0), merges: [
        ['merge', medianNs(reps, () => legacyMerge(behind, ahead))],
      ] });
    }
    {
      const { model, behind, ahead } = drive(() => new YArrayCart(), rounds, new Prng(SEED));
      rows.push({
        model: 'yjs Y.Array of adds', rounds, sizes: model.sizes(0), merges: [
          ['Y.mergeUpdates', medianNs(reps, () => Y.mergeUpdates([behind, ahead]))],
          ['fresh doc applyUpdate x2 + items', medianNs(reps, () => {
            const doc = new Y.Doc({ gc: true });
            Y.applyUpdate(doc, behind);
            Y.applyUpdate(doc, ahead);
            return yArrayItems(doc);
          })],
        ],
      });
    }
    {
      const { model } = drive(() => new YMapCart(), rounds, new Prng(SEED));
      rows.push({ model: 'yjs Y.Map sku->qty (LWW adds)', rounds, sizes: model.sizes(0), merges: [] });
    }
  }
  const us = (ns: number): string => (ns / 1000).toFixed(ns < 10_000 ? 2 : 1);
  const header = ['cart', 'rounds', 'stored bytes', 'approx bytes', 'yjs V2 bytes', 'merge (median us)'];
  const lines = rows.map((r) => [
    r.model, String(r.rounds), String(r.sizes.stored), r.sizes.approx === undefined ? '-' : String(r.sizes.approx),
    r.sizes.v2 === undefined ? '-' : String(r.sizes.v2), r.merges.map(([what, ns]) => `${what} ${us(ns)}`).join('; ') || '-',
  ]);
  const widths = header.map((h, k) => Math.max(h.length, ...lines.map((l) => l[k]!.length)));
  const fmt = (cells: string[]): string => `| ${cells.map((c, k) => (k === 0 || k === 5 ? c.padEnd(widths[k]!) : c.padStart(widths[k]!))).join(' | ')} |`;
  console.log(fmt(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const l of lines) console.log(fmt(l));
  console.log('stored bytes: msgpack of {kind: "cart", c} as SQLite holds it (ORSWOT, OR-Set); Y.encodeStateAsUpdate (yjs).');
  console.log('approx bytes: objectByteSize, what /admin/replicas reports and valueBytesMax checks.');
  console.log('merge: two replicas one round apart; median of many runs, process.hrtime.bigint().');
}

main();
