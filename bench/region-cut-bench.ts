/**
 * `npm run bench:region-cut` (issue 9, "Figures for your closing note"): one
 * region cut off for 30 s under write load, then healed. Six real node
 * processes, two in each of r1, r2, r3, N=3 (one replica of every key per
 * region), `local` consistency, `--delay-ms` one way between regions
 * (POST /admin/faults). In each region a RingClient talking to its own
 * region's nodes writes sessions at a steady pace (a new key per write, so
 * "every acknowledged write" is a set of keys), and every tenth write adds an
 * item to one of a few carts that all regions edit.
 *
 * Phases: warm (`--warm-seconds`), cut (r3 cut off from r1 and r2 in both
 * directions for `--cut-seconds`; the delay stays), heal (the cut lifted, the
 * delay kept, the set writes go on and the cart adds stop). It reports:
 *
 * - writes acknowledged and failed per region during the cut (r3's are the
 *   writes the cut-off region took);
 * - after the heal: when no node holds hints any more, and when every key
 *   acknowledged before the heal was seen on all 3 replicas with one digest
 *   (GET /admin/replicas/KEY, which reads each replica's own copy and repairs
 *   nothing), as a bracket: the last time a key was seen not converged, and
 *   the time the last key was seen converged;
 * - cross-region bytes per acknowledged write, steady (the warm phase after a
 *   ramp) and over the whole run, from the kernel's per-socket counters
 *   (tcp-link-bytes.ts), beside the nodes' own peer byte counters (all peers);
 * - then, with the load stopped, that every cart holds every acknowledged add
 *   on every replica.
 *
 *   node dist/bench/region-cut-bench.js --help
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { SingleBar, Presets } from 'cli-progress';
import { Command, InvalidArgumentError } from 'commander';
import { RingClient } from '../src/client/ring-client';
import { BenchCluster, sleep, type BenchNode, type NodeStatusBody } from './bench-cluster';
import { summarize, type LatencySummary } from './latency-stats';
import { bytesBetween, TcpByteMeter, type PairBytes } from './tcp-link-bytes';

const REGIONS = ['r1', 'r2', 'r3'] as const;
const CUT_REGION = 'r3';
/** Every this many set writes, a caller also adds an item to a shared cart. */
const CART_EVERY = 10;
/** Seconds of the warm phase left out of the steady-state byte figure (connections, first ring refreshes). */
const RAMP_S = 2;
/** Seconds without load before the warm phase: the background traffic between regions. */
const IDLE_S = 3;

interface Options {
  cutSeconds: number;
  warmSeconds: number;
  delayMs: number;
  callers: number;
  rate: number;
  valueBytes: number;
  carts: number;
  concurrency: number;
  sample: number;
  convergeTimeoutS: number;
  sqliteSync: 'full' | 'normal';
  out: string;
  progress: boolean;
  keepData: boolean;
}

type Phase = 'warm' | 'cut' | 'healed';

// ---- options ----

function num(name: string, min: number, max: number, integer = false) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isSafeInteger(n))) {
      throw new InvalidArgumentError(`${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`);
    }
    return n;
  };
}

