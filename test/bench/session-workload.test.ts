import { strict as assert } from 'node:assert';
import { makeSession } from '../../bench/session-workload';

describe('bench session workload', () => {
  it('makes sessions whose JSON is exactly the size asked for, whatever the expiry and the digits of id and version', () => {
    // Two expiries of different lengths, alternated: the cached base length must follow the expiry.
    const expiries = [new Date(Date.UTC(2026, 11, 7, 12, 0, 0)).toISOString(), '+010000-01-01T00:00:00.000Z'];
    for (const i of [0, 9, 10, 99, 12_345, 9_999_999]) {
      for (const version of [0, 1, 10, 1_000_000]) {
        for (const bytes of [200, 300, 1000]) {
          for (const expires of expiries) {
            const s = makeSession(i, bytes, version, expires);
            assert.equal(JSON.stringify(s).length, bytes, `i=${i} version=${version} bytes=${bytes} expires=${expires}`);
            assert.equal(s.user, `user-${i}`);
            assert.equal(s.views, version);
          }
        }
      }
    }
  });

  it('pads a session too small to hold the asked size with at least 8 characters', () => {
    const s = makeSession(1, 10, 1, new Date(0).toISOString());
    assert.equal((s.data as string).length, 8);
  });
});
