/**
 * One deterministic simulation run (issue 4; after FoundationDB's simulator
 * and TigerBeetle's VOPR): a seed fixes the cluster (3-6 nodes over 1-3
 * regions, disk speeds, link latencies, clock skews), the client workload and
 * the fault schedule; the real Coordinator, Replica and HintedHandoff run
 * over MemoryStorage and MemoryHub on one virtual event queue; at the end
 * the faults stop and the invariants of invariants.ts are checked.
 *
 * Phases:
 *  1. load: clients and faults as scheduled;
 *  2. heal: partitions, cuts, slow links, drops and duplicates end, every
 *     down node restarts; the run waits for every client operation to settle
 *     and every hint to be delivered, and for a membership change in flight
 *     (join, leave; membership.ts) to finish its partition handoff;
 *  3. anti-entropy: Merkle-tree exchanges (replication/anti-entropy) of
 *     every partition between every pair of its replicas on the final ring,
 *     over the simulated network, in rounds until a round repairs nothing;
 *  4. repair sweep, the fallback check: a read at R = N of every key ever
 *     written, through a random member, repeated until a sweep makes no read
 *     repair. After anti-entropy it should repair nothing; what it does
 *     repair is reported (sweepRepairs);
 *  4b. (reap runs only) reaping: the run goes on until every tombstone is
 *     reaped (tombstone-reaper.ts), then reads every opaque key once more;
 *  5. checks, against the replicas of the final ring.
 *
 * A reap run (`reap`, or the reap-unconfirmed mutation) reaps tombstones a
 * short grace after every primary confirmed them, and adds to the seed's
 * plan one scripted schedule: a replica crashes for ten graces early in the
 * load, the hot opaque keys are deleted while it is down, and read again
 * after it returns.
 *
 * Same seed (and options), same run: the trace hash is the proof, and
 * sim.test.ts checks it.
 */
import { asNodeId, asPartitionId, type NodeId } from '../../src/core/ids';
import { DEFAULT_CONFIG, type NodeConfig } from '../../src/core/config';
import { Prng } from '../../src/core/prng';
import type { StoredObject } from '../../src/crdt/stored-object';
import { objectDigest } from '../../src/crdt/stored-object';
import type { RingMember } from '../../src/ring/ring';
import { partitionOf } from '../../src/ring/partitioner';
import { preferenceList } from '../../src/ring/preference-list';
import { MemoryHub } from '../../src/transport/memory-network';
import type { PeerMsg } from '../../src/replication/peer-message';
import { EventQueue } from './event-queue';
import { FaultInjector } from './fault-injector';
import { planFaults, planMembership, type ScheduledFault } from './fault-schedule';
import { Membership, type JoinFigures } from './membership';
import { History } from './history';
import { checkAvailability, checkDeletes, checkReplicas, checkSessionRead, findAnomalies, type FinalRead, type ReapEvent, type Violation } from './invariants';
import { mutation as makeMutation, type MutationName } from './mutations';
import { SkewedClock, trueNowMs } from './sim-clock';
import { LinkFaults } from './sim-network';
import { SimNode } from './sim-node';
import { Trace } from './trace';
import { planWorkload, Workload, type PlannedOp } from './workload';

export interface SimOptions {
  seed: number;
  /** Scheduled events per run: client arrivals plus faults. */
  events?: number;
  mutation?: MutationName;
  /** Fault indices to leave out (the shrinker's and replay's --drop-faults). */
  disabledFaults?: ReadonlySet<number>;
  /**
   * Run the quiet period's anti-entropy exchanges (default true). Off, the
   * repair sweep alone converges the replicas, through read repair: how the
   * no-read-repair mutation is caught, since anti-entropy is the other
   * repair path and would mask it (--no-anti-entropy).
   */
  antiEntropy?: boolean;
  /** Reap tombstones, with the scripted outage and deletes above (default: only with the reap-unconfirmed mutation). */
  reap?: boolean;
  /** Receives every trace line (--verbose). */
  traceSink?: (line: string) => void;
}

