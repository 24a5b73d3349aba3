/**
 * Fuzzing the peer frame decoder (src/transport/frame-codec.ts; issue 7):
 * arbitrary bytes, arbitrary msgpack values, msgpack extension types, and
 * valid frames with bytes flipped, cut or spliced. decodeFrame must either
 * return well-formed envelopes or throw BadFrameError, nothing else, and no
 * input may reach Object.prototype.
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { BadFrameError } from '../../src/core/errors';
import { decodeFrame, encodeFrame, type Envelope } from '../../src/transport/frame-codec';
import { fuzzRuns, fuzzSeed, report } from './fuzz-seed';

const raw = new Packr({ useRecords: false, largeBigIntToFloat: true });

/** Decode, and check the outcome is one of the two allowed ones. */
function decodesSafely(bytes: Uint8Array): 'ok' | 'bad' {
  let envs: Envelope[];
  try {
    envs = decodeFrame(bytes);
  } catch (err) {
    if (!(err instanceof BadFrameError)) throw new Error(`decodeFrame threw ${String(err)} on ${Buffer.from(bytes).toString('hex').slice(0, 200)}`);
    return 'bad';
  }
  assert.ok(Array.isArray(envs) && envs.length > 0);
  for (const e of envs) {
    assert.ok(Array.isArray(e) && e.length === 3);
    assert.ok([0, 1, 2, 3].includes(e[0]));
    assert.ok(Number.isSafeInteger(e[1]));
    const m = e[2] as unknown;
    assert.ok(typeof m === 'object' && m !== null && !Array.isArray(m));
    const proto = Object.getPrototypeOf(m);
    assert.ok(proto === Object.prototype || proto === null, 'messages are plain objects');
  }
  return 'ok';
}

const anyValue = fc.anything({
  withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true, withNullPrototype: true,
  withObjectString: true, maxDepth: 4,
});

/** msgpack ext records (fixext 1-16, ext 8) with any type byte: msgpackr gives some of them meanings. */
const extension = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 40 })).map(([type, payload]) => {
  const fixed: Record<number, number> = { 1: 0xd4, 2: 0xd5, 4: 0xd6, 8: 0xd7, 16: 0xd8 };
  const head = fixed[payload.length] !== undefined ? [fixed[payload.length]!, type] : [0xc7, payload.length, type];
  return Buffer.concat([Buffer.from(head), payload]);
});

const validFrame = fc.array(
  fc.oneof(
    fc.tuple(fc.constant(0 as const), fc.integer({ min: 1, max: 2 ** 40 }), fc.record({ type: fc.constantFrom('put', 'get', 'gossip', 'x'), key: fc.string() })),
    fc.tuple(fc.constant(2 as const), fc.constant(0 as const), fc.record({ type: fc.constant('hello'), id: fc.string({ minLength: 1 }) })),
    fc.tuple(fc.constant(3 as const), fc.integer({ min: 1, max: 1000 }), fc.record({ code: fc.string(), message: fc.string() })),
  ),
  { minLength: 1, maxLength: 6 },
).map((envs) => encodeFrame(envs as unknown as Envelope[]));

/** A valid frame, then damaged: bytes flipped, cut short, extended, or with an extension spliced in. */
const damagedFrame = fc.tuple(
  validFrame,
  fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
  fc.nat(),
  fc.constantFrom('flip', 'cut', 'extend', 'splice'),
  extension,
).map(([frame, flips, at, how, ext]) => {
  const b = Buffer.from(frame);
  switch (how) {
    case 'flip':
      for (const [i, x] of flips) b[i % b.length] ^= x;
      return b;
    case 'cut':
      return b.subarray(0, at % b.length);
    case 'extend':
      return Buffer.concat([b, Buffer.from(flips.map(([, x]) => x))]);
    default: {
      const i = at % b.length;
      return Buffer.concat([b.subarray(0, i), ext, b.subarray(i)]);
    }
  }
});

describe('fuzz: frame decoder', function () {
  this.timeout(60_000);

  it('returns well-formed envelopes or throws BadFrameError, for every input', () => {
    const seed = fuzzSeed();
    const protoBefore = Object.getOwnPropertyNames(Object.prototype).sort().join();
    const counts = { ok: 0, bad: 0, unpackable: 0 };
    const tally = (r: 'ok' | 'bad'): true => {
      counts[r]++;
      return true;
    };
    const runs = {
      bytes: fuzzRuns(5000),
      values: fuzzRuns(2000),
      envelopes: fuzzRuns(2000),
      extensions: fuzzRuns(2000),
      damaged: fuzzRuns(4000),
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => tally(decodesSafely(b))), { seed, numRuns: runs.bytes });
    fc.assert(fc.property(anyValue, (v) => {
      let bytes: Buffer;
      try {
        bytes = raw.pack(v);
      } catch {
        counts.unpackable++; // not packable (e.g. a symbol): nothing to send
        return true;
      }
      return tally(decodesSafely(bytes));
    }), { seed: seed + 1, numRuns: runs.values });
    // Structured but wrong: arrays of triples whose parts are anything.
    fc.assert(fc.property(fc.array(fc.tuple(fc.oneof(fc.integer({ min: -2, max: 5 }), anyValue), fc.oneof(fc.integer(), anyValue), anyValue), { maxLength: 4 }), (envs) => {
      let bytes: Buffer;
      try {
        bytes = raw.pack(envs);
      } catch {
        counts.unpackable++;
        return true;
      }
      return tally(decodesSafely(bytes));
    }), { seed: seed + 2, numRuns: runs.envelopes });
    fc.assert(fc.property(fc.array(extension, { minLength: 1, maxLength: 3 }), fc.boolean(), (exts, wrap) => {
      // An extension as the whole frame, or as the message of a request.
      const body = Buffer.concat(exts);
      const bytes = wrap ? Buffer.concat([Buffer.from([0x91, 0x93, 0x00, 0x01]), body]) : body;
      return tally(decodesSafely(bytes));
    }), { seed: seed + 3, numRuns: runs.extensions });
    fc.assert(fc.property(damagedFrame, (b) => tally(decodesSafely(b))), { seed: seed + 4, numRuns: runs.damaged });
    const total = Object.values(runs).reduce((a, b) => a + b, 0);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.getOwnPropertyNames(Object.prototype).sort().join(), protoBefore, 'nothing reached Object.prototype');
    report('frame decoder', total, seed, `${counts.ok} decoded, ${counts.bad} refused with BadFrameError, ${counts.unpackable} not packable by msgpackr`);
  });
});