function parseOptions(argv: string[]): Options {
  const p = new Command();
  p.name('region-cut-bench')
    .description('one region cut off under write load, then healed: writes taken, convergence time, cross-region bytes per write')
    .option('--cut-seconds <s>', 'how long r3 is cut off', num('cut-seconds', 1, 3600), 30)
    .option('--warm-seconds <s>', 'load before the cut (steady-state figures come from it)', num('warm-seconds', RAMP_S + 1, 3600), 10)
    .option('--delay-ms <ms>', 'one-way delay between regions, kept through the cut and after', num('delay-ms', 0, 10_000), 40)
    .option('--callers <n>', 'concurrent writers per region', num('callers', 1, 1000, true), 4)
    .option('--rate <n>', 'set writes per second per region (0: as fast as the callers go)', num('rate', 0, 1_000_000), 100)
    .option('--value-bytes <n>', 'approximate size of a session field written', num('value-bytes', 1, 1_000_000, true), 300)
    .option('--carts <n>', 'shared carts every region adds to', num('carts', 1, 10_000, true), 4)
    .option('--concurrency <n>', 'GET /admin/replicas requests in flight while checking convergence', num('concurrency', 1, 10_000, true), 128)
    .option('--sample <n>', 'keys written during the cut that are checked in quick passes from the heal on (the convergence time); then all keys are', num('sample', 1, 1_000_000, true), 300)
    .option('--converge-timeout-s <s>', 'give up waiting for convergence after this long', num('converge-timeout-s', 1, 3600), 300)
    .option('--sqlite-sync <mode>', 'ringstore node --sqlite-sync: full or normal', 'full')
    .option('--out <dir>', 'where the JSON goes', 'artifacts/bench')
    .option('--no-progress', 'no progress bar')
    .option('--keep-data', "keep the nodes' data dirs");
  p.parse(argv, { from: 'user' });
  const x = p.opts<Record<string, unknown>>();
  if (x.sqliteSync !== 'full' && x.sqliteSync !== 'normal') throw new InvalidArgumentError('--sqlite-sync must be full or normal');
  return {
    cutSeconds: x.cutSeconds as number, warmSeconds: x.warmSeconds as number, delayMs: x.delayMs as number,
    callers: x.callers as number, rate: x.rate as number, valueBytes: x.valueBytes as number, carts: x.carts as number,
    concurrency: x.concurrency as number, sample: x.sample as number, convergeTimeoutS: x.convergeTimeoutS as number, sqliteSync: x.sqliteSync,
    out: x.out as string, progress: x.progress as boolean, keepData: Boolean(x.keepData),
  };
}

// ---- load ----

/** One acknowledged write, kept so that convergence can be checked key by key. */
interface AckedWrite {
  key: string;
  region: string;
  phase: Phase;
  atMs: number;
}

interface PhaseCounts {
  acked: number;
  failed: number;
  cartAdds: number;
  cartFailed: number;
  latencyUs: number[];
}

const emptyCounts = (): PhaseCounts => ({ acked: 0, failed: 0, cartAdds: 0, cartFailed: 0, latencyUs: [] });

/**
 * The writers of one region: `callers` loops sharing a RingClient that
 * prefers the region's nodes and writes with `local` consistency, paced to
 * `rate` writes per second in all.
 */
class RegionLoad {
  readonly counts: Record<Phase, PhaseCounts> = { warm: emptyCounts(), cut: emptyCounts(), healed: emptyCounts() };
  readonly errors = new Map<string, number>();
  private phase: Phase = 'warm';
  private cartsOn = true;
  private stopped = false;
  private seq = 0;
  private loops: Promise<void>[] = [];

  constructor(
    readonly region: string,
    private readonly client: RingClient,
    private readonly o: Options,
    private readonly acked: AckedWrite[],
    private readonly cartAdds: Map<string, Set<string>>,
  ) {}

  start(): void {
    const startMs = performance.now();
    this.loops = Array.from({ length: this.o.callers }, (_, i) => this.loop(i, startMs));
  }

  setPhase(phase: Phase): void {
    this.phase = phase;
  }

