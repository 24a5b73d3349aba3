import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { BadFrameError } from '../../src/core/errors';
import {
  decodeFrame,
  encodeEnvelope,
  encodeFrame,
  frameOf,
  type Envelope,
} from '../../src/transport/frame-codec';

// A raw packer, to build frames the codec itself would refuse to produce.
const raw = new Packr({ useRecords: false });

const key = fc.string({ maxLength: 8 }).filter((k) => k !== '__proto__');
const leaf = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0)),
  fc.boolean(),
  fc.constant(null),
  fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
);
const { value } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(key, tie('value'), { maxKeys: 4, noNullPrototype: true }),
  ),
}));
const message = fc
  .tuple(fc.string({ minLength: 1, maxLength: 12 }), fc.dictionary(key.filter((k) => k !== 'type'), value, { maxKeys: 5, noNullPrototype: true }))
  .map(([type, fields]) => ({ ...fields, type }));
const requestId = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER });
const envelope: fc.Arbitrary<Envelope> = fc.oneof(
  fc.tuple(fc.constant(0 as const), requestId, message),
  fc.tuple(fc.constant(1 as const), requestId, message),
  fc.tuple(fc.constant(2 as const), fc.constant(0 as const), message),
  fc.tuple(
    fc.constant(3 as const),
    requestId,
    fc.record({ code: fc.string(), message: fc.string(), status: fc.integer({ min: 100, max: 599 }) }, { requiredKeys: ['code', 'message'], noNullPrototype: true }),
  ),
);

function rejected(buf: Uint8Array): BadFrameError {
  try {
    decodeFrame(buf);
  } catch (err) {
    assert.ok(err instanceof BadFrameError, `expected BadFrameError, got ${String(err)}`);
    assert.equal(err.code, 'RS_ERR_BAD_FRAME');
    return err;
  }
  assert.fail('frame was accepted');
}

