/**
 * GET /admin/sessions/stats (DESIGN.md HTTP API; docs/sessions-ttl.md) on
 * in-process clusters: every node gives the same cluster-wide figures with
 * each session counted once (N=3 over 3 nodes keeps three copies of each),
 * a node that does not answer is covered by the next replica, and with N=1
 * a dead node's partitions make the answer partial. Also the /metrics share,
 * the admin page route and the CLI.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import type { RingstoreNode } from '../../src/node/ringstore-node';
import { partitionsOwnedBy } from '../../src/ring/ring';
import { partitionOf } from '../../src/ring/partitioner';
import type { SessionStats } from '../../src/replication/session-stats';
import { waitFor } from '../cluster/process-cluster';
import { InProcessCluster } from './in-process-cluster';

const BIN = path.resolve(__dirname, '../../../bin/ringstore.js');

async function stats(node: RingstoreNode): Promise<SessionStats> {
  const res = await fetch(`http://${node.addr}/admin/sessions/stats`);
  assert.equal(res.status, 200);
  return (await res.json()) as SessionStats;
}

function write(node: RingstoreNode, key: string, ttlMs: number, w = 3): Promise<unknown> {
  return node.coordinator.execute(key, { op: 'session-write', set: { user: key }, del: [], expiresAtMs: Date.now() + ttlMs }, { w });
}

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('node/session-stats-api on 3 nodes with N=3 (each session counted once)', function () {
  this.timeout(60_000);
  let c: InProcessCluster;
  const SHORT = 3;
  /** Live sessions; the destroy test takes one (sess:a0, 30 s TTL) away. */
  let live = 65;
  let within = { '60': 30, '300': 50, '1800': 60 };

  before(async () => {
    c = await InProcessCluster.start(3, { config: { sweepIntervalMs: 100, requestTimeoutMs: 800 } });
    const [a, b] = c.nodes;
    const writes: Array<Promise<unknown>> = [];
    for (let i = 0; i < 30; i++) writes.push(write(a!, `sess:a${i}`, 30_000));
    for (let i = 0; i < 20; i++) writes.push(write(b!, `sess:b${i}`, 200_000));
    for (let i = 0; i < 10; i++) writes.push(write(a!, `sess:c${i}`, 1_000_000));
    for (let i = 0; i < 5; i++) writes.push(write(b!, `sess:d${i}`, 5_000_000));
    for (let i = 0; i < 4; i++) writes.push(write(a!, `sess:x${i}`, 1_000_000));
    for (let i = 0; i < SHORT; i++) writes.push(write(b!, `sess:short${i}`, 1_000));
    writes.push(a!.coordinator.execute('cart/someone', { op: 'cart', action: 'add', item: 'sku', qty: 1 }, { w: 3 }));
    await Promise.all(writes);
    for (let i = 0; i < 4; i++) await b!.coordinator.execute(`sess:x${i}`, { op: 'session-destroy' }, { w: 3 });
    // Three replicas of each short session expire and get swept; they must count once.
    await waitFor('short sessions swept everywhere', () => c.nodes.every((n) => n.storage.get('sess:short0') === undefined &&
      n.storage.get(`sess:short${SHORT - 1}`) === undefined), 15_000, 100);
  });
  after(async () => {
    await c?.stop();
  });

  it('gives the same figures from every node, each live session once', async () => {
    const all = await Promise.all(c.nodes.map(stats));
    for (const s of all) {
      assert.equal(s.active, live, 'live sessions, not replicas (3 x 65) nor destroyed or expired ones');
      assert.deepEqual(s.expiringWithin, within);
      assert.deepEqual(s.ttlHistogram[s.ttlHistogram.length - 1], { le: '+Inf', count: live });
      for (let i = 1; i < s.ttlHistogram.length; i++) assert.ok(s.ttlHistogram[i]!.count >= s.ttlHistogram[i - 1]!.count);
      assert.equal(s.expiredPerMinute, SHORT, 'each expiry counted once, though three replicas swept it');
      assert.equal(s.sweptPerMinute, SHORT);
      assert.equal(s.partial, false);
      assert.deepEqual(s.partitions, { total: 256, covered: 256 });
      assert.deepEqual(s.nodes.answered, ['n1', 'n2', 'n3']);
      assert.deepEqual(s.nodes.failed, []);
      assert.ok(s.idleSeconds.max > 0 && s.idleSeconds.max < 60, `idle max ${s.idleSeconds.max}`);
      assert.ok(s.idleSeconds.p50 <= s.idleSeconds.p90 && s.idleSeconds.p90 <= s.idleSeconds.max);
      assert.ok(Math.abs(Date.parse(s.asOf) - Date.now()) < 10_000);
    }
    assert.deepEqual(all[1]!.ttlHistogram, all[0]!.ttlHistogram);
    assert.deepEqual(all[2]!.ttlHistogram, all[0]!.ttlHistogram);
  });

  it('stops counting a session the moment it is destroyed', async () => {
    await c.nodes[2]!.coordinator.execute('sess:a0', { op: 'session-destroy' }, { w: 3 });
    live = 64;
    within = { '60': 29, '300': 49, '1800': 59 };
    const s = await stats(c.nodes[0]!);
    assert.equal(s.active, live);
    assert.deepEqual(s.expiringWithin, within);
  });

  it('exports each node\'s share in /metrics, summing to the cluster-wide figures', async () => {
    const texts = await Promise.all(c.nodes.map(async (n) => (await fetch(`http://${n.addr}/metrics`)).text()));
    const value = (text: string, name: string, label: string): number => {
      const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(label));
      assert.ok(line, `no ${name} ${label}`);
      return Number(line.split(' ').pop());
    };
    const sum = (name: string, label = ''): number => texts.reduce((a, t) => a + value(t, name, label), 0);
    assert.equal(sum('ringstore_sessions_active'), live);
    assert.equal(sum('ringstore_sessions_expiring_within', 'seconds="300"'), within['300']);
    assert.equal(sum('ringstore_sessions_ttl_remaining', 'le="+Inf"'), live);
    assert.equal(sum('ringstore_sessions_expired_per_minute'), SHORT);
    for (const t of texts) assert.ok(value(t, 'ringstore_sessions_idle_seconds', 'quantile="0.9"') >= 0);
  });

  it('serves the admin page as one self-contained HTML document', async () => {
    const res = await fetch(`http://${c.nodes[1]!.addr}/admin/sessions`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    const html = await res.text();
    assert.ok(html.includes('/admin/sessions/stats'));
    assert.ok(!/<script[^>]+src=|<link[^>]+href=|https?:\/\/(?!www\.w3\.org\/2000\/svg)/.test(html), 'nothing loaded from elsewhere');
  });

  it('prints the figures with `ringstore sessions stats`, as a table and as JSON', async () => {
    const addr = c.nodes[2]!.addr;
    const table = await cli(['sessions', 'stats', '--node', addr]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, new RegExp(`^ {2}active {19}${live}$`, 'm'));
    assert.match(table.stdout, new RegExp(`^ {2}expiring within 5 min {4}${within['300']}$`, 'm'));
    assert.match(table.stdout, /^ {2}expired per minute {7}3$/m);
    assert.match(table.stdout, new RegExp(`^ {2}<= inf +${live} `, 'm'));
    assert.ok(!table.stdout.includes('PARTIAL'));
    const json = await cli(['sessions', 'stats', '--node', addr, '--json']);
    assert.equal(json.code, 0, json.stderr);
    const s = JSON.parse(json.stdout) as SessionStats;
    assert.equal(s.active, live);
    assert.deepEqual(s.expiringWithin, within);
  });

  it('fails clearly when the node cannot be reached', async () => {
    const r = await cli(['sessions', 'stats', '--node', '127.0.0.1:1']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /cannot reach http:\/\/127\.0\.0\.1:1\/admin\/sessions\/stats: .*ECONNREFUSED/);
  });

  it('asks the next replica when a node does not answer, and still counts everything once', async () => {
    const [a, , third] = c.nodes;
    // n3 drops everything it sends to n1's region: n1's requests to it time out.
    third!.network.setFaults({ cut: ['r1'] });
    try {
      const s = await stats(a!);
      assert.equal(s.active, live);
      assert.equal(s.partial, false);
      assert.ok(!s.nodes.answered.includes('n3'));
      // Asked and timed out (or, had its link dropped meanwhile, not asked at all).
      assert.ok(s.nodes.failed.includes('n3') || !s.nodes.asked.includes('n3'), JSON.stringify(s.nodes));
      assert.deepEqual(s.partitions.covered, 256);
    } finally {
      third!.network.clearFaults();
    }
  });

  it('covers a closed node\'s partitions from the other replicas', async () => {
    await c.nodes[2]!.close();
    await waitFor('n1 sees n3 unreachable', () => !c.nodes[0]!.network.isReachable(c.nodes[2]!.id), 10_000, 50);
    const s = await stats(c.nodes[0]!);
    assert.equal(s.active, live);
    assert.equal(s.partial, false);
    assert.deepEqual(s.nodes.answered, ['n1', 'n2']);
  });
});

