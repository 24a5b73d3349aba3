/**
 * Sibling limits (issue 7, like Riak's siblings warning at 25 and
 * max_siblings at 100): blind writes pile siblings up until the cap, the
 * write past it fails with RS_ERR_TOO_MANY_SIBLINGS (409), and a write with
 * the context of a read resolves them and is accepted.
 */
import { strict as assert } from 'node:assert';
import { RingstoreError } from '../../src/core/errors';
import type { StoredObject } from '../../src/crdt/stored-object';
import { ReplicationCluster } from './replication-harness';

const body = (s: string): Uint8Array => new Uint8Array(Buffer.from(s));

function siblings(obj: StoredObject | null): number {
  assert.ok(obj && obj.kind === 'opaque');
  return obj.dvv.siblings.length;
}

describe('replication/coordinator sibling limits', () => {
  it('refuses the blind write past siblingsMax with a 409, and accepts a resolving write', async () => {
    const c = new ReplicationCluster(['a', 'b', 'c']);
    c.config.limits = { ...c.config.limits, siblingsWarn: 3, siblingsMax: 5 };
    const a = c.node('a').coordinator;
    for (let i = 0; i < 5; i++) await a.execute('k', { op: 'put', ct: 'text/plain', body: body(`v${i}`), context: {} });
    const read = await a.execute('k', { op: 'get' });
    assert.equal(siblings(read), 5);
    await assert.rejects(
      a.execute('k', { op: 'put', ct: 'text/plain', body: body('one too many'), context: {} }),
      (e: unknown) => e instanceof RingstoreError && e.code === 'RS_ERR_TOO_MANY_SIBLINGS' && e.status === 409,
    );
    assert.equal(siblings(await a.execute('k', { op: 'get' })), 5, 'the refused write left nothing behind');
    assert.ok(read && read.kind === 'opaque');
    const resolved = await a.execute('k', { op: 'put', ct: 'text/plain', body: body('merged'), context: read.dvv.vv });
    assert.equal(siblings(resolved), 1);
  });

  it('reports writes past siblingsWarn without failing them', async () => {
    const c = new ReplicationCluster(['a', 'b', 'c']);
    c.config.limits = { ...c.config.limits, siblingsWarn: 2, siblingsMax: 100 };
    const warnings: Array<Record<string, unknown>> = [];
    const a = c.node('a').coordinator;
    (a as unknown as { d: { onWarning: (w: string, f: Record<string, unknown>) => void } }).d.onWarning = (_w, f) => warnings.push(f);
    for (let i = 0; i < 4; i++) await a.execute('session-id-secret', { op: 'put', ct: 'text/plain', body: body(`v${i}`), context: {} });
    assert.deepEqual(warnings.map((w) => w.siblings), [3, 4]);
    assert.ok(warnings.every((w) => !JSON.stringify(w).includes('session-id-secret')), 'the key itself is not reported');
  });

  it('defaults to Riak\'s 25 and 100', () => {
    const c = new ReplicationCluster(['a']);
    assert.equal(c.config.limits.siblingsWarn, 25);
    assert.equal(c.config.limits.siblingsMax, 100);
  });
});
