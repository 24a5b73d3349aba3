import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { BadContextError } from '../../src/core/errors';
import { decodeContext, encodeContext } from '../../src/clock/context-codec';
import { emptyVv, vvFromEntries } from '../../src/clock/version-vector';

const packr = new Packr({ useRecords: false, variableMapSize: true });
const packed = (x: unknown): string => packr.pack(x).toString('base64url');

function rejects(s: string, pattern: RegExp): void {
  assert.throws(
    () => decodeContext(s),
    (e: unknown) => e instanceof BadContextError && e.code === 'RS_ERR_BAD_CONTEXT' && pattern.test(e.message),
  );
}

describe('clock/context-codec', () => {
  it('round-trips any version vector, with canonical output', () => {
    const actor = fc.oneof(fc.string({ minLength: 1, maxLength: 12 }), fc.constantFrom('__proto__', 'constructor'));
    fc.assert(
      fc.property(fc.array(fc.tuple(actor, fc.maxSafeNat()), { maxLength: 20 }), (entries) => {
        const vv = vvFromEntries(entries);
        const s = encodeContext(vv);
        assert.match(s, /^[A-Za-z0-9_-]+$/);
        assert.deepEqual(decodeContext(s), vv);
        // Same vector built in another order: same string.
        assert.equal(encodeContext(vvFromEntries([...Object.entries(vv)].reverse())), s);
      }),
      { numRuns: 300 },
    );
  });

  it('decodes the empty string and the encoded empty vector to the empty vector', () => {
    assert.deepEqual(decodeContext(''), emptyVv());
    assert.deepEqual(decodeContext(encodeContext(emptyVv())), emptyVv());
  });

  it('keeps an actor named __proto__ as data', () => {
    const vv = decodeContext(packed(new Map([['__proto__', 3]])));
    assert.equal(Object.getPrototypeOf(vv), Object.prototype);
    assert.deepEqual(Object.entries(vv), [['__proto__', 3]]);
  });

  it('rejects oversized, non-base64url and undecodable strings', () => {
    rejects('A'.repeat(8193), /limit is 8192/);
    rejects('gaFhAQ==', /base64/);
    rejects('ga+hAQ', /base64/);
    rejects('ga/hAQ', /base64/);
    rejects('gaFhA', /base64/); // length 4k+1
    rejects(packed({ a: 1 }).slice(0, 4), /does not decode/); // truncated
    rejects(Buffer.concat([packr.pack({ a: 1 }), Buffer.from([0x01])]).toString('base64url'), /does not decode/);
  });

  it('rejects anything but a map of non-empty string -> non-negative safe integer', () => {
    rejects(packed([1, 2]), /map/);
    rejects(packed(7), /map/);
    rejects(packed('x'), /map/);
    rejects(packed(null), /map/);
    rejects(packed(new Map([[1, 2]])), /actor ids/);
    rejects(packed({ '': 1 }), /actor ids/);
    rejects(packed({ a: -1 }), /non-negative integer/);
    rejects(packed({ a: 1.5 }), /non-negative integer/);
    rejects(packed({ a: 2 ** 53 }), /non-negative integer/);
    rejects(packed({ a: '1' }), /non-negative integer/);
    rejects(packed({ a: true }), /non-negative integer/);
    rejects(packed({ a: { b: 1 } }), /non-negative integer/);
  });

  it('accepts 1000 actors and rejects 1001', () => {
    const names = (n: number) => Array.from({ length: n }, (_, i) => [i.toString(36), 1] as [string, number]);
    assert.equal(Object.keys(decodeContext(packed(Object.fromEntries(names(1000))))).length, 1000);
    rejects(packed(Object.fromEntries(names(1001))), /1001 actors; the limit is 1000/);
  });

  it('throws only BadContextError on arbitrary input', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 64 }), fc.uint8Array({ maxLength: 48 }).map((b) => Buffer.from(b).toString('base64url'))),
        (s) => {
          try {
            const vv = decodeContext(s);
            for (const [k, v] of Object.entries(vv)) assert.ok(k.length > 0 && Number.isSafeInteger(v) && v > 0);
          } catch (e) {
            assert.ok(e instanceof BadContextError, `unexpected ${String(e)}`);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
