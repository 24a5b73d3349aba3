/**
 * A real node for the fuzz tests (one RingstoreNode on loopback with a
 * SQLite directory, a cluster secret and bearer tokens), with known data
 * written before the fuzzing and checked byte for byte after it: the
 * fuzzing may add keys of its own, but must not change these.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TokenTable } from '../../src/node/auth';
import { createLogger } from '../../src/node/logger';
import { RingstoreNode } from '../../src/node/ringstore-node';
import { freePorts } from '../cluster/process-cluster';

export const FUZZ_SECRET = Buffer.from('fuzzing cluster secret, long enough');
export const ADMIN_TOKEN = 'fuzz-admin-token-0123456789';
export const READ_TOKEN = 'fuzz-read-token-0123456789';

interface Snapshot {
  path: string;
  status: number;
  contentType: string | null;
  context: string | null;
  body: string;
}

export interface FuzzNode {
  node: RingstoreNode;
  addr: string;
  /** Paths of the known data (GET them to compare); no fuzz input can produce these names. */
  knownPaths: string[];
  /** Every known path reads back exactly as it did before the fuzzing. */
  verify(): Promise<void>;
  stop(): Promise<void>;
}

const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };

async function read(addr: string, p: string): Promise<Snapshot> {
  const res = await fetch(`http://${addr}${p}`, { headers: auth });
  return {
    path: p,
    status: res.status,
    contentType: res.headers.get('content-type'),
    context: res.headers.get('x-ringstore-context'),
    body: Buffer.from(await res.arrayBuffer()).toString('hex'),
  };
}

export async function startFuzzNode(): Promise<FuzzNode> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ringstore-fuzz-'));
  const [port] = await freePorts(1);
  const node = await RingstoreNode.start({
    id: 'fuzzed', host: '127.0.0.1', port: port!, dataDir: path.join(root, 'fuzzed'), region: 'r1',
    logger: createLogger({ level: process.env.FUZZ_LOG_LEVEL ?? 'silent' }),
    secret: FUZZ_SECRET,
    tokens: TokenTable.parse(`admin ${ADMIN_TOKEN}\nread ${READ_TOKEN}\n`),
    config: { n: 1, r: 1, w: 1, gossipIntervalMs: 200 },
  });
  const addr = node.addr;
  // Names no generator produces: a random tag no fuzz input can guess.
  const tag = `known-${randomBytes(6).toString('hex')}`;
  const knownPaths: string[] = [];
  for (let i = 0; i < 12; i++) {
    const p = `/kv/${tag}-${i}`;
    const res = await fetch(`http://${addr}${p}`, {
      method: 'PUT', body: randomBytes(1 + i * 37), headers: { ...auth, 'Content-Type': i % 2 ? 'application/octet-stream' : 'text/plain' },
    });
    assert.equal(res.status, 204, `writing ${p}`);
    knownPaths.push(p);
  }
  // Siblings: two blind writes of one key.
  const sib = `/kv/${tag}-siblings`;
  for (const v of ['left', 'right']) assert.equal((await fetch(`http://${addr}${sib}`, { method: 'PUT', body: v, headers: auth })).status, 204);
  knownPaths.push(sib);
  for (let i = 0; i < 3; i++) {
    const p = `/carts/${tag}-cart-${i}`;
    for (const item of ['a', 'b']) {
      const res = await fetch(`http://${addr}${p}`, { method: 'POST', body: JSON.stringify({ op: 'add', item, qty: i + 1 }), headers: auth });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
    }
    knownPaths.push(p);
  }
  const before = await Promise.all(knownPaths.map((p) => read(addr, p)));
  assert.equal(before.find((s) => s.path === sib)?.status, 300, 'the sibling key shows its two siblings');
  return {
    node, addr, knownPaths,
    async verify() {
      const after = await Promise.all(knownPaths.map((p) => read(addr, p)));
      assert.deepEqual(after, before, 'known data changed');
    },
    async stop() {
      await node.close();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
