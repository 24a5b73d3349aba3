/**
 * The seeded fault schedule (FoundationDB's simulation "buggify" and
 * machine-kill workloads; Jepsen's nemesis): faults far more frequent than
 * production sees, drawn up front from their own random stream so that each
 * one can be switched off by index when a failure is shrunk.
 *
 * Kinds: symmetric partitions and isolation (MemoryHub), one-way cuts of a
 * link or of everything into or out of a node (asymmetric partitions),
 * heals, a node crash with its restart, a power loss of every node at once
 * (correlated failures are where durability bugs surface), message drop and
 * duplication rates, slow links (delay and so reordering), and clock skew.
 */
import type { NodeId } from '../../src/core/ids';
import type { Random } from '../../src/core/prng';

export type Fault =
  | { kind: 'partition'; groups: NodeId[][] }
  | { kind: 'isolate'; node: NodeId }
  | { kind: 'cut-link'; from: NodeId; to: NodeId }
  | { kind: 'cut-in'; node: NodeId }
  | { kind: 'cut-out'; node: NodeId }
  | { kind: 'heal' }
  | { kind: 'crash'; node: NodeId; downMs: number; when: CrashMoment }
  /** Every node at once; `node` is the one whose commit a mid-commit power loss waits for. */
  | { kind: 'power-loss'; downMs: number; when: CrashMoment; node: NodeId }
  | { kind: 'drop-rate'; rate: number }
  | { kind: 'duplicate-rate'; rate: number }
  | { kind: 'slow-link'; from: NodeId; to: NodeId; extraMs: number; forMs: number }
  | { kind: 'skew'; node: NodeId; skewMs: number }
  /** A new member joins (docs/membership.md): its ring claim comes last, partitions move to it. */
  | { kind: 'join'; node: NodeId; region: string }
  /** A member leaves: every ring drops it, it hands its partitions off, then stops for good. */
  | { kind: 'leave'; node: NodeId };

/**
 * When a crash strikes, once its time has come: at once; halfway through the
 * node's next group commit (writes applied but not durable); or right after
 * the next client write is acknowledged (a crash then takes its coordinator),
 * the moment an acknowledgement that came too early would be exposed. The
 * last two are FoundationDB-style "buggify" points: rare in production,
 * where durability bugs hide.
 */
export type CrashMoment = 'now' | 'mid-commit' | 'after-ack';

function pickMoment(random: Random): CrashMoment {
  const x = random.next();
  return x < 0.35 ? 'now' : x < 0.65 ? 'mid-commit' : 'after-ack';
}

export interface ScheduledFault {
  readonly index: number;
  readonly atMs: number;
  readonly fault: Fault;
}

const WEIGHTS: [Fault['kind'], number][] = [
  ['partition', 3],
  ['isolate', 1],
  ['cut-link', 2],
  ['cut-in', 1],
  ['cut-out', 1],
  ['heal', 3],
  ['crash', 4],
  ['power-loss', 1.5],
  ['drop-rate', 1.5],
  ['duplicate-rate', 1],
  ['slow-link', 1.5],
  ['skew', 1.5],
];

export interface FaultShape {
  /** Largest clock skew a node gets, either way. */
  maxSkewMs: number;
}

function pickKind(random: Random): Fault['kind'] {
  const total = WEIGHTS.reduce((s, [, w]) => s + w, 0);
  let x = random.next() * total;
  for (const [k, w] of WEIGHTS) if ((x -= w) < 0) return k;
  return 'heal';
}

function pickNode(random: Random, nodes: readonly NodeId[]): NodeId {
  return nodes[random.int(nodes.length)]!;
}

function pickOther(random: Random, nodes: readonly NodeId[], not: NodeId): NodeId {
  const others = nodes.filter((n) => n !== not);
  return others[random.int(others.length)]!;
}

