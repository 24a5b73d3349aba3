/**
 * TLS material of a node (issue 7; docs/security.md): the PEM certificate and
 * key its HTTPS server (HTTP API, /client and /peer as wss) presents, and the
 * CA it verifies peers' certificates against when it dials them. Read once at
 * start; a node restarts to pick up renewed files.
 */
import * as fs from 'node:fs';
import { BadRequestError } from '../core/errors';

export interface NodeTls {
  cert: Buffer;
  key: Buffer;
  /** CA bundle for peers' certificates; absent: the system's roots. */
  ca?: Buffer;
}

export interface TlsPaths {
  cert: string;
  key: string;
  ca?: string;
}

export function loadTlsFiles(paths: TlsPaths): NodeTls {
  const read = (what: string, file: string): Buffer => {
    try {
      return fs.readFileSync(file);
    } catch (err) {
      throw new BadRequestError(`cannot read TLS ${what} ${file}: ${(err as Error).message}`);
    }
  };
  const tls: NodeTls = { cert: read('certificate', paths.cert), key: read('key', paths.key) };
  if (paths.ca !== undefined) tls.ca = read('CA bundle', paths.ca);
  return tls;
}
