/**
 * How the operator commands (`status`, `leave`, `sessions stats`) reach a
 * node's HTTP API, including on a secured cluster (docs/security.md): https
 * with a CA of the operator's choosing (`--tls-ca`, as the nodes' own flag)
 * or the system's (`--https`), and a bearer token (`--token`, or the
 * RINGSTORE_TOKEN environment variable so it stays out of shell history and
 * `ps`). node:http(s) rather than fetch, because fetch cannot take a CA.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';

export const TOKEN_ENV = 'RINGSTORE_TOKEN';

/** A node as the operator commands address it. */
export interface AdminTarget {
  /** HOST:PORT */
  addr: string;
  https: boolean;
  /** PEM of the CA that signed the node's certificate; unset: the system's CAs. */
  ca?: Buffer;
  token?: string;
}

/** The CLI flags every operator command takes (main.ts addAdminOptions). */
export interface AdminFlags {
  node: string;
  token?: string;
  tlsCa?: string;
  https?: boolean;
}

const REQUEST_TIMEOUT_MS = 30_000;

/** The target the flags describe; the token falls back to RINGSTORE_TOKEN. */
export function adminTarget(o: AdminFlags, env: NodeJS.ProcessEnv = process.env): AdminTarget {
  const token = o.token ?? (env[TOKEN_ENV] !== undefined && env[TOKEN_ENV] !== '' ? env[TOKEN_ENV] : undefined);
  if (token !== undefined && !/^[\x21-\x7e]+$/.test(token)) throw new Error('the token must be visible ASCII characters');
  let ca: Buffer | undefined;
  if (o.tlsCa !== undefined) {
    try {
      ca = fs.readFileSync(o.tlsCa);
    } catch (err) {
      throw new Error(`cannot read --tls-ca ${o.tlsCa}: ${(err as Error).message}`);
    }
  }
  return { addr: o.node, https: o.https === true || ca !== undefined, ...(ca ? { ca } : {}), ...(token ? { token } : {}) };
}

/** GET (or `method`) `pathname` on the node and parse the JSON answer; a non-2xx answer is an error naming it. */
export function adminJson(t: AdminTarget, pathname: string, method = 'GET'): Promise<unknown> {
  const m = /^(.*):(\d{1,5})$/.exec(t.addr);
  if (m === null) return Promise.reject(new Error(`"${t.addr}" is not HOST:PORT`));
  const options: https.RequestOptions = {
    host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port: Number(m[2]), path: pathname, method,
    headers: { Accept: 'application/json', ...(t.token ? { Authorization: `Bearer ${t.token}` } : {}) },
    timeout: REQUEST_TIMEOUT_MS,
    ...(t.https && t.ca ? { ca: t.ca } : {}),
  };
  const where = `${t.https ? 'https' : 'http'}://${t.addr}${pathname}`;
  return new Promise((resolve, reject) => {
    const req = (t.https ? https : http).request(options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => reject(new Error(`${where}: ${err.message}`)));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = null;
        try {
          body = text === '' ? null : JSON.parse(text);
        } catch {
          body = text.slice(0, 200);
        }
        const status = res.statusCode ?? 0;
        if (status < 200 || status > 299) {
          reject(new Error(`${where} answered ${status}: ${JSON.stringify(body)}${hintFor(status, t)}`));
        } else resolve(body);
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer in ${REQUEST_TIMEOUT_MS / 1000} s`)));
    req.on('error', (err) => reject(new Error(`cannot reach ${where}: ${err.message}${tlsHint(err, t)}`)));
    req.end();
  });
}

function hintFor(status: number, t: AdminTarget): string {
  if (status === 401 && t.token === undefined) return ` (the node wants a token: --token or ${TOKEN_ENV})`;
  if (status === 403) return ' (this token\'s scope is too small: admin routes need an admin token)';
  return '';
}

function tlsHint(err: Error, t: AdminTarget): string {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (t.https && /CERT|SELF_SIGNED|UNABLE_TO/.test(code)) return ' (is --tls-ca the CA that signed the node\'s certificate?)';
  if (!t.https && (code === 'ECONNRESET' || err.message.includes('socket hang up'))) return ' (does the node serve https? add --tls-ca or --https)';
  return '';
}
