/**
 * Access control for the HTTP API and the client WebSocket API (issue 7;
 * docs/security.md): optional bearer tokens (RFC 6750) with three scopes.
 *
 *   read   GET/HEAD of data routes (/kv, /carts, /sessions, ...), and read
 *          requests on /client (get, ring, scan)
 *   write  everything read allows, plus PUT/POST/DELETE/PATCH of data routes
 *          and write requests on /client
 *   admin  everything, including /admin/* and /metrics
 *
 * Each scope includes the ones before it: a writer also reads (a write
 * answers with the merged value anyway), and an operator can do anything.
 * Without a tokens file every request is allowed, as before this existed;
 * that is only safe on a network where every client is trusted.
 *
 * Tokens come from a file (`--tokens-file`): JSON, either
 * `[{"token": "...", "scope": "read"}, ...]` or `{"tokens": [...]}`, or
 * lines `scope token` with `#` comments. A token is 16 to 512 visible ASCII
 * characters. The table keeps SHA-256 digests, not the tokens, and looks a
 * presented token up by its digest, so the comparison leaks no timing about
 * a stored token and a heap dump holds no usable token.
 *
 * A token travels in `Authorization: Bearer TOKEN`; on WebSocket upgrades,
 * where browsers cannot set headers, also as `?access_token=TOKEN`
 * (RFC 6750 2.3). Peer links (/peer) are not covered here: they
 * authenticate with the cluster secret (transport/peer-auth.ts).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import type * as http from 'node:http';
import { BadRequestError, ForbiddenError, UnauthorizedError } from '../core/errors';

export type Scope = 'read' | 'write' | 'admin';

const SCOPE_RANK: Record<Scope, number> = { read: 1, write: 2, admin: 3 };
const TOKEN_PATTERN = /^[\x21-\x7e]{16,512}$/;
/** The query parameter of RFC 6750 2.3, accepted on WebSocket upgrades only. */
export const TOKEN_QUERY_PARAM = 'access_token';

export function isScope(x: unknown): x is Scope {
  return x === 'read' || x === 'write' || x === 'admin';
}

/** Whether `granted` allows what `needed` names. */
export function scopeAllows(granted: Scope, needed: Scope): boolean {
  return SCOPE_RANK[granted] >= SCOPE_RANK[needed];
}

function digestOf(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Bearer tokens and their scopes, kept as digests. */
export class TokenTable {
  private constructor(private readonly byDigest: Map<string, Scope>) {}

  /** Parse a tokens file's text (JSON or `scope token` lines); `source` names it in errors. */
  static parse(text: string, source = 'tokens file'): TokenTable {
    const entries: Array<{ token: unknown; scope: unknown; where: string }> = [];
    const trimmed = text.trim();
    if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
      let json: unknown;
      try {
        json = JSON.parse(trimmed);
      } catch {
        throw new BadRequestError(`${source} is not valid JSON`);
      }
      const list = Array.isArray(json) ? json : (json as { tokens?: unknown }).tokens;
      if (!Array.isArray(list)) throw new BadRequestError(`${source}: expected an array of {"token", "scope"} or {"tokens": [...]}`);
      list.forEach((e: unknown, i) => {
        const o = (typeof e === 'object' && e !== null ? e : {}) as Record<string, unknown>;
        entries.push({ token: o.token, scope: o.scope, where: `entry ${i}` });
      });
    } else {
      text.split(/\r?\n/).forEach((raw, i) => {
        const line = raw.trim();
        if (line === '' || line.startsWith('#')) return;
        const parts = line.split(/\s+/);
        if (parts.length !== 2) throw new BadRequestError(`${source} line ${i + 1}: expected "scope token"`);
        entries.push({ scope: parts[0], token: parts[1], where: `line ${i + 1}` });
      });
    }
    const byDigest = new Map<string, Scope>();
    for (const e of entries) {
      if (!isScope(e.scope)) throw new BadRequestError(`${source} ${e.where}: scope must be read, write or admin`);
      if (typeof e.token !== 'string' || !TOKEN_PATTERN.test(e.token)) {
        throw new BadRequestError(`${source} ${e.where}: a token is 16 to 512 visible ASCII characters without spaces`);
      }
      const d = digestOf(e.token);
      if (byDigest.has(d)) throw new BadRequestError(`${source} ${e.where}: the same token is listed twice`);
      byDigest.set(d, e.scope);
    }
    if (byDigest.size === 0) throw new BadRequestError(`${source} lists no tokens (leave it out to run without access control)`);
    return new TokenTable(byDigest);
  }

  static load(file: string): TokenTable {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new BadRequestError(`cannot read tokens file ${file}: ${(err as Error).message}`);
    }
    return TokenTable.parse(text, `tokens file ${file}`);
  }

  get size(): number {
    return this.byDigest.size;
  }

  /** The scope of a presented token, or null if it is not in the table. */
  scopeOf(token: string): Scope | null {
    return this.byDigest.get(digestOf(token)) ?? null;
  }
}

