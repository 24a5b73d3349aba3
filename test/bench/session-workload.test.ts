import { strict as assert } from 'node:assert';
import { makeSession } from '../../bench/session-workload';

describe('bench session workload', () => {
  it('makes sessions whose JSON is exactly the size asked for, whatever the digits of id and version', () => {
    const expires = new Date(Date.UTC(2026, 11, 7, 12, 0, 0)).toISOString();
    for (const i of [0, 9, 10, 99, 12_345, 9_999_999]) {
      for (const version of [0, 1, 10, 1_000_000]) {
        for (const bytes of [200, 300, 1000]) {
          const s = makeSession(i, bytes, version, expires);
          assert.equal(JSON.stringify(s).length, bytes, `i=${i} version=${version} bytes=${bytes}`);
          assert.equal(s.user, `user-${i}`);
          assert.equal(s.views, version);
        }
      }
    }
  });

  it('pads a session too small to hold the asked size with at least 8 characters', () => {
    const s = makeSession(1, 10, 1, new Date(0).toISOString());
    assert.equal((s.data as string).length, 8);
  });
});
