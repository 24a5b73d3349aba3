/**
 * The security flags of `ringstore node` end to end (issue 7): two node
 * processes started with --secret-file, --tls-cert/--tls-key/--tls-ca and
 * --tokens-file link over wss, serve https, and want a token; a bad secret
 * file stops a node at start with a clear message.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';
import { ProcessCluster, waitFor } from '../cluster/process-cluster';
import { makeCerts, type TestCerts } from '../transport/tls-certs';

const BIN = path.resolve(__dirname, '../../../bin/ringstore.js');
const ADMIN = 'cli-admin-token-0123456789';
const WRITER = 'cli-write-token-0123456789';

function call(certs: TestCerts, addr: string, method: string, p: string, token: string | null, body?: string): Promise<{ status: number; body: string }> {
  const [host, port] = addr.split(':');
  return new Promise((resolve, reject) => {
    const req = https.request({
      host, port: Number(port), method, path: p, ca: certs.ca,
      headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'Content-Length': Buffer.byteLength(body) } : {}) },
    }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('ringstore node with --secret-file, --tls-* and --tokens-file', function () {
  this.timeout(60_000);
  let certs: TestCerts | null = null;
  let cluster: ProcessCluster | null = null;

  before(function () {
    certs = makeCerts(['127.0.0.1']);
    if (certs === null) {
      console.log('      (skipped: openssl is not installed)');
      this.skip();
    }
  });
  after(async () => {
    await cluster?.stopAll();
    cluster?.cleanup();
    certs?.cleanup();
  });

  it('links two processes over wss with the secret and serves https to token holders only', async () => {
    const c = certs!;
    const secretFile = path.join(c.dir, 'secret');
    fs.writeFileSync(secretFile, 'cli test secret, long enough\n', { mode: 0o600 });
    const tokensFile = path.join(c.dir, 'tokens');
    fs.writeFileSync(tokensFile, JSON.stringify([{ token: ADMIN, scope: 'admin' }, { token: WRITER, scope: 'write' }]));
    cluster = await ProcessCluster.create({
      nodes: 2,
      extraArgs: ['--n', '2', '--r', '1', '--w', '2', '--secret-file', secretFile, '--tls-cert', c.certFile, '--tls-key', c.keyFile,
        '--tls-ca', c.caFile, '--tokens-file', tokensFile],
    });
    cluster.startAll();
    const [a, b] = [cluster.addr('n1'), cluster.addr('n2')];
    await waitFor('both nodes to see each other over wss', async () => {
      for (const addr of [a, b]) {
        const st = JSON.parse((await call(c, addr, 'GET', '/admin/status', ADMIN)).body) as { members: Array<{ state: string }>; security: { tls: boolean; peerAuth: boolean } };
        if (st.members.length !== 2 || !st.members.every((m) => m.state === 'alive') || !st.security.tls || !st.security.peerAuth) return false;
      }
      return true;
    }, 30_000, 200);
    assert.equal((await call(c, a, 'GET', '/kv/x', null)).status, 401);
    assert.equal((await call(c, a, 'GET', '/admin/status', WRITER)).status, 403);
    // w=2 of n=2: the write needs the other node, over the authenticated wss link.
    assert.equal((await call(c, a, 'PUT', '/kv/x', WRITER, 'over tls')).status, 204);
    const read = await call(c, b, 'GET', '/kv/x?r=1&consistency=local', WRITER);
    assert.deepEqual(read, { status: 200, body: 'over tls' });
  });

  it('lets the operator commands reach the secured nodes with --tls-ca and a token, and says why when they cannot', () => {
    assert.ok(cluster !== null, 'needs the cluster of the test above');
    const c = certs!;
    const a = cluster.addr('n1');
    const cli = (args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } => {
      const r = spawnSync(process.execPath, [BIN, ...args], {
        encoding: 'utf8', timeout: 30_000, env: { ...process.env, RINGSTORE_TOKEN: '', ...env },
      });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    const status = cli(['status', '--node', a, '--json', '--tls-ca', c.caFile, '--token', ADMIN]);
    assert.equal(status.status, 0, status.stderr);
    assert.equal((JSON.parse(status.stdout) as { id: string }).id, 'n1');
    const fromEnv = cli(['sessions', 'stats', '--node', a, '--json', '--tls-ca', c.caFile], { RINGSTORE_TOKEN: ADMIN });
    assert.equal(fromEnv.status, 0, fromEnv.stderr);
    assert.equal(typeof (JSON.parse(fromEnv.stdout) as { active: unknown }).active, 'number');

    const noToken = cli(['status', '--node', a, '--tls-ca', c.caFile]);
    assert.notEqual(noToken.status, 0);
    assert.match(noToken.stderr, /answered 401.*wants a token/);
    const smallScope = cli(['status', '--node', a, '--tls-ca', c.caFile, '--token', WRITER]);
    assert.notEqual(smallScope.status, 0);
    assert.match(smallScope.stderr, /answered 403/);
    const plainHttp = cli(['status', '--node', a, '--token', ADMIN]);
    assert.notEqual(plainHttp.status, 0);
    assert.match(plainHttp.stderr, /cannot reach http:\/\/.*(--tls-ca|https)/);
    const wrongCa = makeCerts(['127.0.0.1'], 'some-other-ca')!;
    try {
      const untrusted = cli(['status', '--node', a, '--tls-ca', wrongCa.caFile, '--token', ADMIN]);
      assert.notEqual(untrusted.status, 0);
      assert.match(untrusted.stderr, /cannot reach https:\/\/.*--tls-ca/);
    } finally {
      wrongCa.cleanup();
    }
  });

  it('refuses to start with a secret shorter than 16 bytes, or a tls cert without its key', () => {
    const dir = certs!.dir;
    const short = path.join(dir, 'short-secret');
    fs.writeFileSync(short, 'too short\n');
    const run = (args: string[]): { status: number | null; stderr: string } => {
      const r = spawnSync(process.execPath, [BIN, 'node', '--id', 'x', '--port', '1', '--data', path.join(dir, 'x'), ...args], { encoding: 'utf8', timeout: 20_000 });
      return { status: r.status, stderr: r.stderr };
    };
    const a = run(['--secret-file', short]);
    assert.equal(a.status, 1);
    assert.match(a.stderr, /cluster secret is 9 bytes; it must be at least 16/);
    const b = run(['--tls-cert', certs!.certFile]);
    assert.equal(b.status, 1);
    assert.match(b.stderr, /--tls-cert and --tls-key go together/);
  });
});