export interface SimResult {
  seed: number;
  mutation: MutationName;
  antiEntropy: boolean;
  reap: boolean;
  /** Tombstones reaped over the run, and tombstones left at the end (reap runs). */
  tombstonesReaped: number;
  tombstonesLeft: number;
  nodes: number;
  regions: number;
  violations: Violation[];
  /** Events the virtual queue ran. */
  events: number;
  clientOps: number;
  ackedOps: number;
  /** Peer messages sent during the load phase (requests and replies). */
  loadMessages: number;
  messages: number;
  /** Keys held per node at the end. */
  keysPerNode: number[];
  /** Virtual ms from heal until every replica of every key agreed and no hint was left; null if never. */
  convergeMs: number | null;
  sweepRounds: number;
  /** Keys the quiet period's anti-entropy exchanges changed (on either side), and its rounds. */
  aeRepairs: number;
  aeRounds: number;
  aeExchanges: number;
  /** Read repairs the fallback repair sweep made (0 when anti-entropy left nothing to do). */
  sweepRepairs: number;
  /** Joins and leaves that happened, and the keys each join moved. */
  joins: number;
  leaves: number;
  joinFigures: JoinFigures[];
  /** One client write held under two dots (retried coordinations; invariants.ts findAnomalies). */
  anomalies: string[];
  backgroundErrors: number;
  /** Node crashes that happened (power losses count every node). */
  crashes: number;
  /** Faults applied, by kind (skipped crashes not counted). */
  faultCounts: Record<string, number>;
  faults: ScheduledFault[];
  traceHash: string;
  traceLines: number;
  traceTail: string[];
  loadEndMs: number;
  endMs: number;
}

export const DEFAULT_EVENTS = 300;
/** Fraction of scheduled events that are faults. */
const FAULT_SHARE = 0.12;
const MEAN_GAP_MS = 15;
const WORKLOAD_START_MS = 100;
const MAX_SKEW_MS = 1_000;
const SETTLE_CAP_MS = 60_000;
const SWEEP_ROUNDS_MAX = 8;
const AE_ROUNDS_MAX = 6;
const PROBE_EVERY_MS = 50;

/** Tombstone grace of reap runs (virtual ms). */
export const SIM_GRACE_MS = 300;

/** The simulator's node configuration: defaults, with short timers so runs stay short in virtual time too. */
export function simConfig(reap = false): NodeConfig {
  return {
    ...DEFAULT_CONFIG,
    n: 3,
    r: 2,
    w: 2,
    partitions: 64,
    requestTimeoutMs: 250,
    hintRetryIntervalMs: 300,
    hintBatchMax: 50,
    handoffIntervalMs: 200,
    handoffBatchKeys: 64,
    // Small trees: a simulated partition holds a handful of keys.
    antiEntropyTreeFanout: 4,
    antiEntropyTreeDepth: 2,
    // Reaping only in reap runs, so the other runs keep the schedule they always had.
    tombstoneReapIntervalMs: reap ? 200 : 0,
    tombstoneGraceMs: SIM_GRACE_MS,
  };
}

