/**
 * Fuzzing every peer message handler of a real node (issue 7) over an
 * authenticated ws link: messages of every type the node handles (the core
 * replication and gossip types, plus whatever features registered with
 * addPeerHandler), each valid template damaged in one place (a field
 * dropped, given a value of the wrong type, nested junk, random fields),
 * then raw frames of arbitrary bytes and values, then the same garbage on
 * links that never authenticated. Checks: every request is answered, with
 * an error carrying a stable code (never RS_ERR_INTERNAL, the sign of a
 * handler that threw on input it did not validate); the node keeps serving;
 * the known data reads back byte for byte.
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { decodeFrame, KIND_ERROR, KIND_REPLY, type Envelope } from '../../src/transport/frame-codec';
import { handshake, openRawPeer, type RawPeer } from '../transport/auth-client';
import { FUZZ_SECRET, startFuzzNode, type FuzzNode } from './fuzz-node';
import { fuzzRuns, fuzzSeed, report } from './fuzz-seed';

const packr = new Packr({ useRecords: false, largeBigIntToFloat: true });

/** Valid messages of the core types; nested paths worth damaging are listed with each. */
const TEMPLATES: Record<string, { msg: Record<string, unknown>; paths: string[][] }> = {
  put: {
    msg: { key: 'fuzz/put', obj: { kind: 'opaque', dvv: { vv: { a: 1 }, siblings: [{ dot: ['a', 1], value: { ct: 'text/plain', b: Buffer.from('x') } }] } } },
    paths: [['key'], ['obj'], ['obj', 'kind'], ['obj', 'dvv'], ['obj', 'dvv', 'vv'], ['obj', 'dvv', 'siblings'], ['obj', 'dvv', 'siblings', '0'],
      ['obj', 'dvv', 'siblings', '0', 'dot'], ['obj', 'dvv', 'siblings', '0', 'value'], ['obj', 'dvv', 'siblings', '0', 'value', 'b'], ['hintFor']],
  },
  'put-cart': {
    msg: { type: 'put', key: 'fuzz/cart', obj: { kind: 'cart', c: { entries: [['a~1', 2, 'i', 1]], vv: { 'a~1': 2 }, cloud: [['b~1', 3]] } }, echo: true },
    paths: [['echo'], ['obj', 'c'], ['obj', 'c', 'entries'], ['obj', 'c', 'entries', '0'], ['obj', 'c', 'entries', '0', '0'], ['obj', 'c', 'entries', '0', '1'],
      ['obj', 'c', 'entries', '0', '2'], ['obj', 'c', 'entries', '0', '3'], ['obj', 'c', 'vv'], ['obj', 'c', 'vv', 'a~1'], ['obj', 'c', 'cloud'],
      ['obj', 'c', 'cloud', '0'], ['obj', 'c', 'cloud', '0', '1']],
  },
  // A peer still running the format before ORSWOT sends {adds, removed}; the node migrates it (wire-validate.ts).
  'put-cart-legacy': {
    msg: { type: 'put', key: 'fuzz/cart-legacy', obj: { kind: 'cart', c: { adds: { 'u~1~2': ['i', 1] }, removed: ['u~1~1'] } } },
    paths: [['obj', 'c'], ['obj', 'c', 'adds'], ['obj', 'c', 'adds', 'u~1~2'], ['obj', 'c', 'adds', 'u~1~2', '1'], ['obj', 'c', 'removed'], ['obj', 'c', 'removed', '0']],
  },
  'put-session': {
    msg: { type: 'put', key: 'fuzz/sess', obj: { kind: 'session', s: { fields: { f: { v: 1, t: 1, n: 'a' } }, expiresAtMs: 1, touchedAtMs: 1, destroyed: false } } },
    paths: [['obj', 's'], ['obj', 's', 'fields'], ['obj', 's', 'fields', 'f'], ['obj', 's', 'fields', 'f', 't'], ['obj', 's', 'expiresAtMs'], ['obj', 's', 'touchedAtMs'], ['obj', 's', 'destroyed']],
  },
  get: { msg: { key: 'fuzz/get' }, paths: [['key'], ['own']] },
  coord: {
    msg: { key: 'fuzz/coord', op: { op: 'put', ct: 'text/plain', body: Buffer.from('v'), context: {} }, opts: { r: 1, w: 1 } },
    paths: [['key'], ['op'], ['op', 'op'], ['op', 'ct'], ['op', 'body'], ['op', 'context'], ['opts'], ['opts', 'r'], ['opts', 'consistency']],
  },
  'coord-cart': {
    msg: { type: 'coord', key: 'fuzz/coord-cart', op: { op: 'cart', action: 'add', item: 'i', qty: 1 }, opts: {} },
    paths: [['op', 'action'], ['op', 'item'], ['op', 'qty']],
  },
  'coord-session': {
    msg: { type: 'coord', key: 'fuzz/coord-sess', op: { op: 'session-write', set: { a: 1 }, del: [], expiresAtMs: 1 }, opts: {} },
    paths: [['op', 'set'], ['op', 'del'], ['op', 'expiresAtMs']],
  },
  gossip: { msg: { members: [], beats: [] }, paths: [['members'], ['beats'], ['members', '0']] },
  'handoff-begin': { msg: { partition: 0, keys: 0 }, paths: [['partition'], ['keys']] },
  'handoff-end': { msg: { partition: 0, keys: 0 }, paths: [['partition'], ['keys']] },
  'session-stats': { msg: { partitions: [0], nowMs: 0 }, paths: [['partitions'], ['nowMs'], ['partitions', '0']] },
  'ae-level': { msg: { partition: 0, tree: 'x', level: 0, parents: [0] }, paths: [['partition'], ['tree'], ['level'], ['parents'], ['parents', '0']] },
  'ae-keys': { msg: { partition: 0, tree: 'x', segments: [0] }, paths: [['partition'], ['tree'], ['segments'], ['segments', '0']] },
};
/** Replies and other types a node should never be asked: each must be refused cleanly. */
const STRAY_TYPES = ['put-ok', 'get-ok', 'coord-ok', 'gossip-ok', 'handoff-ok', 'session-stats-ok', 'ae-level-ok', 'ae-keys-ok', 'hello', 'auth-proof', 'auth-challenge'];

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (v instanceof Uint8Array) return 'bytes';
  return typeof v;
}

