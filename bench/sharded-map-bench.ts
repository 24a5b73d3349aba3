/**
 * What sharding costs a look-up and buys a removal (src/storage/sharded-map.ts;
 * docs/sessions-ttl.md): 1,000,000 session-like keys in one Map and in a
 * ShardedMap, timing set, get (three passes) and the longest batch of 500
 * deletes (the table rebuilds a sweep would meet).
 *
 *   node dist/bench/sharded-map-bench.js [--keys 1000000]
 */
import { performance } from 'node:perf_hooks';
import { ShardedMap } from '../src/storage/sharded-map';

interface MapLike {
  set(k: string, v: object): unknown;
  get(k: string): object | undefined;
  delete(k: string): boolean;
}

function measure(name: string, m: MapLike, keys: string[]): void {
  let t = performance.now();
  for (const k of keys) m.set(k, { k });
  const setNs = ((performance.now() - t) * 1e6) / keys.length;
  t = performance.now();
  let found = 0;
  for (let pass = 0; pass < 3; pass++) for (const k of keys) if (m.get(k) !== undefined) found++;
  const getNs = ((performance.now() - t) * 1e6) / (3 * keys.length);
  if (found !== 3 * keys.length) throw new Error(`${name}: lost keys`);
  let worstMs = 0;
  for (let i = 0; i < keys.length; i += 500) {
    t = performance.now();
    for (let j = i; j < Math.min(keys.length, i + 500); j++) m.delete(keys[j]!);
    worstMs = Math.max(worstMs, performance.now() - t);
  }
  process.stdout.write(`${name.padEnd(10)} set ${setNs.toFixed(0)} ns/key, get ${getNs.toFixed(0)} ns/key, ` +
    `longest batch of 500 deletes ${worstMs.toFixed(1)} ms\n`);
}

const i = process.argv.indexOf('--keys');
const n = i > 0 ? Number(process.argv[i + 1]) : 1_000_000;
if (!Number.isSafeInteger(n) || n < 1000) throw new Error('--keys must be an integer >= 1000');
const keys = Array.from({ length: n }, (_, k) => `sess:${k.toString(36)}`);
for (let round = 0; round < 2; round++) {
  measure('Map', new Map<string, object>(), keys);
  measure('ShardedMap', new ShardedMap<object>(), keys);
}
process.stdout.write(`(${n} keys, node ${process.version}; rounds alternate so drift falls on both)\n`);