describe('node/session-stats-api with N=1: partial when no replica answers', function () {
  this.timeout(60_000);
  let c: InProcessCluster;

  before(async () => {
    c = await InProcessCluster.start(3, { config: { n: 1, r: 1, w: 1, requestTimeoutMs: 800 } });
  });
  after(async () => {
    await c?.stop();
  });

  it('says partial: true and counts what the live nodes hold', async () => {
    const keys = Array.from({ length: 60 }, (_, i) => `sess:p${i}`);
    await Promise.all(keys.map((k) => write(c.nodes[0]!, k, 600_000, 1)));
    const full = await stats(c.nodes[0]!);
    assert.equal(full.active, 60);
    assert.equal(full.partial, false);

    const ring = c.nodes[0]!.currentRing();
    const lost = new Set(partitionsOwnedBy(ring, c.nodes[2]!.id));
    const onLost = keys.filter((k) => lost.has(partitionOf(k, ring.q))).length;
    await c.nodes[2]!.close();
    await waitFor('n1 sees n3 unreachable', () => !c.nodes[0]!.network.isReachable(c.nodes[2]!.id), 10_000, 50);
    const s = await stats(c.nodes[0]!);
    assert.equal(s.partial, true);
    assert.deepEqual(s.partitions, { total: ring.q, covered: ring.q - lost.size });
    assert.equal(s.active, 60 - onLost);
    const table = await cli(['sessions', 'stats', '--node', c.nodes[1]!.addr]);
    assert.match(table.stdout, /^PARTIAL: no replica answered for \d+ partitions/m);
  });
});