describe('transport/frame-codec', () => {
  it('round-trips any list of envelopes', () => {
    fc.assert(
      fc.property(fc.array(envelope, { minLength: 1, maxLength: 20 }), (envs) => {
        assert.deepStrictEqual(decodeFrame(encodeFrame(envs)), envs);
      }),
      { numRuns: 300 },
    );
  });

  it('packs an envelope to exactly the bytes msgpackr gives the whole [kind, id, msg] array', () => {
    const ids = [1, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER];
    for (const id of ids) {
      const env: Envelope<{ type: string; key: string; n: number }> = [0, id, { type: 'put', key: 'k', n: id }];
      assert.ok(encodeEnvelope(env).equals(raw.pack(env)), `id ${id}`);
    }
    fc.assert(fc.property(envelope, (env) => {
      assert.ok(encodeEnvelope(env).equals(raw.pack(env)));
    }), { numRuns: 300 });
  });

  it('packs a message sent twice in one job once, and packs it anew once the job is over', async () => {
    const msg = { type: 'put', key: 'k', v: 'first' };
    const a = encodeEnvelope([0, 1, msg]);
    const b = encodeEnvelope([0, 2, msg]);
    assert.deepStrictEqual(decodeFrame(frameOf([a, b])), [[0, 1, msg], [0, 2, msg]]);
    await Promise.resolve();
    msg.v = 'changed after it was sent';
    const c = encodeEnvelope([0, 3, msg]);
    assert.deepStrictEqual(decodeFrame(frameOf([c]))[0], [0, 3, { type: 'put', key: 'k', v: 'changed after it was sent' }]);
    assert.deepStrictEqual(decodeFrame(frameOf([a]))[0], [0, 1, { type: 'put', key: 'k', v: 'first' }], 'earlier bytes stay as they were');
  });

  it('builds the same frame from packed parts with array16 and array32 headers', () => {
    for (const n of [15, 16, 65_535, 65_536]) {
      const envs: Envelope<{ type: string; i: number }>[] = [];
      for (let i = 0; i < n; i++) envs.push([2, 0, { type: 't', i }]);
      const decoded = decodeFrame(frameOf(envs.map(encodeEnvelope)));
      assert.equal(decoded.length, n);
      assert.deepStrictEqual(decoded[n - 1], [2, 0, { type: 't', i: n - 1 }]);
    }
  });

  it('keeps packed envelopes intact while later envelopes are packed', () => {
    const first = encodeEnvelope([0, 1, { type: 'a', s: 'first' }]);
    const copy = Buffer.from(first);
    for (let i = 0; i < 5000; i++) encodeEnvelope([0, i + 2, { type: 'b', s: 'x'.repeat(100) }]);
    assert.ok(first.equals(copy));
  });

  it('never throws anything but BadFrameError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          const envs = decodeFrame(bytes);
          // Rarely random bytes are a valid frame; then it must really be one.
          assert.deepStrictEqual(decodeFrame(encodeFrame(envs)), envs);
        } catch (err) {
          assert.ok(err instanceof BadFrameError, `threw ${String(err)}`);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws anything but BadFrameError on arbitrary msgpack values', () => {
    const anyValue = fc.oneof(value, fc.array(fc.array(value, { maxLength: 4 }), { maxLength: 4 }));
    fc.assert(
      fc.property(anyValue, (v) => {
        try {
          decodeFrame(raw.pack(v));
        } catch (err) {
          assert.ok(err instanceof BadFrameError, `threw ${String(err)}`);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('rejects every structurally wrong envelope', () => {
    const wrong = fc.oneof(
      fc.record({ kind: fc.oneof(fc.integer({ min: 4 }), fc.integer({ max: -1 }), fc.constant(0.5), fc.string()) }).map(({ kind }) => [kind, 1, { type: 't' }]),
      fc.oneof(fc.double({ min: 1.1, max: 1e6, noNaN: true }).filter((d) => !Number.isInteger(d)), fc.string(), fc.constant(null))
        .map((id) => [0, id, { type: 't' }]),
      fc.integer({ max: 0 }).map((id) => [1, id, { type: 't' }]),
      fc.integer({ min: 1 }).map((id) => [2, id, { type: 't' }]),
      fc.oneof(fc.constant(null), fc.integer(), fc.string(), fc.array(fc.integer()), fc.constant({}), fc.constant({ type: 7 }), fc.constant({ type: '' }))
        .map((msg) => [0, 1, msg]),
      fc.oneof(fc.constant({ code: 'X' }), fc.constant({ message: 'm' }), fc.constant({ code: 1, message: 'm' }), fc.constant({ code: 'X', message: 'm', status: 42 }))
        .map((body) => [3, 1, body]),
      fc.array(fc.integer(), { maxLength: 5 }).filter((a) => a.length !== 3),
    );
    fc.assert(
      fc.property(fc.array(envelope, { maxLength: 3 }), wrong, fc.nat(3), (good, bad, at) => {
        const envs: unknown[] = [...good];
        envs.splice(Math.min(at, envs.length), 0, bad);
        rejected(raw.pack(envs));
      }),
      { numRuns: 500 },
    );
  });

  it('rejects frames that are not a non-empty array, truncated, or followed by garbage', () => {
    const good = encodeFrame([[0, 1, { type: 'get', key: 'k' }]]);
    assert.match(rejected(raw.pack({ type: 'get' })).message, /not an array/);
    assert.match(rejected(raw.pack([])).message, /no envelopes/);
    assert.match(rejected(Buffer.alloc(0)).message, /empty/);
    rejected(good.subarray(0, good.length - 1));
    rejected(Buffer.concat([good, Buffer.from([0xc0])]));
    rejected(raw.pack(new Map<unknown, unknown>([[{ a: 1 }, 1]])));
  });

  it('decodes a __proto__ key as data, never as a prototype', () => {
    // {"type": "t", "__proto__": {"polluted": 1}} as a raw msgpack map.
    const map = Buffer.concat([
      Buffer.from([0x82]), raw.pack('type'), raw.pack('t'), raw.pack('__proto__'), raw.pack({ polluted: 1 }),
    ]);
    const frame = Buffer.concat([Buffer.from([0x91, 0x93, 0x02, 0x00]), map]);
    const [[, , msg]] = decodeFrame(frame);
    assert.equal(Object.getPrototypeOf(msg), Object.prototype);
    assert.equal((msg as unknown as { polluted?: number }).polluted, undefined);
    assert.equal(({} as { polluted?: number }).polluted, undefined);
  });

  it('refuses to encode a malformed envelope (a programmer bug)', () => {
    assert.throws(() => encodeEnvelope([0, 0, { type: 't' }]), /cannot encode envelope/);
    assert.throws(() => encodeEnvelope([2, 0, { nope: 1 } as never]), /cannot encode envelope/);
  });
});
