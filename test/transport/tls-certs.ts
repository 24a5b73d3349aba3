/**
 * Throwaway TLS material for tests, made with the openssl command at test
 * time: a CA, and a node certificate it signed for the given IPs (and
 * localhost). Returns null when openssl is not installed; callers skip.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface TestCerts {
  dir: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
  cleanup(): void;
}

export function haveOpenssl(): boolean {
  const r = spawnSync('openssl', ['version'], { stdio: 'ignore' });
  return r.status === 0;
}

/** A CA named `caName` and a certificate signed by it for `ips`; null without openssl. */
export function makeCerts(ips: string[] = ['127.0.0.1'], caName = 'ringstore-test-ca'): TestCerts | null {
  if (!haveOpenssl()) return null;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringstore-tls-'));
  const f = (name: string): string => path.join(dir, name);
  const run = (args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run(['req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '2', '-subj', `/CN=${caName}`]);
  run(['req', ...ec, '-keyout', f('node.key'), '-out', f('node.csr'), '-subj', '/CN=ringstore-node']);
  const san = ['DNS:localhost', ...ips.map((ip) => `IP:${ip}`)].join(',');
  fs.writeFileSync(f('ext.cnf'), `subjectAltName=${san}\nextendedKeyUsage=serverAuth,clientAuth\n`);
  run(['x509', '-req', '-in', f('node.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial',
    '-out', f('node.crt'), '-days', '2', '-extfile', f('ext.cnf')]);
  return {
    dir,
    caFile: f('ca.crt'),
    certFile: f('node.crt'),
    keyFile: f('node.key'),
    ca: fs.readFileSync(f('ca.crt')),
    cert: fs.readFileSync(f('node.crt')),
    key: fs.readFileSync(f('node.key')),
    cleanup() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
