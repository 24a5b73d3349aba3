/**
 * Multi-host test (issue 7): three `ringstore node` processes, each alone in
 * a network namespace of its own, as if on three hosts in three regions,
 * linked by veth pairs to a bridge that lives in a fourth ("hub")
 * namespace. Everything the test creates is inside those namespaces: the
 * host's own interfaces and addresses are never touched, and after()
 * deletes the namespaces (which takes their bridge and veths with them).
 * The test reaches each node through a Unix-socket forwarder it runs in the
 * node's namespace (unix-forwarder.ts).
 *
 * It adds inter-region latency with tc netem where the kernel has it
 * (skipped with a message where not), cuts one host off by taking its link
 * down, checks the cluster still takes every write (the cut-off region with
 * consistency=local, DESIGN.md Regions), restores the link and checks every
 * node converges to the same data. Peer links authenticate with a cluster
 * secret, as across real hosts.
 *
 * Needs root and iproute2 (`ip netns`); skips with a message otherwise.
 */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';

const BIN = path.resolve(__dirname, '../../../bin/ringstore.js');
const FORWARDER = path.resolve(__dirname, 'unix-forwarder.js');
const PORT = 7000;
const SUBNET = '10.231.77';
const NODES = [1, 2, 3];

const tag = `rs${process.pid % 100000}`;
const hubNs = `${tag}-hub`;
const nodeNs = (i: number): string => `${tag}-n${i}`;
const ipOf = (i: number): string => `${SUBNET}.${i}`;
const hubVeth = (i: number): string => `v${i}`;

function ip(args: string[]): { ok: boolean; out: string } {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

function must(args: string[]): void {
  const r = ip(args);
  if (!r.ok) throw new Error(`ip ${args.join(' ')} failed: ${r.out}`);
}

/** Why the test cannot run here, or null. */
function unavailable(): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'not running as root';
  if (spawnSync('ip', ['-V']).status !== 0) return 'the ip command (iproute2) is not installed';
  const probe = `${tag}-probe`;
  const r = ip(['netns', 'add', probe]);
  if (!r.ok) return `ip netns add failed: ${r.out}`;
  ip(['netns', 'del', probe]);
  return null;
}

interface Res {
  status: number;
  body: string;
}

