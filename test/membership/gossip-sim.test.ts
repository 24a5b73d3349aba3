/**
 * The gossip protocol (Dynamo 4.8; heartbeats as in Cassandra) run as pure
 * state machines on virtual time over a simulated network with random
 * latency, crashes and a flapping link. Prints its seed; replay one with
 * RINGSTORE_SEED=<seed>.
 */
import { strict as assert } from 'node:assert';
import { asNodeId, type NodeId } from '../../src/core/ids';
import { Prng } from '../../src/core/prng';
import { Gossiper, gossiperConfig, type GossipDigest } from '../../src/membership/gossiper';
import type { Liveness } from '../../src/membership/liveness';
import { mergeMembers, emptyTable, type MemberRecord, type MemberTable } from '../../src/membership/member-table';
import { suspectBoundMs } from '../../src/membership/phi-accrual';

const SEED = Number(process.env.RINGSTORE_SEED ?? Date.now() % 1_000_000);
const INTERVAL = 1000;
const settings = { gossipIntervalMs: INTERVAL, gossipFanout: 3, phiSuspect: 8, heartbeatPauseMs: 1000, downAfterMs: 3000 };
const cfg = gossiperConfig(settings);

interface SimNode {
  id: NodeId;
  up: boolean;
  gossiper: Gossiper;
  table: MemberTable;
  seeds: NodeId[];
  joinedAtMs: number;
  incarnation: number;
}

type Observer = (at: number, observer: NodeId, about: NodeId, to: Liveness) => void;

class GossipSim {
  now = 0;
  private readonly queue: Array<{ at: number; seq: number; fn: () => void }> = [];
  private seq = 0;
  readonly nodes = new Map<NodeId, SimNode>();
  readonly rnd: Prng;
  /** Links (unordered pairs) that drop every message while cut. */
  readonly cut = new Set<string>();
  observers: Observer[] = [];

  constructor(seed: number) {
    this.rnd = new Prng(seed);
  }

  at(t: number, fn: () => void): void {
    this.queue.push({ at: t, seq: this.seq++, fn });
    this.queue.sort((a, b) => a.at - b.at || a.seq - b.seq);
  }

  runUntil(t: number): void {
    while (this.queue.length > 0 && this.queue[0]!.at <= t) {
      const e = this.queue.shift()!;
      this.now = e.at;
      e.fn();
    }
    this.now = t;
  }

  start(name: string, seeds: string[]): void {
    const id = asNodeId(name);
    const prev = this.nodes.get(id);
    const incarnation = (prev?.incarnation ?? 0) + 1;
    const joinedAtMs = prev?.joinedAtMs ?? this.now;
    const self: MemberRecord = { id, addr: name, region: 'r', joinedAtMs, incarnation, status: 'alive' };
    const node: SimNode = {
      id, up: true, seeds: seeds.map(asNodeId), joinedAtMs, incarnation,
      gossiper: new Gossiper(id, this.now, cfg, this.now),
      table: mergeMembers(prev?.table ?? emptyTable(), [self]).table,
    };
    this.nodes.set(id, node);
    const phase = this.rnd.int(INTERVAL);
    const loop = (): void => {
      if (this.nodes.get(id) !== node || !node.up) return;
      this.round(node);
      this.at(this.now + INTERVAL, loop);
    };
    this.at(this.now + phase, loop);
  }

  crash(name: string): void {
    this.nodes.get(asNodeId(name))!.up = false;
  }

  state(observer: string, about: string): Liveness {
    return this.nodes.get(asNodeId(observer))!.gossiper.stateOf(asNodeId(about));
  }

  private linkOk(a: NodeId, b: NodeId): boolean {
    return !this.cut.has([a, b].sort().join('|'));
  }

  private round(node: SimNode): void {
    const unresolved = node.seeds.filter((s) => s !== node.id && !node.table.has(s));
    const { targets, changes } = node.gossiper.round(node.table, unresolved, this.now, this.rnd);
    for (const c of changes) for (const o of this.observers) o(this.now, node.id, c.id, c.to);
    const digest = node.gossiper.digest(node.table);
    for (const to of targets) this.send(node, to, digest);
  }

  private send(from: SimNode, to: NodeId, digest: GossipDigest): void {
    this.at(this.now + 1 + this.rnd.int(10), () => {
      const target = this.nodes.get(to);
      if (!target || !target.up || !this.linkOk(from.id, to)) return;
      this.absorb(target, digest);
      const reply = target.gossiper.digest(target.table);
      this.at(this.now + 1 + this.rnd.int(10), () => {
        if (!from.up || this.nodes.get(from.id) !== from || !this.linkOk(from.id, to)) return;
        this.absorb(from, reply);
      });
    });
  }

  private absorb(node: SimNode, digest: GossipDigest): void {
    const r = node.gossiper.absorb(node.table, digest, this.now);
    node.table = r.table;
    for (const c of r.changes) for (const o of this.observers) o(this.now, node.id, c.id, c.to);
  }
}

const names = (n: number): string[] => Array.from({ length: n }, (_, i) => `n${i}`);

