/**
 * Where a node's cluster secret comes from (issue 7; docs/security.md): a
 * file (`--secret-file`, preferred: it stays out of `ps` and shell history)
 * or the environment (`RINGSTORE_SECRET`). The secret is the file's bytes
 * without trailing white space (so `echo ... > file` works), at least 16 of
 * them; every node of a cluster needs the same one.
 */
import * as fs from 'node:fs';
import { BadRequestError } from '../core/errors';
import { checkClusterSecret } from '../transport/peer-auth';
import type { Logger } from './logger';

export const SECRET_ENV = 'RINGSTORE_SECRET';

/** The secret from `file`, else from `envValue`, else undefined (no peer authentication). */
export function loadClusterSecret(o: { file?: string; envValue?: string; logger?: Logger }): Uint8Array | undefined {
  if (o.file !== undefined) {
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(o.file);
      const mode = fs.statSync(o.file).mode;
      if ((mode & 0o077) !== 0) {
        o.logger?.warn({ file: o.file, mode: (mode & 0o777).toString(8) }, 'the cluster secret file is readable by other users; chmod 600 it');
      }
    } catch (err) {
      throw new BadRequestError(`cannot read the cluster secret file ${o.file}: ${(err as Error).message}`);
    }
    return checkClusterSecret(trimEnd(bytes));
  }
  if (o.envValue !== undefined && o.envValue !== '') {
    return checkClusterSecret(trimEnd(Buffer.from(o.envValue, 'utf8')));
  }
  return undefined;
}

function trimEnd(b: Buffer): Buffer {
  let end = b.length;
  while (end > 0 && (b[end - 1] === 0x0a || b[end - 1] === 0x0d || b[end - 1] === 0x20 || b[end - 1] === 0x09)) end--;
  return b.subarray(0, end);
}