  stopCarts(): void {
    this.cartsOn = false;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  totalAcked(): number {
    return Object.values(this.counts).reduce((a, c) => a + c.acked + c.cartAdds, 0);
  }

  private async loop(caller: number, startMs: number): Promise<void> {
    // Caller i sends its k-th write at start + (k * callers + i) / rate: the
    // callers interleave, and a caller that falls behind sends at once.
    const periodMs = this.o.rate > 0 ? (1000 * this.o.callers) / this.o.rate : 0;
    let next = startMs + (periodMs * caller) / this.o.callers;
    const value = 'x'.repeat(this.o.valueBytes);
    while (!this.stopped) {
      if (periodMs > 0) {
        const wait = next - performance.now();
        if (wait > 0) await sleep(wait);
        next += periodMs;
        if (this.stopped) break;
      }
      const n = this.seq++;
      await this.writeSession(`rc:${this.region}:${n}`, value, n);
      if (this.cartsOn && n % CART_EVERY === 0) await this.addToCart(n);
    }
  }

  private async writeSession(key: string, value: string, n: number): Promise<void> {
    const phase = this.phase;
    const c = this.counts[phase];
    const t0 = performance.now();
    try {
      await this.client.sessionWrite(key, { set: { region: this.region, n, value }, expiresAtMs: Date.now() + 3_600_000 });
      c.latencyUs.push((performance.now() - t0) * 1000);
      c.acked++;
      this.acked.push({ key, region: this.region, phase, atMs: Date.now() });
    } catch (err) {
      c.failed++;
      this.noteError(err);
    }
  }

  private async addToCart(n: number): Promise<void> {
    const c = this.counts[this.phase];
    const cart = `shared-${Math.floor(n / CART_EVERY) % this.o.carts}`;
    const item = `${this.region}-${n}`;
    try {
      await this.client.cartAdd(cart, item, 1);
      c.cartAdds++;
      this.cartAdds.get(cart)!.add(item);
    } catch (err) {
      c.cartFailed++;
      this.noteError(err);
    }
  }

  private noteError(err: unknown): void {
    const code = (err as { code?: string }).code ?? (err as Error).message;
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
  }
}

// ---- faults ----

function delayFor(node: BenchNode, delayMs: number): Record<string, number> {
  return Object.fromEntries(REGIONS.filter((r) => r !== node.region).map((r) => [r, delayMs]));
}

/** Cut CUT_REGION off from the others, both directions, keeping the delay. */
async function cutRegion(cluster: BenchCluster, delayMs: number): Promise<void> {
  await Promise.all(cluster.nodes.map((x) => cluster.setFaults(x, {
    delayMs: delayFor(x, delayMs),
    cut: x.region === CUT_REGION ? REGIONS.filter((r) => r !== CUT_REGION) : [CUT_REGION],
  })));
}

/** Lift the cut; the delay stays (POST, not DELETE, which would clear both). */
async function heal(cluster: BenchCluster, delayMs: number): Promise<void> {
  await Promise.all(cluster.nodes.map((x) => cluster.setFaults(x, { delayMs: delayFor(x, delayMs) })));
}

// ---- convergence ----

interface ReplicasBody {
  replicas: Array<{ node: string; region?: string; reachable: boolean; present: boolean; digest?: string }>;
}

/** All N replicas reachable, holding the key, with one digest. */
async function converged(node: BenchNode, key: string, n: number): Promise<boolean> {
  const res = await fetch(`http://${node.addr}/admin/replicas/${encodeURIComponent(key)}`);
  if (!res.ok) throw new Error(`${node.id}: /admin/replicas answered ${res.status}`);
  const body = (await res.json()) as ReplicasBody;
  return body.replicas.length === n && body.replicas.every((r) => r.reachable && r.present) &&
    new Set(body.replicas.map((r) => r.digest)).size === 1;
}

interface ConvergenceResult {
  keys: number;
  converged: boolean;
  /** ms after the heal: the last time a key was seen not yet converged (0 if none was). */
  lastDivergentMs: number;
  /** ms after the heal: when the last key was seen converged (an upper bound). */
  allConvergedMs: number;
  passes: number;
  firstPassMs: number;
  keysDivergentInFirstPass: number;
  /** Keys never seen converged before the timeout, and (up to 10) what their replicas held. */
  keysDivergentAtEnd: number;
  divergent: Array<{ key: string; replicas: ReplicasBody['replicas'] | null }>;
}

/**
 * Check every key until each was seen converged once: a pass checks every
 * key not yet seen converged, `concurrency` at a time, spread over the nodes;
 * the next pass starts right after. A key seen converged stays so: nothing
 * writes it again, and merging identical states changes nothing. The true
 * convergence time lies between lastDivergentMs and allConvergedMs.
 */
async function waitConverged(
  cluster: BenchCluster, keys: string[], fromMs: number, o: Options, onPass: (left: number) => void,
): Promise<ConvergenceResult> {
  let pending = keys;
  let lastDivergent = fromMs;
  let lastConverged = fromMs;
  let passes = 0;
  let firstPassMs = 0;
  let divergentInFirst = 0;
  const deadline = fromMs + o.convergeTimeoutS * 1000;
  while (pending.length > 0 && Date.now() < deadline) {
    const passStart = Date.now();
    const still: string[] = [];
    let next = 0;
    const worker = async (w: number): Promise<void> => {
      while (next < pending.length) {
        const i = next++;
        const key = pending[i]!;
        const node = cluster.nodes[(i + w) % cluster.nodes.length]!;
        let ok = false;
        try {
          ok = await converged(node, key, 3);
        } catch {
          ok = false;
        }
        const at = Date.now();
        if (ok) lastConverged = Math.max(lastConverged, at);
        else {
          lastDivergent = Math.max(lastDivergent, at);
          still.push(key);
        }
      }
    };
    await Promise.all(Array.from({ length: o.concurrency }, (_, w) => worker(w)));
    passes++;
    if (passes === 1) {
      firstPassMs = Date.now() - passStart;
      divergentInFirst = still.length;
    }
    pending = still;
    onPass(pending.length);
    if (pending.length > 0) await sleep(100);
  }
  // What the replicas of keys still divergent hold: the report shows them rather than a bare count.
  const divergent = await Promise.all(pending.slice(0, 10).map(async (key) => {
    const res = await fetch(`http://${cluster.nodes[0]!.addr}/admin/replicas/${encodeURIComponent(key)}`).catch(() => null);
    return { key, replicas: res?.ok ? ((await res.json()) as ReplicasBody).replicas : null };
  }));
  return {
    keys: keys.length, converged: pending.length === 0, lastDivergentMs: lastDivergent - fromMs,
    allConvergedMs: lastConverged - fromMs, passes, firstPassMs, keysDivergentInFirstPass: divergentInFirst,
    keysDivergentAtEnd: pending.length, divergent,
  };
}

function shuffled<T>(xs: T[]): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Prints the keys left after a pass when that number changed. */
function progressLine(fromMs: number): (left: number) => void {
  let told = -1;
  return (left) => {
    if (left === told) return;
    told = left;
    process.stdout.write(`  +${((Date.now() - fromMs) / 1000).toFixed(2)} s: ${left} keys not converged yet\n`);
  };
}

/** Poll /admin/status until no node holds a hint; ms after `fromMs`, or null on timeout. */
async function waitHintsDrained(cluster: BenchCluster, fromMs: number, timeoutMs: number): Promise<number | null> {
  while (Date.now() - fromMs < timeoutMs) {
    const all = await cluster.statuses().catch(() => null);
    if (all !== null && all.every((s) => hintsPending(s) === 0)) return Date.now() - fromMs;
    await sleep(100);
  }
  return null;
}

const hintsPending = (s: NodeStatusBody): number => s.hints.pending;

// ---- bytes ----

interface ByteMark {
  atMs: number;
  tcp: PairBytes;
  /** perf.peer.bytesSent of each node (to all peers, own region included). */
  peerBytesSent: number;
  /** traffic.crossRegion.bytesSent of each node: the nodes' own count of frame bytes to other regions. */
  nodeCrossRegionBytesSent: number;
  writes: number;
}

interface ByteWindow {
  seconds: number;
  writes: number;
  crossRegionBytes: number;
  sameRegionBytes: number;
  crossRegionBytesPerWrite: number;
  /** The nodes' own count of peer bytes sent (every peer), for comparison with the kernel's. */
  nodePeerBytes: number;
  /** The nodes' own count of frame bytes sent to other regions (no TCP overhead), per write. */
  nodeCrossRegionBytesPerWrite: number;
}

function byteWindow(a: ByteMark, b: ByteMark, regionOfPid: Map<number, string>): ByteWindow {
  const cross = bytesBetween(a.tcp, b.tcp, (f, t) => regionOfPid.get(f) !== regionOfPid.get(t));
  const same = bytesBetween(a.tcp, b.tcp, (f, t) => regionOfPid.get(f) === regionOfPid.get(t));
  const writes = b.writes - a.writes;
  return {
    seconds: (b.atMs - a.atMs) / 1000, writes, crossRegionBytes: cross, sameRegionBytes: same,
    crossRegionBytesPerWrite: writes > 0 ? cross / writes : NaN, nodePeerBytes: b.peerBytesSent - a.peerBytesSent,
    nodeCrossRegionBytesPerWrite: writes > 0 ? (b.nodeCrossRegionBytesSent - a.nodeCrossRegionBytesSent) / writes : NaN,
  };
}

// ---- main ----

interface RegionPhaseReport {
  acked: number;
  failed: number;
  cartAdds: number;
  cartFailed: number;
  latency: LatencySummary;
}

async function checkCarts(clients: Map<string, RingClient>, cartAdds: Map<string, Set<string>>): Promise<{ carts: number; adds: number; missing: number }> {
  let adds = 0;
  let missing = 0;
  const reader = clients.get(REGIONS[0])!;
  for (const [cart, items] of cartAdds) {
    // R=3: every replica answers, so what it returns is the merge of all three.
    const seen = await reader.cartGet(cart, { consistency: 'global', r: 3 });
    for (const item of items) {
      adds++;
      if (seen[item] === undefined) missing++;
    }
  }
  return { carts: cartAdds.size, adds, missing };
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const loadStart = os.loadavg();
  const bar = o.progress
    ? new SingleBar({ format: '{bar} {percentage}% | {phase}', hideCursor: true, clearOnComplete: true }, Presets.shades_classic)
    : null;
  bar?.start(o.warmSeconds + o.cutSeconds, 0, { phase: 'starting 6 nodes' });
  const cluster = await BenchCluster.start({
    nodes: 6, n: 3, r: 2, w: 2, regions: [...REGIONS], consistency: 'local', keepData: o.keepData, sqliteSync: o.sqliteSync,
  });
  const clients = new Map<string, RingClient>();
  const loads: RegionLoad[] = [];
  let ticker: NodeJS.Timeout | null = null;
  try {
    await cluster.delayBetweenRegions(o.delayMs);
    const regionOfPid = new Map(cluster.nodes.map((x) => [x.proc.pid!, x.region]));
    const meter = new TcpByteMeter(cluster.nodes.map((x) => x.proc.pid!));
    const acked: AckedWrite[] = [];
    const cartAdds = new Map(Array.from({ length: o.carts }, (_, i) => [`shared-${i}`, new Set<string>()]));
    for (const region of REGIONS) {
      const client = new RingClient({ nodes: cluster.addrs(region), region, consistency: 'local' });
      await client.ready();
      clients.set(region, client);
      loads.push(new RegionLoad(region, client, o, acked, cartAdds));
    }
    const writes = (): number => loads.reduce((a, l) => a + l.totalAcked(), 0);
    const mark = async (): Promise<ByteMark> => {
      const tcp = await meter.snapshot();
      const st = await cluster.statuses();
      return {
        atMs: Date.now(), tcp, peerBytesSent: st.reduce((a, s) => a + (s.perf?.peer.bytesSent ?? 0), 0),
        nodeCrossRegionBytesSent: st.reduce((a, s) => a + (s.traffic?.crossRegion.bytesSent ?? 0), 0), writes: writes(),
      };
    };
    // The kernel forgets closed sockets: poll often enough to keep their last figures.
    ticker = setInterval(() => { meter.poll().catch(() => undefined); }, 1000);

    const t0 = Date.now();
    const progress = (phase: string): void => bar?.update(Math.min(o.warmSeconds + o.cutSeconds, (Date.now() - t0) / 1000), { phase });
    const runFor = async (seconds: number, phase: string): Promise<void> => {
      const end = Date.now() + seconds * 1000;
      while (Date.now() < end) {
        progress(phase);
        await sleep(Math.min(250, end - Date.now()));
      }
    };

    // Idle: what the cluster sends between regions with no load (gossip, anti-entropy).
    const markIdle = await mark();
    await sleep(IDLE_S * 1000);
    // Warm: steady state, all regions linked (40 ms apart).
    const markStart = await mark();
    for (const l of loads) l.start();
    await runFor(RAMP_S, 'warm (ramp)');
    const markSteady = await mark();
    await runFor(o.warmSeconds - RAMP_S, 'warm');
    const markCut = await mark();

    // Cut r3 off.
    await cutRegion(cluster, o.delayMs);
    const cutAt = Date.now();
    for (const l of loads) l.setPhase('cut');
    await runFor(o.cutSeconds, `r3 cut off (${o.cutSeconds} s)`);
    const hintsAtHeal = (await cluster.statuses()).map(hintsPending);

    // Heal: cart adds stop (their final state is checked below), set writes go on.
    for (const l of loads) {
      l.setPhase('healed');
      l.stopCarts();
    }
    await heal(cluster, o.delayMs);
    const healAt = Date.now();
    const cutMs = healAt - cutAt;
    const markHeal = await mark();
    bar?.stop();

    // Keys written during the cut are the ones that need hints: a random
    // sample of them is checked in quick passes (a pass over all keys takes
    // seconds, too coarse a clock); then every key acknowledged before the
    // heal is, to show that none was left behind.
    const cutKeys = acked.filter((a) => a.phase === 'cut').map((a) => a.key);
    const warmKeys = acked.filter((a) => a.phase === 'warm').map((a) => a.key);
    const cartKeys = [...cartAdds].filter(([, items]) => items.size > 0).map(([cart]) => `cart/${cart}`);
    const sample = [...shuffled(cutKeys).slice(0, o.sample), ...cartKeys];
    const hintsDrained = waitHintsDrained(cluster, healAt, o.convergeTimeoutS * 1000);
    process.stdout.write(`healed; checking a sample of ${sample.length} keys written during the cut (carts included) on all 3 replicas while the set load goes on\n`);
    const sampled = await waitConverged(cluster, sample, healAt, o, progressLine(healAt));
    const all = [...cutKeys, ...warmKeys, ...cartKeys];
    process.stdout.write(`checking all ${all.length} keys acknowledged before the heal\n`);
    const conv = await waitConverged(cluster, all, healAt, o, progressLine(healAt));
    const hintsDrainedMs = await hintsDrained;
    const markConverged = await mark();

    // Stop the load; then every cart must hold every acknowledged add.
    for (const l of loads) await l.stop();
    const markEnd = await mark();
    const carts = await checkCarts(clients, cartAdds);

    const perRegion = (phase: Phase): Record<string, RegionPhaseReport> => Object.fromEntries(loads.map((l) => {
      const c = l.counts[phase];
      return [l.region, {
        acked: c.acked, failed: c.failed, cartAdds: c.cartAdds, cartFailed: c.cartFailed, latency: summarize(Float64Array.from(c.latencyUs)),
      }];
    }));
    const idle = byteWindow(markIdle, markStart, regionOfPid);
    const steady = byteWindow(markSteady, markCut, regionOfPid);
    // The write traffic alone: steady bytes less the idle rate of background traffic over the same time.
    const steadyNetOfIdleBytesPerWrite = (steady.crossRegionBytes - (idle.crossRegionBytes / idle.seconds) * steady.seconds) / steady.writes;
    const report = {
      date: new Date().toISOString(),
      command: process.argv.slice(2),
      options: o,
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, loadavgStart: loadStart, loadavgEnd: os.loadavg(), node: process.version },
      cluster: { nodes: 6, regions: REGIONS, n: 3, consistency: 'local', delayMs: o.delayMs, cutRegion: CUT_REGION, sqliteSync: o.sqliteSync },
      cut: { ms: cutMs, writes: perRegion('cut'), hintsPendingAtHeal: hintsAtHeal },
      warm: { writes: perRegion('warm') },
      healed: { writes: perRegion('healed') },
      convergence: { sample: sampled, all: conv, hintsDrainedMs },
      carts,
      bytes: {
        idle,
        steady,
        cut: byteWindow(markCut, markHeal, regionOfPid),
        healToConverged: byteWindow(markHeal, markConverged, regionOfPid),
        overall: byteWindow(markStart, markEnd, regionOfPid),
      },
      steadyNetOfIdleBytesPerWrite,
      errors: Object.fromEntries(loads.map((l) => [l.region, Object.fromEntries(l.errors)])),
    };
    fs.mkdirSync(o.out, { recursive: true });
    const file = path.join(o.out, `region-cut-${report.date.replace(/[:.]/g, '-')}.json`);
    fs.writeFileSync(file, JSON.stringify(report, null, 2));
    printSummary(report);
    process.stdout.write(`\nresults: ${file}\n`);
  } finally {
    bar?.stop();
    if (ticker) clearInterval(ticker);
    for (const l of loads) await l.stop().catch(() => undefined);
    for (const c of clients.values()) await c.close().catch(() => undefined);
    await cluster.stop();
  }
}