describe(`membership/gossiper in simulation (Dynamo 4.8; seed ${SEED}, replay with RINGSTORE_SEED=${SEED})`, () => {
  it('spreads membership from a single seed to all 8 nodes, all alive everywhere, within seconds', () => {
    const sim = new GossipSim(SEED);
    const all = names(8);
    sim.start('n0', []);
    for (let i = 1; i < all.length; i++) sim.at(200 * i, () => sim.start(all[i]!, ['n0']));
    let convergedAt = -1;
    for (let t = 0; t <= 30_000 && convergedAt < 0; t += 100) {
      sim.runUntil(t);
      const done = sim.nodes.size === all.length && all.every((o) =>
        sim.nodes.get(asNodeId(o))!.table.size === all.length && all.every((a) => sim.state(o, a) === 'alive'));
      if (done) convergedAt = t;
    }
    console.log(`      seed ${SEED}: 8 nodes converged ${convergedAt - 1400} ms after the last start`);
    assert.ok(convergedAt > 0, 'never converged');
    assert.ok(convergedAt - 1400 <= 8000, `converged only ${convergedAt - 1400} ms after the last start`);
  });

  it('has every survivor suspect, then mark down, a crashed node within the bound, and changes no record', () => {
    const sim = new GossipSim(SEED + 1);
    const all = names(8);
    for (const n of all) sim.start(n, ['n0']);
    sim.runUntil(20_000);
    const tables = new Map([...sim.nodes].map(([id, n]) => [id, JSON.stringify([...n.table.values()])]));
    const seen = new Map<string, { suspect?: number; down?: number }>();
    sim.observers.push((at, observer, about, to) => {
      if (about !== 'n5') return;
      const e = seen.get(observer) ?? {};
      if (to === 'suspect') e.suspect ??= at;
      if (to === 'down') e.down ??= at;
      if (to === 'alive') assert.fail(`${observer} thought n5 alive again at ${at}`);
      seen.set(observer, e);
    });
    const crashAt = 20_000;
    sim.crash('n5');
    sim.runUntil(60_000);
    const bound = suspectBoundMs(cfg.detector, cfg.detector.phiSuspect) + INTERVAL;
    const survivors = all.filter((n) => n !== 'n5');
    const suspectMs = survivors.map((o) => seen.get(o)!.suspect! - crashAt);
    const downMs = survivors.map((o) => seen.get(o)!.down! - crashAt);
    console.log(`      seed ${SEED + 1}: suspect after ${Math.min(...suspectMs)}-${Math.max(...suspectMs)} ms, down after ${Math.min(...downMs)}-${Math.max(...downMs)} ms`);
    for (let i = 0; i < survivors.length; i++) {
      assert.ok(suspectMs[i]! > 0 && suspectMs[i]! <= bound, `${survivors[i]}: suspect after ${suspectMs[i]} ms (bound ${bound})`);
      assert.ok(downMs[i]! - suspectMs[i]! >= settings.downAfterMs && downMs[i]! <= bound + settings.downAfterMs + INTERVAL);
    }
    for (const [id, n] of sim.nodes) {
      if (id !== 'n5') assert.equal(JSON.stringify([...n.table.values()]), tables.get(id), `${id}'s member table changed`);
    }
  });

  it('does not suspect across a flapping link: heartbeats arrive through third nodes', () => {
    const sim = new GossipSim(SEED + 2);
    const all = names(6);
    for (const n of all) sim.start(n, ['n0']);
    sim.runUntil(15_000);
    const flagged: string[] = [];
    sim.observers.push((at, observer, about, to) => {
      if (to !== 'alive') flagged.push(`${observer} marked ${about} ${to} at ${at}`);
    });
    // The n1-n2 link is down 600 ms out of every 1000 ms for a minute.
    for (let t = 15_000; t < 75_000; t += 1000) {
      sim.at(t, () => sim.cut.add('n1|n2'));
      sim.at(t + 600, () => sim.cut.delete('n1|n2'));
    }
    sim.runUntil(75_000);
    assert.deepEqual(flagged, []);
  });

  it('has every node see a restarted node alive again within a few rounds', () => {
    const sim = new GossipSim(SEED + 3);
    const all = names(6);
    for (const n of all) sim.start(n, ['n0']);
    sim.runUntil(15_000);
    sim.crash('n3');
    sim.runUntil(35_000);
    assert.ok(all.filter((n) => n !== 'n3').every((o) => sim.state(o, 'n3') === 'down'));
    sim.start('n3', ['n0']);
    let aliveAt = -1;
    for (let t = 35_000; t <= 50_000 && aliveAt < 0; t += 100) {
      sim.runUntil(t);
      if (all.every((o) => sim.state(o, 'n3') === 'alive') && all.every((a) => sim.state('n3', a) === 'alive')) aliveAt = t;
    }
    console.log(`      seed ${SEED + 3}: restarted node alive everywhere after ${aliveAt - 35_000} ms`);
    assert.ok(aliveAt > 0 && aliveAt - 35_000 <= 5 * INTERVAL, `alive everywhere only after ${aliveAt - 35_000} ms`);
  });
});