/** The scope an HTTP request needs: admin for /admin and /metrics, read for GET/HEAD, write otherwise. */
export function requiredScope(method: string, pathname: string): Scope {
  if (pathname === '/metrics' || pathname === '/admin' || pathname.startsWith('/admin/')) return 'admin';
  return method === 'GET' || method === 'HEAD' ? 'read' : 'write';
}

/** The scope a request on the client WebSocket API needs: read for reads, write for any operation that writes. */
export function clientRequestScope(msg: unknown): Scope {
  const m = msg as { type?: unknown; op?: { op?: unknown } } | null;
  if (m === null || typeof m !== 'object') return 'write';
  if (m.type === 'ring' || m.type === 'scan') return 'read';
  if (m.type === 'op' && typeof m.op === 'object' && m.op !== null && m.op.op === 'get') return 'read';
  return 'write';
}

/** Grants of WebSocket upgrades, for the upgrade handler that takes the socket (client-api.ts). */
const upgradeGrants = new WeakMap<http.IncomingMessage, Scope>();

/**
 * Who may do what. Without a token table everything is allowed and every
 * request is granted `admin`.
 */
export class AccessControl {
  constructor(private readonly tokens: TokenTable | null) {}

  get enabled(): boolean {
    return this.tokens !== null;
  }

  /**
   * The scope granted to `req`, if it covers `needed`; otherwise
   * UnauthorizedError (no or unknown token) or ForbiddenError (too small a
   * scope). `upgrade`: also look in the query string.
   */
  authorize(req: http.IncomingMessage, url: URL, needed: Scope, upgrade = false): Scope {
    if (this.tokens === null) return 'admin';
    const token = bearerToken(req, upgrade ? url : null);
    if (token === null) throw new UnauthorizedError('this node requires a bearer token (Authorization: Bearer TOKEN)');
    const scope = this.tokens.scopeOf(token);
    if (scope === null) throw new UnauthorizedError('unknown bearer token');
    if (!scopeAllows(scope, needed)) throw new ForbiddenError(`this token has scope ${scope}; ${needed} is needed`);
    if (upgrade) upgradeGrants.set(req, scope);
    return scope;
  }
}

/**
 * The scope granted to an accepted WebSocket upgrade; `admin` when the node
 * has no access control (the upgrade passed through unchecked).
 */
export function upgradeScope(req: http.IncomingMessage): Scope {
  return upgradeGrants.get(req) ?? 'admin';
}

/** The bearer token of a request: the Authorization header, or (upgrades) the access_token parameter. */
export function bearerToken(req: http.IncomingMessage, url: URL | null): string | null {
  const header = req.headers.authorization;
  if (typeof header === 'string') {
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    return m ? m[1]! : null;
  }
  return url?.searchParams.get(TOKEN_QUERY_PARAM) ?? null;
}

/**
 * Why a request on the client WebSocket API is refused to a connection
 * granted `scope` (ForbiddenError), or null when it may go on.
 */
export function clientRequestRefusal(scope: Scope, msg: unknown): ForbiddenError | null {
  const needed = clientRequestScope(msg);
  return scopeAllows(scope, needed) ? null : new ForbiddenError(`this token has scope ${scope}; ${needed} is needed`);
}