function clone<T>(x: T): T {
  return packr.unpack(packr.pack(x)) as T;
}

/** Damage `msg` at `p`: delete it, or put a value of another kind there (creating parents as needed). */
function damage(msg: Record<string, unknown>, p: string[], how: 'drop' | 'retype', junk: unknown): void {
  let at: Record<string, unknown> = msg;
  for (const k of p.slice(0, -1)) {
    const next = at[k];
    if (typeof next !== 'object' || next === null) {
      at[k] = junk;
      return;
    }
    at = next as Record<string, unknown>;
  }
  const last = p[p.length - 1]!;
  if (how === 'drop') {
    delete at[last];
    return;
  }
  const original = at[last];
  at[last] = kindOf(junk) === kindOf(original) ? (typeof original === 'string' ? 42 : 'wrong') : junk;
}

const junkValue = fc.anything({ maxDepth: 3, withBigInt: true, withDate: true, withMap: true, withTypedArray: true, maxKeys: 4 });

export type Case = { type: string; msg: Record<string, unknown> };

function caseArb(types: string[]): fc.Arbitrary<Case> {
  const templateNames = Object.keys(TEMPLATES);
  const damaged = fc.tuple(fc.constantFrom(...templateNames), fc.nat(), fc.constantFrom('drop' as const, 'retype' as const), junkValue, fc.boolean(), fc.dictionary(fc.string({ maxLength: 6 }), junkValue, { maxKeys: 2 }))
    .map(([name, i, how, junk, extra, fields]) => {
      const t = TEMPLATES[name]!;
      const type = (t.msg.type as string | undefined) ?? name;
      const msg = clone({ ...t.msg, type });
      damage(msg, t.paths[i % t.paths.length]!, how, junk);
      if (extra) Object.assign(msg, fields, { type });
      return { type, msg };
    });
  const random = fc.tuple(fc.constantFrom(...types, ...STRAY_TYPES), fc.dictionary(fc.string({ maxLength: 8 }), junkValue, { maxKeys: 5 }))
    .map(([type, fields]) => ({ type, msg: { ...fields, type } }));
  const unknownType = fc.tuple(fc.string({ minLength: 1, maxLength: 20 }), fc.dictionary(fc.string({ maxLength: 8 }), junkValue, { maxKeys: 3 }))
    .map(([type, fields]) => ({ type, msg: { ...fields, type } }));
  return fc.oneof({ arbitrary: damaged, weight: 6 }, { arbitrary: random, weight: 3 }, { arbitrary: unknownType, weight: 1 });
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 2));
  }
  return true;
}