export async function runSimulation(opts: SimOptions): Promise<SimResult> {
  const seed = opts.seed >>> 0;
  const eventsPlanned = opts.events ?? DEFAULT_EVENTS;
  const mutationName = opts.mutation ?? 'none';
  const mutation = makeMutation(mutationName);
  const reap = opts.reap ?? mutationName === 'reap-unconfirmed';
  // Independent streams, so that e.g. dropping a fault leaves the workload as it was.
  const master = new Prng(seed);
  const scenarioRng = new Prng(master.nextUint32());
  const workloadRng = new Prng(master.nextUint32());
  const faultRng = new Prng(master.nextUint32());
  const latencyRng = new Prng(master.nextUint32());
  const hubRng = new Prng(master.nextUint32());
  const diskRng = new Prng(master.nextUint32());
  const mutationRng = new Prng(master.nextUint32());
  const checkRng = new Prng(master.nextUint32());
  // Drawn last, so that runs keep every other stream they had before membership changes came.
  const membershipRng = new Prng(master.nextUint32());
  // And after it, the reap runs' scripted schedule.
  const reapRng = new Prng(master.nextUint32());

  const queue = new EventQueue();
  const trace = new Trace(300, opts.traceSink ?? null);
  const log = (text: string): void => trace.add(queue.now(), text);
  queue.observe((t, label) => trace.add(t, `ev ${label}`));

  // ---- the cluster ----
  const config = mutation.config(simConfig(reap));
  const nodeCount = 3 + scenarioRng.int(4);
  const regionCount = 1 + scenarioRng.int(Math.min(3, nodeCount));
  const ids: NodeId[] = [];
  const regionOfId = new Map<NodeId, string>();
  for (let i = 0; i < nodeCount; i++) {
    const id = asNodeId(`n${i + 1}`);
    ids.push(id);
    regionOfId.set(id, `r${(i % regionCount) + 1}`);
  }
  const members: RingMember[] = ids.map((id, i) => ({ id, region: regionOfId.get(id)!, joinedAtMs: i }));
  const links = new LinkFaults();
  const baseLatency = new Map<string, number>();
  for (const a of ids) {
    for (const b of ids) {
      const same = regionOfId.get(a) === regionOfId.get(b);
      baseLatency.set(`${a}>${b}`, same ? 0.1 + scenarioRng.next() : 8 + scenarioRng.next() * 30);
    }
  }
  // Links of a node that joins later, from its own stream.
  const addLatencies = (id: NodeId): void => {
    for (const other of [...regionOfId.keys()]) {
      if (other === id) continue;
      const same = regionOfId.get(other) === regionOfId.get(id);
      for (const key of [`${id}>${other}`, `${other}>${id}`]) baseLatency.set(key, same ? 0.1 + membershipRng.next() : 8 + membershipRng.next() * 30);
    }
  };
  const hub = new MemoryHub<PeerMsg>({
    schedule: (delayMs, fn) => queue.schedule(delayMs, fn, 'hub'),
    // Jitter on every message: later messages overtake earlier ones.
    latencyMs: (from, to) => {
      const base = baseLatency.get(`${from}>${to}`) ?? 1;
      return base * (0.5 + latencyRng.next()) + links.extraDelayMs(from, to);
    },
    random: hubRng,
  });
  let backgroundErrors = 0;
  const clocks = new Map<NodeId, SkewedClock>();
  let membership: Membership | null = null;
  const reapEvents: ReapEvent[] = [];
  const makeNode = (id: NodeId, rng: Prng): SimNode => {
    const slowDisk = rng.next() < 0.3;
    const clock = new SkewedClock(queue, Math.round((rng.next() * 2 - 1) * 200));
    clocks.set(id, clock);
    return new SimNode({
      id,
      region: regionOfId.get(id)!,
      hub,
      queue,
      links,
      config,
      ring: () => membership!.ring,
      regionOf: (x) => regionOfId.get(x),
      clock,
      // Group commit: a few ms on a good disk, tens on a slow one; either way longer than a same-region hop.
      commitDelayMs: () => (slowDisk ? 15 + diskRng.next() * 65 : 1 + diskRng.next() * 7),
      tickPhaseMs: () => diskRng.next() * config.hintRetryIntervalMs,
      mutation,
      mutationRandom: mutationRng,
      log,
      onReaped: (node, key, vv) => {
        reapEvents.push({ node, key, vv, atMs: queue.now() });
      },
      onBackgroundError: (err, what) => {
        backgroundErrors++;
        log(`background-error ${what}: ${(err as { code?: string }).code ?? (err as Error).message}`);
      },
    });
  };
  const nodes: SimNode[] = ids.map((id) => makeNode(id, scenarioRng));
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const history = new History();
  let startNode = (_n: SimNode): void => undefined;
  const m = new Membership({
    queue, n: config.n, q: config.partitions, members, nodes, log,
    makeNode: (id, region) => {
      regionOfId.set(id, region);
      addLatencies(id);
      const node = makeNode(id, membershipRng);
      byId.set(id, node);
      return node;
    },
    startNode: (n) => startNode(n),
    keys: () => history.keys(),
  });
  membership = m;
  log(`seed=${seed} mutation=${mutationName} nodes=${nodeCount} regions=${regionCount} ring=${m.ring.version}`);

  // ---- the plan ----
  const faultCount = Math.round(eventsPlanned * FAULT_SHARE);
  const opCount = eventsPlanned - faultCount;
  const plan = planWorkload(workloadRng, opCount, WORKLOAD_START_MS, { meanGapMs: MEAN_GAP_MS, multiRegion: regionCount > 1 });
  const loadEndMs = (plan.length > 0 ? plan[plan.length - 1]!.atMs : WORKLOAD_START_MS) + 1;
  const faults = planFaults(faultRng, ids, faultCount, WORKLOAD_START_MS, loadEndMs, { maxSkewMs: MAX_SKEW_MS });
  const regions = [...new Set(regionOfId.values())].sort();
  faults.push(...planMembership(membershipRng, ids, regions, WORKLOAD_START_MS, loadEndMs, faults.length));
  const workload = new Workload(queue, nodes, history, log);
  workload.schedule(plan);
  if (reap) {
    const script = planReapScript(reapRng, ids, WORKLOAD_START_MS, loadEndMs, faults.length + 1000);
    faults.push(script.outage);
    workload.schedule(script.ops);
    log(`reap script: ${script.outage.fault.kind} ${(script.outage.fault as { node: string }).node} at ${script.outage.atMs.toFixed(1)} ms, ${script.ops.length} ops`);
  }

  const injector = new FaultInjector({ queue, hub, links, nodes, clocks, workload, log, membership: m });
  startNode = (n) => injector.startNode(n);
  for (const n of nodes) injector.startNode(n);
  injector.schedule(faults, opts.disabledFaults);

  // ---- 1. load ----
  await queue.run(() => false, loadEndMs);
  const loadMessages = hub.stats().sent;

  // ---- 2. heal ----
  const healMs = queue.now();
  log('heal: faults end, every node restarts');
  injector.heal();

  const violations: Violation[] = [];
  const hintsLeft = (): number => nodes.reduce((s, n) => s + (n.state === 'left' ? 0 : n.hintCount()), 0);
  // Members, and a node still leaving; not a node that left.
  const live = (): SimNode[] => m.active();
  const allUp = (): boolean => live().every((n) => n.isUp());
  const handoffDone = (): boolean => m.settled() && live().every((n) => n.handoffIdle());
  const converged = (): boolean => {
    if (!allUp() || hintsLeft() > 0 || !handoffDone()) return false;
    for (const key of history.keys()) {
      const digests = new Set(primariesOf(key).map((id) => digestOf(byId.get(id)!.own(key))));
      if (digests.size > 1) return false;
    }
    return true;
  };
  // Always the ring of now: after the quiet period, the final ring.
  const primariesOf = (key: string): NodeId[] => preferenceList(m.ring, partitionOf(key, m.ring.q), config.n);
  let convergedAt: number | null = null;
  const probe = (): void => {
    if (convergedAt !== null) return;
    if (converged()) convergedAt = queue.now();
    else queue.schedule(PROBE_EVERY_MS, probe, 'probe');
  };
  probe();

  await queue.run(() => allUp() && history.pendingCount() === 0 && hintsLeft() === 0 && handoffDone(), healMs + SETTLE_CAP_MS);
  if (!allUp()) violations.push({ kind: 'restart-stuck', key: '-', detail: live().filter((n) => !n.isUp()).map((n) => n.id).join(',') });
  if (!handoffDone()) {
    const busy = live().filter((n) => !n.handoffIdle()).map((n) => `${n.id}:${n.partitions.status().active}`);
    violations.push({ kind: 'handoff-stuck', key: '-', detail: `membership settled=${m.settled()}; partitions left ${busy.join(',')}` });
  }
  if (history.pendingCount() > 0) {
    const stuck = history.ops.filter((o) => o.outcome === 'pending').slice(0, 5).map((o) => `op#${o.id} ${o.kind} ${o.key} via ${o.node}`);
    violations.push({ kind: 'op-never-settled', key: '-', detail: `${history.pendingCount()} client operations never settled: ${stuck.join('; ')}` });
  }

  const commitsDone = (): boolean => live().every((n) => n.storage.stats().pendingOps === 0);

  // ---- 3. anti-entropy: every partition, every pair of its replicas, until a round repairs nothing ----
  let aeRepairs = 0;
  let aeRounds = 0;
  let aeExchanges = 0;
  for (let round = 0; round < AE_ROUNDS_MAX && allUp() && opts.antiEntropy !== false; round++) {
    aeRounds++;
    let repaired = 0;
    const exchanges: Promise<void>[] = [];
    for (let i = 0; i < m.ring.q; i++) {
      const p = asPartitionId(i);
      const replicas = preferenceList(m.ring, p, config.n);
      for (let a = 0; a < replicas.length; a++) {
        for (let b = a + 1; b < replicas.length; b++) {
          const from = byId.get(replicas[a]!)!;
          const to = replicas[b]!;
          aeExchanges++;
          exchanges.push(from.exchange(p, to).then(
            (r) => { repaired += r.repaired; },
            (err: unknown) => {
              violations.push({ kind: 'ae-exchange-failed', key: '-', detail: `partition ${p} ${from.id}<->${to}: ${(err as { code?: string }).code ?? ""} ${(err as Error).message}` });
            },
          ));
        }
      }
    }
    await queue.runUntilSettled(Promise.all(exchanges), queue.now() + SETTLE_CAP_MS);
    await queue.run(commitsDone, queue.now() + SETTLE_CAP_MS);
    log(`anti-entropy round ${round + 1}: ${repaired} keys repaired`);
    aeRepairs += repaired;
    if (repaired === 0) break;
  }

  // ---- 4. repair sweep: the fallback check ----
  let sweepRounds = 0;
  let sweepRepairs = 0;
  for (let round = 0; round < SWEEP_ROUNDS_MAX && allUp(); round++) {
    sweepRounds++;
    const before = nodes.reduce((s, n) => s + n.readRepairs(), 0);
    log(`sweep round ${round + 1}`);
    const via0 = live();
    const reads = history.keys().map((key) => {
      const via = via0[checkRng.int(via0.length)]!;
      return via.coordinator.execute(key, { op: 'get' }, { r: config.n }).then(
        () => undefined,
        (err: unknown) => {
          violations.push({ kind: 'sweep-read-failed', key, detail: `through ${via.id}: ${(err as { code?: string }).code ?? String(err)}` });
        },
      );
    });
    await queue.runUntilSettled(Promise.all(reads), queue.now() + SETTLE_CAP_MS);
    // Let the repair writes land: run until no commit is pending and a request timeout has passed.
    await queue.run(() => false, queue.now() + 2 * config.requestTimeoutMs);
    await queue.run(commitsDone, queue.now() + SETTLE_CAP_MS);
    const after = nodes.reduce((s, n) => s + n.readRepairs(), 0);
    sweepRepairs += after - before;
    if (after === before) break;
  }
  if (convergedAt === null && converged()) convergedAt = queue.now();

  // ---- 4b. reaping (reap runs): until no tombstone is left, then one more read of every opaque key ----
  const tombstonesHeld = (): number => live().reduce((sum, n) => sum + n.tombstoneCount(), 0);
  const finalReads: FinalRead[] = [];
  if (reap && allUp()) {
    await queue.run(() => tombstonesHeld() === 0 && commitsDone(), queue.now() + SETTLE_CAP_MS);
    log(`reaping: ${tombstonesHeld()} tombstones left`);
    if (tombstonesHeld() > 0) {
      const left = live().flatMap((n) => [...n.replica.tombstoneKeys()].map((k) => {
        const prefs = primariesOf(k);
        const hint = live().filter((x) => x.replica.holdsHintFor(k)).map((x) => x.id);
        return `${k} on ${n.id} (primaries ${prefs.join(',')}${prefs.includes(n.id) ? '' : '; not a primary'}${hint.length ? `; hints on ${hint.join(',')}` : ''})`;
      }));
      violations.push({ kind: 'tombstones-not-reaped', key: '-', detail: `${tombstonesHeld()} tombstones left with every node up: ${left.slice(0, 4).join('; ')}` });
    }
    // A few more hint ticks and reaper passes: whatever could come back has had its chance.
    await queue.run(() => false, queue.now() + 5 * config.tombstoneReapIntervalMs);
    const via0 = live();
    for (const key of history.keys().filter((k) => k.startsWith('kv/'))) {
      const via = via0[checkRng.int(via0.length)]!;
      const read = via.coordinator.execute(key, { op: 'get' }, { r: config.n });
      read.then((obj) => { finalReads.push({ key, node: via.id, obj }); }, (err: unknown) => {
        violations.push({ kind: 'sweep-read-failed', key, detail: `final read through ${via.id}: ${(err as { code?: string }).code ?? String(err)}` });
      });
      await queue.runUntilSettled(read, queue.now() + SETTLE_CAP_MS);
    }
    await queue.run(commitsDone, queue.now() + SETTLE_CAP_MS);
  }

  // ---- 5. checks ----
  const checkInput = {
    history,
    replicasOf: (key: string) => primariesOf(key).map((id) => ({ node: id, obj: byId.get(id)!.own(key) })),
    hintCounts: live().map((n) => ({ node: n.id, hints: n.hintCount() })),
    reaped: reap,
  };
  violations.push(...checkAvailability(history));
  violations.push(...checkReplicas(checkInput), ...checkDeletes(checkInput, finalReads, reapEvents));
  // Expiry is judged by each node's own clock: read every session through every node.
  const sessionKeys = history.keys().filter((k) => k.startsWith('sess/'));
  for (const key of sessionKeys) {
    for (const via of live()) {
      const read = via.coordinator.execute(key, { op: 'get' }, { r: config.n });
      let obj: StoredObject | null = null;
      let failed: unknown = null;
      read.then((o) => { obj = o; }, (err: unknown) => { failed = err; });
      await queue.runUntilSettled(read, queue.now() + SETTLE_CAP_MS);
      if (failed !== null) {
        const code = (failed as { code?: string }).code ?? String(failed);
        violations.push({ kind: 'sweep-read-failed', key, detail: `session read through ${via.id}: ${code}` });
        continue;
      }
      const nodeNowMs = clocks.get(via.id)!.nowMs();
      violations.push(...checkSessionRead(history, { key, node: via.id, obj, nodeNowMs }, trueNowMs(queue), injector.maxSkewMs));
    }
  }
  for (const v of violations) log(`VIOLATION ${v.kind} ${v.key}: ${v.detail}`);

  const anomalies: string[] = [];
  for (const key of history.keys()) anomalies.push(...findAnomalies(history, key, byId.get(primariesOf(key)[0]!)!.own(key)));
  for (const a of anomalies) log(`ANOMALY ${a}`);
  const traceTail = trace.lastLines();
  return {
    seed,
    mutation: mutationName,
    antiEntropy: opts.antiEntropy !== false,
    reap,
    tombstonesReaped: nodes.reduce((sum, n) => sum + n.reaped(), 0),
    tombstonesLeft: tombstonesHeld(),
    nodes: nodeCount,
    regions: regionCount,
    violations,
    events: queue.executed(),
    clientOps: history.ops.length,
    ackedOps: history.ops.filter((o) => o.outcome === 'ok').length,
    loadMessages,
    messages: hub.stats().sent,
    keysPerNode: live().map((n) => n.storage.size()),
    convergeMs: convergedAt === null ? null : convergedAt - healMs,
    sweepRounds,
    aeRepairs,
    aeRounds,
    aeExchanges,
    sweepRepairs,
    joins: m.joins,
    leaves: m.leaves,
    joinFigures: m.joinFigures,
    anomalies,
    backgroundErrors,
    crashes: injector.crashes,
    faultCounts: { ...injector.counts },
    faults,
    traceHash: trace.digest(),
    traceLines: trace.lineCount(),
    traceTail,
    loadEndMs,
    endMs: queue.now(),
  };
}

