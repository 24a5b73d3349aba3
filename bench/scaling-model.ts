/**
 * The protocol's side of the linear-scaling claim (issue 6 "Scaling"),
 * measured where the machine cannot blur it: the real Coordinator and
 * Replica code over the in-memory network and storage
 * (test/replication/replication-harness.ts), at cluster sizes a 2-core
 * machine cannot run as processes. The session workload (50% get, 50%
 * set, keys uniform) is routed as RingClient routes it, to the first
 * replica of each key, and the model counts, per client operation, the peer
 * messages sent and the replica operations (reads served, writes applied)
 * each node did.
 *
 * If the design scales linearly, messages per operation stay constant as
 * nodes are added and each node's share of the work falls as N/S, evenly
 * spread (max/mean close to 1): S nodes then serve S/N times the operations
 * one replica set can, which is what docs/benchmarks.md states, with its
 * limits.
 *
 *   node dist/bench/scaling-model.js [--ops 20000] [--sizes 3,5,10,20,40]
 */
import { partitionOf } from '../src/ring/partitioner';
import { preferenceList } from '../src/ring/preference-list';
import type { ClientOp } from '../src/replication/client-op';
import { Prng } from '../src/core/prng';
import { ReplicationCluster } from '../test/replication/replication-harness';

export interface ScalingPoint {
  nodes: number;
  n: number;
  ops: number;
  messagesPerOp: number;
  /** Replica operations (reads served + writes applied) per client op, summed over nodes. */
  replicaOpsPerOp: number;
  /** Each node's share of all replica operations. */
  sharePerNode: number[];
  /** Largest share over the mean share: 1 is a perfect spread. */
  imbalance: number;
  /** Share of client operations each node coordinated, largest. */
  coordinatorShareMax: number;
  keysPerNodeMean: number;
  /**
   * CPU of this process per client op while measuring: the protocol code of
   * every node (Coordinator, Replica, CRDTs, the in-memory network and
   * storage), with no sockets and no SQLite. The floor of that code alone.
   */
  cpuUsPerOp: number;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

export async function measure(nodes: number, ops: number, keys: number, seed: number): Promise<ScalingPoint> {
  const n = Math.min(3, nodes);
  const q = Math.floor(n / 2) + 1;
  const ids = Array.from({ length: nodes }, (_, i) => `n${i + 1}`);
  const c = new ReplicationCluster(ids, { n, r: q, w: q, q: 256 });
  const served = new Map<string, number>(ids.map((id) => [id, 0]));
  const coordinated = new Map<string, number>(ids.map((id) => [id, 0]));
  for (const id of ids) {
    // Count the replica-side work of each node without touching the protocol code.
    const replica = c.node(id).replica;
    const read = replica.read.bind(replica);
    const applyNow = replica.applyNow.bind(replica);
    replica.read = (key) => { served.set(id, served.get(id)! + 1); return read(key); };
    // apply() ends in applyNow(), and the peer path calls applyNow() directly.
    replica.applyNow = (key, obj) => { served.set(id, served.get(id)! + 1); return applyNow(key, obj); };
  }
  const rng = new Prng(seed);
  const expiresAtMs = c.clock.nowMs() + 3_600_000;
  const opFor = (i: number): ClientOp => (rng.next() < 0.5
    ? { op: 'get' }
    : { op: 'session-write', set: { views: i, data: 'x'.repeat(200) }, del: [], expiresAtMs });
  // Load every key once, then measure.
  const run = async (count: number, keyOf: (i: number) => string, pick: (i: number) => ClientOp, concurrency = 64): Promise<void> => {
    let next = 0;
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const key = keyOf(i);
        // RingClient's routing: the first replica of the key.
        const coordinator = preferenceList(c.ring, partitionOf(key, c.ring.q), n)[0]!;
        coordinated.set(coordinator, coordinated.get(coordinator)! + 1);
        await c.node(coordinator).coordinator.execute(key, pick(i));
      }
    }));
  };
  await run(keys, (i) => `sess:${i}`, (i) => ({ op: 'session-write', set: { views: i }, del: [], expiresAtMs }));
  for (const id of ids) { served.set(id, 0); coordinated.set(id, 0); }
  // Let read repairs and late replies of the load phase finish before counting.
  await new Promise((r) => setTimeout(r, 50));
  const sent0 = c.hub.stats().sent;
  const cpu0 = process.cpuUsage();
  await run(ops, () => `sess:${rng.int(keys)}`, opFor);
  const cpu = process.cpuUsage(cpu0);
  await new Promise((r) => setTimeout(r, 50));
  const messages = c.hub.stats().sent - sent0;
  const total = [...served.values()].reduce((a, b) => a + b, 0);
  const shares = ids.map((id) => served.get(id)! / total);
  const mean = 1 / nodes;
  let keysHeld = 0;
  for (const id of ids) keysHeld += c.node(id).storage.size();
  return {
    nodes, n, ops,
    messagesPerOp: messages / ops,
    replicaOpsPerOp: total / ops,
    sharePerNode: shares,
    imbalance: Math.max(...shares) / mean,
    coordinatorShareMax: Math.max(...coordinated.values()) / ops,
    keysPerNodeMean: keysHeld / nodes,
    cpuUsPerOp: (cpu.user + cpu.system) / ops,
  };
}

async function main(): Promise<void> {
  const ops = Number(arg('ops', '20000'));
  const keys = Number(arg('keys', '5000'));
  const sizes = arg('sizes', '3,5,10,20,40').split(',').map(Number);
  const seed = Number(arg('seed', '42'));
  process.stdout.write(`scaling model: real Coordinator/Replica over the in-memory network, ${ops} ops (50% get, 50% session write), ${keys} keys, seed ${seed}\n`);
  process.stdout.write('nodes  N  msgs/op  replica ops/op  work share per node (mean, max/mean)  coordinated max  keys per node  CPU us/op\n');
  for (const s of sizes) {
    const p = await measure(s, ops, keys, seed);
    process.stdout.write(`${String(p.nodes).padStart(5)}  ${p.n}  ${p.messagesPerOp.toFixed(2).padStart(7)}  ${p.replicaOpsPerOp.toFixed(2).padStart(14)}  ` +
      `${(100 / p.nodes).toFixed(1).padStart(6)}%, ${p.imbalance.toFixed(2)}${' '.repeat(24)}  ${(100 * p.coordinatorShareMax).toFixed(1).padStart(6)}%  ${p.keysPerNodeMean.toFixed(0).padStart(12)}  ${p.cpuUsPerOp.toFixed(1).padStart(9)}\n`);
  }
}

if (require.main === module) {
  main().then(() => process.exit(0), (err: unknown) => {
    process.stderr.write(`scaling-model: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  });
}