describe('fuzz: peer message handlers of a real node', function () {
  this.timeout(90_000);
  let f: FuzzNode;
  let url: string;

  before(async () => {
    f = await startFuzzNode();
    url = `ws://${f.addr}/peer`;
  });
  after(async () => {
    await f?.stop();
  });

  it('answers every damaged message of every type with a clean error, and keeps the data intact', async () => {
    const seed = fuzzSeed();
    const extra = [...(f.node as unknown as { peerHandlers: Map<string, unknown> }).peerHandlers.keys()];
    const types = [...new Set(['put', 'get', 'coord', 'gossip', ...extra])];
    let peer: RawPeer = (await handshake(url, FUZZ_SECRET, 'fuzzer')).peer;
    let closed = false;
    void peer.closed.then(() => { closed = true; });
    let nextId = 1;
    let cases = 0;
    let unpackable = 0;
    let undecodable = 0;
    const codes = new Map<string, number>();
    const internal: string[] = [];
    await fc.assert(fc.asyncProperty(fc.array(caseArb(types), { minLength: 1, maxLength: 8 }), fc.boolean(), async (batch, withOneWay) => {
      const envs: unknown[] = [];
      const ids: number[] = [];
      for (const c of batch) {
        const id = nextId++;
        ids.push(id);
        envs.push([0, id, c.msg]);
      }
      if (withOneWay) envs.push([2, 0, batch[0]!.msg], [1, 999_999_999, { type: 'stray-reply' }], [3, 999_999_998, { code: 'X', message: 'stray' }]);
      let frame: Buffer;
      try {
        frame = packr.pack(envs);
      } catch {
        unpackable += batch.length;
        return true;
      }
      cases += batch.length;
      if (closed) {
        // A previous case closed the link (and failed); a fresh one lets fast-check shrink it.
        peer = (await handshake(url, FUZZ_SECRET, 'fuzzer')).peer;
        closed = false;
        void peer.closed.then(() => { closed = true; });
      }
      try {
        decodeFrame(frame);
      } catch {
        // Not even a frame (e.g. a msgpack map with non-string keys): the
        // node must close the link, as for any malformed frame.
        cases -= batch.length;
        undecodable++;
        peer.sendRaw(frame);
        assert.ok(await until(() => closed, 3000), 'a malformed frame closes the link');
        return true;
      }
      const start = peer.received.length;
      peer.sendRaw(frame);
      const answered = (): Envelope[] => peer.received.slice(start).filter((e) => ids.includes(e[1]) && (e[0] === KIND_REPLY || e[0] === KIND_ERROR));
      const ok = await until(() => answered().length === ids.length || closed, 5000);
      assert.ok(!closed, `the node closed the link on ${fc.stringify(batch)}`);
      assert.ok(ok, `every request answered (got ${answered().length} of ${ids.length}) for ${fc.stringify(batch.map((c) => c.type))}`);
      for (const e of answered()) {
        if (e[0] !== KIND_ERROR) continue;
        const code = (e[2] as unknown as { code: string }).code;
        codes.set(code, (codes.get(code) ?? 0) + 1);
        if (code === 'RS_ERR_INTERNAL') {
          const c = batch[ids.indexOf(e[1])]!;
          internal.push(`${c.type}: ${(e[2] as unknown as { message: string }).message}`);
        }
      }
      return true;
    }), { seed, numRuns: fuzzRuns(400) });
    peer.close();

    // Raw frames on an authenticated link: arbitrary bytes and msgpack values.
    let rawCases = 0;
    await fc.assert(fc.asyncProperty(fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 200 }).map((b) => Buffer.from(b)), junkValue.map((v) => {
      try {
        return packr.pack(v);
      } catch {
        return Buffer.from([0xc1]); // never-used msgpack byte
      }
    })), async (bytes) => {
      rawCases++;
      peer = (await handshake(url, FUZZ_SECRET, 'fuzzer-raw')).peer;
      peer.sendRaw(bytes);
      // Either the node closes the link (malformed frame) or answers what it could decode.
      await Promise.race([peer.closed, new Promise((r) => setTimeout(r, 20))]);
      peer.close();
      return true;
    }), { seed: seed + 1, numRuns: fuzzRuns(120) });

    // Garbage on links that never authenticated: always refused, never dispatched.
    let preAuthCases = 0;
    let preAuthClosed = 0;
    await fc.assert(fc.asyncProperty(fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 200 }).map((b) => Buffer.from(b)),
      caseArb(types).map((c) => {
        try {
          return packr.pack([[0, 1, c.msg]]);
        } catch {
          return Buffer.from([0xc1]);
        }
      }),
      fc.constant(packr.pack([[2, 0, { type: 'hello', id: 'x', addr: 'y:1', region: null }], [0, 1, { type: 'get', key: 'k' }]])),
    ), async (bytes) => {
      preAuthCases++;
      const p = await openRawPeer(url);
      p.sendRaw(bytes);
      const code = await Promise.race([p.closed, new Promise<number>((r) => setTimeout(() => r(-1), 2000))]);
      const answers = p.received.filter((e) => e[0] === KIND_REPLY || e[0] === KIND_ERROR);
      p.close();
      assert.deepEqual(answers, [], 'nothing is answered before authentication');
      if (code === 1002 || code === 1008) preAuthClosed++;
      return true;
    }), { seed: seed + 2, numRuns: fuzzRuns(80) });

    const status = await fetch(`http://${f.addr}/admin/status`, { headers: { Authorization: 'Bearer fuzz-admin-token-0123456789' } });
    assert.equal(status.status, 200, 'the node still serves');
    await status.arrayBuffer();
    await f.verify();
    const total = cases + rawCases + preAuthCases;
    report('peer handlers', total, seed,
      `${cases} damaged messages over ${types.length + STRAY_TYPES.length} types (${types.join(', ')} + strays), ` +
      `${rawCases} raw frames, ${preAuthCases} pre-auth frames (${preAuthClosed} closed at once); ` +
      `${unpackable} not packable, ${undecodable} batches not decodable as frames (link closed each time); error codes ${JSON.stringify(Object.fromEntries(codes))}`);
    assert.deepEqual(internal.slice(0, 10), [], `handlers threw on unvalidated input ${internal.length} times`);
  });
});