function call(sock: string, method: string, p: string, body?: string, timeoutMs = 5000): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: sock, method, path: p, headers: body === undefined ? {} : { 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${p}: no answer within ${timeoutMs} ms`)));
    req.end(body);
  });
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  let last: unknown = null;
  while (Date.now() < end) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

describe('multi-host cluster in network namespaces', function () {
  this.timeout(120_000);
  const procs: ChildProcess[] = [];
  let root = '';
  const sockOf = (i: number): string => path.join(root, `n${i}.sock`);
  let created = false;

  before(function () {
    const why = unavailable();
    if (why !== null) {
      console.log(`      (skipped: network namespaces are unavailable: ${why})`);
      this.skip();
    }
  });

  after(async () => {
    for (const p of procs) {
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    }
    await new Promise((r) => setTimeout(r, 100));
    if (created) for (const ns of [hubNs, ...NODES.map(nodeNs)]) ip(['netns', 'del', ns]);
    if (root && !process.env.RINGSTORE_KEEP_TEST_DATA) fs.rmSync(root, { recursive: true, force: true });
  });

  it('takes every write while a host is cut off, and converges once its link is back', async () => {
    const started = Date.now();
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'ringstore-netns-'));
    const secretFile = path.join(root, 'secret');
    fs.writeFileSync(secretFile, 'netns test cluster secret 0123456789\n', { mode: 0o600 });

    // The network: a bridge in the hub namespace, one veth pair per host.
    for (const ns of [hubNs, ...NODES.map(nodeNs)]) ip(['netns', 'del', ns]); // leftovers of a crashed run
    created = true;
    must(['netns', 'add', hubNs]);
    must(['-n', hubNs, 'link', 'add', 'br0', 'type', 'bridge']);
    must(['-n', hubNs, 'link', 'set', 'br0', 'up']);
    for (const i of NODES) {
      const ns = nodeNs(i);
      must(['netns', 'add', ns]);
      must(['-n', hubNs, 'link', 'add', hubVeth(i), 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      must(['-n', hubNs, 'link', 'set', hubVeth(i), 'master', 'br0', 'up']);
      must(['-n', ns, 'addr', 'add', `${ipOf(i)}/24`, 'dev', 'eth0']);
      must(['-n', ns, 'link', 'set', 'eth0', 'up']);
      must(['-n', ns, 'link', 'set', 'lo', 'up']);
    }

    // Inter-region latency, where the kernel has netem.
    const netem = spawnSync('ip', ['netns', 'exec', hubNs, 'tc', 'qdisc', 'add', 'dev', hubVeth(3), 'root', 'netem', 'delay', '20ms'], { encoding: 'utf8' });
    const haveNetem = netem.status === 0;
    if (!haveNetem) {
      console.log(`      (netem part skipped: this kernel has no netem qdisc: ${`${netem.stderr ?? ''}`.trim() || `tc exited ${netem.status}`})`);
    }

    // The nodes and a forwarder next to each.
    const seeds = NODES.map((i) => `${ipOf(i)}:${PORT}`).join(',');
    for (const i of NODES) {
      const ns = nodeNs(i);
      const log = fs.openSync(path.join(root, `n${i}.log`), 'a');
      procs.push(spawn('ip', ['netns', 'exec', ns, process.execPath, BIN, 'node', '--id', `n${i}`, '--host', ipOf(i), '--port', String(PORT),
        '--data', path.join(root, `n${i}`), '--seeds', seeds, '--region', `region-${i}`, '--secret-file', secretFile], {
        stdio: ['ignore', log, log], env: { ...process.env, RINGSTORE_LOG_LEVEL: 'info' },
      }));
      fs.closeSync(log);
      const fwd = spawn('ip', ['netns', 'exec', ns, process.execPath, FORWARDER, sockOf(i), ipOf(i), String(PORT)], { stdio: ['ignore', 'pipe', 'inherit'] });
      procs.push(fwd);
      await new Promise<void>((resolve, reject) => {
        fwd.stdout!.once('data', () => resolve());
        fwd.once('exit', (code) => reject(new Error(`forwarder for n${i} exited with ${code}`)));
      });
    }
    const status = async (i: number): Promise<{ members: Array<{ id: string; state: string }>; keys: number; hints: { pending: number } }> => {
      const r = await call(sockOf(i), 'GET', '/admin/status');
      assert.equal(r.status, 200);
      return JSON.parse(r.body) as { members: Array<{ id: string; state: string }>; keys: number; hints: { pending: number } };
    };
    const allAlive = async (ids: number[]): Promise<boolean> => {
      for (const i of ids) {
        const st = await status(i);
        if (!ids.every((j) => st.members.find((m) => m.id === `n${j}`)?.state === 'alive')) return false;
      }
      return true;
    };
    await waitFor('three hosts to see each other alive', () => allAlive(NODES), 30_000);

    const expected = new Map<string, string>();
    const put = async (via: number, key: string, query = ''): Promise<void> => {
      const value = `${key}@n${via}`;
      const r = await call(sockOf(via), 'PUT', `/kv/${key}${query}`, value);
      assert.equal(r.status, 204, `PUT ${key} via n${via}${query}: ${r.status} ${r.body}`);
      expected.set(key, value);
    };
    for (let k = 0; k < 30; k++) await put(NODES[k % 3]!, `before-${k}`);

    // Cut n3 off: its link to the bridge goes down.
    must(['-n', hubNs, 'link', 'set', hubVeth(3), 'down']);
    for (let k = 0; k < 20; k++) await put(k % 2 === 0 ? 1 : 2, `during-${k}`);
    // The cut-off region keeps taking writes with local consistency.
    for (let k = 0; k < 10; k++) await put(3, `island-${k}`, '?consistency=local');
    await waitFor('n1 to see n3 gone', async () => (await status(1)).members.find((m) => m.id === 'n3')?.state !== 'alive', 30_000);

    // Restore the link; every node ends with every key and no hints.
    must(['-n', hubNs, 'link', 'set', hubVeth(3), 'up']);
    await waitFor('the hosts to see each other again', () => allAlive(NODES), 30_000);
    await waitFor(`every host to hold all ${expected.size} keys with no hints pending`, async () => {
      for (const i of NODES) {
        const st = await status(i);
        if (st.keys !== expected.size || st.hints.pending !== 0) return false;
      }
      return true;
    }, 40_000);
    for (const i of NODES) {
      for (const [key, value] of expected) {
        const r = await call(sockOf(i), 'GET', `/kv/${key}?r=1&consistency=local`);
        assert.equal(r.status, 200, `GET ${key} on n${i}`);
        assert.equal(r.body, value, `${key} on n${i}`);
      }
    }
    console.log(`      ${expected.size} writes taken (10 by the cut-off host), converged on 3 hosts in ${((Date.now() - started) / 1000).toFixed(1)} s${haveNetem ? ', with 20 ms netem delay to n3' : ''}`);
  });
});
