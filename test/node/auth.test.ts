/**
 * Bearer tokens and scopes (src/node/auth.ts; docs/security.md).
 */
import { strict as assert } from 'node:assert';
import { RingstoreError } from '../../src/core/errors';
import { clientRequestScope, requiredScope, scopeAllows, TokenTable } from '../../src/node/auth';

const T1 = 'aaaaaaaaaaaaaaaa-1';
const T2 = 'bbbbbbbbbbbbbbbb-2';

function refused(text: string, re: RegExp): void {
  assert.throws(() => TokenTable.parse(text), (e: unknown) => e instanceof RingstoreError && e.code === 'RS_ERR_BAD_REQUEST' && re.test(e.message));
}

describe('node/auth', () => {
  it('reads "scope token" lines with comments and blank lines', () => {
    const t = TokenTable.parse(`# ops\n\nread ${T1}\r\n  admin   ${T2}  \n`);
    assert.equal(t.size, 2);
    assert.equal(t.scopeOf(T1), 'read');
    assert.equal(t.scopeOf(T2), 'admin');
    assert.equal(t.scopeOf('cccccccccccccccccc'), null);
  });

  it('reads JSON, as an array or under "tokens"', () => {
    const list = [{ token: T1, scope: 'write' }, { token: T2, scope: 'read' }];
    for (const text of [JSON.stringify(list), JSON.stringify({ tokens: list })]) {
      const t = TokenTable.parse(text);
      assert.equal(t.scopeOf(T1), 'write');
      assert.equal(t.scopeOf(T2), 'read');
    }
  });

  it('refuses bad scopes, short or spaced tokens, duplicates, broken JSON and empty files', () => {
    refused(`owner ${T1}`, /scope must be/);
    refused('read short', /16 to 512/);
    refused(`read ${T1} extra`, /expected "scope token"/);
    refused(`read ${T1}\nwrite ${T1}`, /listed twice/);
    refused('[{"token": 1}', /not valid JSON/);
    refused('{"tokenz": []}', /expected an array/);
    refused('# nothing\n', /lists no tokens/);
  });

  it('needs admin for /admin and /metrics, read for GET and HEAD, write for the rest', () => {
    assert.equal(requiredScope('GET', '/admin/status'), 'admin');
    assert.equal(requiredScope('GET', '/metrics'), 'admin');
    assert.equal(requiredScope('DELETE', '/admin/faults'), 'admin');
    assert.equal(requiredScope('GET', '/kv/x'), 'read');
    assert.equal(requiredScope('HEAD', '/kv/x'), 'read');
    assert.equal(requiredScope('PUT', '/kv/x'), 'write');
    assert.equal(requiredScope('POST', '/carts/x'), 'write');
    assert.equal(requiredScope('PATCH', '/administrator'), 'write');
  });

  it('orders scopes read < write < admin', () => {
    assert.ok(scopeAllows('admin', 'write') && scopeAllows('write', 'read') && scopeAllows('read', 'read'));
    assert.ok(!scopeAllows('read', 'write') && !scopeAllows('write', 'admin'));
  });

  it('classifies client API requests: get, ring and scan read; any other op writes', () => {
    assert.equal(clientRequestScope({ type: 'op', key: 'k', op: { op: 'get' } }), 'read');
    assert.equal(clientRequestScope({ type: 'ring' }), 'read');
    assert.equal(clientRequestScope({ type: 'scan', prefix: '' }), 'read');
    assert.equal(clientRequestScope({ type: 'op', key: 'k', op: { op: 'put' } }), 'write');
    assert.equal(clientRequestScope({ type: 'op', key: 'k' }), 'write');
    assert.equal(clientRequestScope({ type: 'unknown' }), 'write');
    assert.equal(clientRequestScope(null), 'write');
  });
});