function drawFault(random: Random, nodes: readonly NodeId[], shape: FaultShape): Fault {
  const kind = pickKind(random);
  switch (kind) {
    case 'partition': {
      // Two sides, each node on a random side, neither side empty.
      const side = nodes.map(() => random.int(2));
      if (side.every((s) => s === side[0])) side[random.int(side.length)] = 1 - side[0]!;
      return { kind, groups: [nodes.filter((_, i) => side[i] === 0), nodes.filter((_, i) => side[i] === 1)] };
    }
    case 'isolate':
    case 'cut-in':
    case 'cut-out':
      return { kind, node: pickNode(random, nodes) };
    case 'cut-link': {
      const from = pickNode(random, nodes);
      return { kind, from, to: pickOther(random, nodes, from) };
    }
    case 'heal':
      return { kind };
    case 'crash':
      return { kind, node: pickNode(random, nodes), downMs: 50 + random.int(2_500), when: pickMoment(random) };
    case 'power-loss':
      return { kind, downMs: 20 + random.int(500), when: pickMoment(random), node: pickNode(random, nodes) };
    case 'drop-rate':
      return { kind, rate: random.next() < 0.3 ? 0 : random.next() * 0.15 };
    case 'duplicate-rate':
      return { kind, rate: random.next() < 0.3 ? 0 : random.next() * 0.1 };
    case 'slow-link': {
      const from = pickNode(random, nodes);
      return { kind, from, to: pickOther(random, nodes, from), extraMs: 50 + random.int(400), forMs: 100 + random.int(2_000) };
    }
    case 'skew':
      return { kind, node: pickNode(random, nodes), skewMs: Math.round((random.next() * 2 - 1) * shape.maxSkewMs) };
    case 'join':
    case 'leave':
      // Never drawn here (not in WEIGHTS): planMembership plans them.
      return { kind: 'heal' };
  }
}

/** `count` faults at uniform times in [startMs, endMs), in time order, indexed in that order. */
export function planFaults(
  random: Random, nodes: readonly NodeId[], count: number, startMs: number, endMs: number, shape: FaultShape,
): ScheduledFault[] {
  const drawn: { atMs: number; fault: Fault }[] = [];
  for (let i = 0; i < count; i++) {
    drawn.push({ atMs: startMs + random.next() * (endMs - startMs), fault: drawFault(random, nodes, shape) });
  }
  drawn.sort((a, b) => a.atMs - b.atMs);
  return drawn.map((d, index) => ({ index, ...d }));
}

/**
 * Membership changes, drawn from their own stream and indexed after the
 * other faults (so adding them changed no other fault's draw or index): a
 * join in the first half of the load with probability 0.6, and, when at
 * least four nodes remain members, a leave of one of the first nodes in the
 * second half with probability 0.5. The injector runs at most one change at
 * a time and skips one that comes while another is in flight.
 */
export function planMembership(
  random: Random, nodes: readonly NodeId[], regions: readonly string[], startMs: number, endMs: number, firstIndex: number,
): ScheduledFault[] {
  const out: ScheduledFault[] = [];
  const span = endMs - startMs;
  const join = random.next() < 0.6;
  const joinAt = startMs + span * (0.1 + 0.4 * random.next());
  const joinRegion = regions[random.int(regions.length)]!;
  const leave = random.next() < 0.5;
  const leaveAt = startMs + span * (0.5 + 0.4 * random.next());
  const leaver = nodes[random.int(nodes.length)]!;
  if (join) out.push({ index: 0, atMs: joinAt, fault: { kind: 'join', node: `n${nodes.length + 1}` as NodeId, region: joinRegion } });
  if (leave && nodes.length + (join ? 1 : 0) > 3) out.push({ index: 0, atMs: leaveAt, fault: { kind: 'leave', node: leaver } });
  return out.map((f, i) => ({ ...f, index: firstIndex + i }));
}

export function describeFault(f: Fault): string {
  switch (f.kind) {
    case 'partition':
      return `partition ${f.groups.map((g) => `[${g.join(',')}]`).join(' | ')}`;
    case 'isolate':
    case 'cut-in':
    case 'cut-out':
      return `${f.kind} ${f.node}`;
    case 'cut-link':
      return `cut-link ${f.from}->${f.to}`;
    case 'heal':
      return 'heal';
    case 'crash':
      return `crash ${f.when === 'after-ack' ? 'the coordinator of the next acknowledged write' : f.node} for ${f.downMs} ms${f.when === 'mid-commit' ? ' during its next commit' : ''}`;
    case 'power-loss':
      return `power-loss for ${f.downMs} ms${f.when === 'mid-commit' ? ` during ${f.node}'s next commit` : f.when === 'after-ack' ? ' after the next acknowledged write' : ''}`;
    case 'drop-rate':
    case 'duplicate-rate':
      return `${f.kind} ${f.rate.toFixed(3)}`;
    case 'slow-link':
      return `slow-link ${f.from}->${f.to} +${f.extraMs} ms for ${f.forMs} ms`;
    case 'skew':
      return `skew ${f.node} ${f.skewMs} ms`;
    case 'join':
      return `join ${f.node} in ${f.region}`;
    case 'leave':
      return `leave ${f.node}`;
  }
}