type Report = {
  options: Options;
  machine: { loadavgStart: number[]; loadavgEnd: number[] };
  cut: { ms: number; writes: Record<string, RegionPhaseReport>; hintsPendingAtHeal: number[] };
  warm: { writes: Record<string, RegionPhaseReport> };
  convergence: { sample: ConvergenceResult; all: ConvergenceResult; hintsDrainedMs: number | null };
  carts: { carts: number; adds: number; missing: number };
  bytes: Record<'idle' | 'steady' | 'cut' | 'healToConverged' | 'overall', ByteWindow>;
  errors: Record<string, Record<string, number>>;
  steadyNetOfIdleBytesPerWrite: number;
};

function printSummary(r: Report): void {
  const line = (s = ''): void => { process.stdout.write(`${s}\n`); };
  const f = (x: number, d = 1): string => (Number.isFinite(x) ? x.toFixed(d) : '-');
  const o = r.options;
  line();
  line(`region cut: 6 nodes in r1 r2 r3, N=3, local, ${o.delayMs} ms between regions, ${o.rate > 0 ? `${o.rate} writes/s` : 'unpaced writes'} per region from ${o.callers} callers, SQLite ${o.sqliteSync}`);
  line(`load average at start ${r.machine.loadavgStart.map((x) => x.toFixed(2)).join(' ')}, at end ${r.machine.loadavgEnd.map((x) => x.toFixed(2)).join(' ')}`);
  line('warm (all regions linked):');
  for (const [region, w] of Object.entries(r.warm.writes)) {
    line(`  ${region}: ${w.acked} session writes acked, ${w.failed} failed; write p50 ${f(w.latency.p50Ms, 2)} ms p99 ${f(w.latency.p99Ms, 2)} ms`);
  }
  line(`during the ${f(r.cut.ms / 1000)} s cut of ${CUT_REGION}:`);
  for (const [region, w] of Object.entries(r.cut.writes)) {
    line(`  ${region}: ${w.acked} session writes acked, ${w.failed} failed; ${w.cartAdds} cart adds acked, ${w.cartFailed} failed; write p50 ${f(w.latency.p50Ms, 2)} ms p99 ${f(w.latency.p99Ms, 2)} ms`);
  }
  line(`  hints pending per node at the heal: ${r.cut.hintsPendingAtHeal.join(' ')}`);
  const c = r.convergence;
  line(`after the heal (set load still running):`);
  line(`  hints drained on every node: ${c.hintsDrainedMs === null ? 'not within the timeout' : `${f(c.hintsDrainedMs / 1000, 2)} s`}`);
  const conv = (what: string, x: ConvergenceResult): void => {
    const when = x.keysDivergentInFirstPass > 0
      ? `converged between ${f(x.lastDivergentMs / 1000, 2)} s and ${f(x.allConvergedMs / 1000, 2)} s after the heal`
      : `all seen converged by ${f(x.allConvergedMs / 1000, 2)} s after the heal`;
    line(`  ${what}: ${x.keys} keys on all 3 replicas with one digest: ${x.converged ? 'yes' : `NO, ${x.keysDivergentAtEnd} not`}; ${when} ` +
      `(${x.passes} passes; the first took ${f(x.firstPassMs / 1000, 2)} s and found ${x.keysDivergentInFirstPass} not converged)`);
    for (const d of x.divergent) line(`    NOT converged: ${d.key}: ${JSON.stringify(d.replicas)}`);
  };
  conv('sample of keys written during the cut', c.sample);
  conv('every key acked before the heal', c.all);
  line(`  carts: ${r.carts.adds} acked adds over ${r.carts.carts} carts, ${r.carts.missing} missing after the load stopped`);
  line(`cross-region bytes (kernel TCP counters between node processes):`);
  for (const [name, b] of Object.entries(r.bytes)) {
    line(`  ${name.padEnd(16)} ${f(b.seconds)} s, ${b.writes} writes: ${f(b.crossRegionBytesPerWrite, 0)} B/write, ${f(b.crossRegionBytes / b.seconds / 1000, 1)} kB/s across regions ` +
      `(${b.crossRegionBytes} B; ${b.sameRegionBytes} B within regions; nodes' own peer byte counters: ${b.nodePeerBytes} B, ` +
      `of it to other regions ${f(b.nodeCrossRegionBytesPerWrite, 0)} B/write)`);
  }
  line(`  steady, less the idle background rate: ${f(r.steadyNetOfIdleBytesPerWrite, 0)} B/write across regions`);
  const errs = Object.entries(r.errors).filter(([, e]) => Object.keys(e).length > 0);
  if (errs.length > 0) line(`errors: ${JSON.stringify(Object.fromEntries(errs))}`);
}

if (require.main === module) {
  main().then(() => process.exit(0), (err: unknown) => {
    process.stderr.write(`region-cut-bench: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  });
}
