/**
 * demo-app/device-lock.ts: requests carrying the same session cookie are
 * served one at a time; other cookies, and requests without one, are not held.
 */
import { strict as assert } from 'node:assert';
import type * as http from 'node:http';
import express from 'express';
import { deviceLock } from '../../demo-app/device-lock';

describe('demo-app/device-lock (one request at a time per device)', () => {
  let server: http.Server;
  let base = '';
  const log: string[] = [];

  before(async () => {
    const app = express();
    app.use(deviceLock('sid'));
    app.get('/slow/:tag', async (req, res) => {
      log.push(`start ${req.params.tag}`);
      await new Promise((r) => setTimeout(r, Number(req.query.ms ?? 100)));
      log.push(`end ${req.params.tag}`);
      res.send('ok');
    });
    await new Promise<void>((r) => { server = app.listen(0, '127.0.0.1', () => r()); });
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });

  after(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => { log.length = 0; });

  const get = (tag: string, cookie: string | null, ms = 100): Promise<string> =>
    fetch(`${base}/slow/${tag}?ms=${ms}`, { headers: cookie ? { cookie } : {} }).then((r) => r.text());

  it('serves two requests of one cookie in turn', async () => {
    await Promise.all([get('a', 'x=1; sid=dev1', 150), get('b', 'sid=dev1', 10)]);
    assert.deepEqual(log, ['start a', 'end a', 'start b', 'end b']);
  });

  it('does not hold requests of other devices or without a cookie', async () => {
    await Promise.all([get('a', 'sid=dev1', 150), get('b', 'sid=dev2', 10), get('c', null, 10)]);
    assert.equal(log[0], 'start a');
    assert.ok(log.indexOf('end b') < log.indexOf('end a') && log.indexOf('end c') < log.indexOf('end a'), log.join(', '));
  });

  it('releases the lock when a client goes away mid-request', async () => {
    const ac = new AbortController();
    const first = fetch(`${base}/slow/a?ms=200`, { headers: { cookie: 'sid=dev3' }, signal: ac.signal }).catch(() => 'aborted');
    await new Promise((r) => setTimeout(r, 30));
    ac.abort();
    assert.equal(await first, 'aborted');
    const t0 = Date.now();
    assert.equal(await get('b', 'sid=dev3', 10), 'ok');
    assert.ok(Date.now() - t0 < 150, 'the second request did not wait for the abandoned one');
  });
});