function digestOf(obj: StoredObject | undefined): string {
  return obj ? objectDigest(obj) : 'absent';
}

/**
 * The reap runs' scripted schedule: one replica down for ten graces early in
 * the load, every hot opaque key deleted (read, then delete with its
 * context) while it is down, and read twice after it is back.
 */
function planReapScript(
  random: Prng, ids: readonly NodeId[], startMs: number, loadEndMs: number, index: number,
): { outage: ScheduledFault; ops: PlannedOp[] } {
  const node = ids[random.int(ids.length)]!;
  const atMs = startMs + (loadEndMs - startMs) * 0.15;
  const downMs = 10 * SIM_GRACE_MS;
  const outage: ScheduledFault = { index, atMs, fault: { kind: 'crash', node, downMs, when: 'now' } };
  const op = (at: number, kind: PlannedOp['kind'], key: string): PlannedOp => ({
    atMs: at, kind, key, via: random.next(), via2: random.next(), opts: {}, item: 'sku-0', qty: 1, fields: ['a'], delField: false, ttlMs: 1000,
  });
  const ops: PlannedOp[] = [];
  const hot = Array.from({ length: 6 }, (_, i) => `kv/h${i}`);
  hot.forEach((key, i) => ops.push(op(atMs - 80 + i * 5, 'put-blind', key)));
  hot.forEach((key, i) => ops.push(op(atMs + 100 + i * 40, 'delete-after-read', key)));
  const backMs = atMs + downMs;
  for (const round of [0, 1]) hot.forEach((key, i) => ops.push(op(backMs + 30 + round * 400 + i * 20, 'get', key)));
  return { outage, ops: ops.sort((a, b) => a.atMs - b.atMs) };
}
