/**
 * The gate in front of the node's HTTP router and its WebSocket upgrades
 * (issue 7; docs/security.md): first the per-address rate limit
 * (rate-limiter.ts), then the bearer token and its scope (auth.ts). A
 * request that fails either never reaches a route: it is answered with the
 * JSON error of http-router.ts (429 with Retry-After; 401 with
 * WWW-Authenticate; 403) and counted in ringstore_http_refused_total.
 *
 * Peer upgrades (/peer) are not gated here: the peer network authenticates
 * them itself with the cluster secret, and has its own connection limits.
 */
import type * as http from 'node:http';
import type { Duplex } from 'node:stream';
import { Counter, type Registry } from 'prom-client';
import type { Clock } from '../core/clock';
import type { Limits } from '../core/config';
import { BadRequestError, RateLimitedError, RingstoreError, UnauthorizedError } from '../core/errors';
import { AccessControl, requiredScope, type TokenTable } from './auth';
import { sendError } from './http-router';
import type { Logger } from './logger';
import { RateLimiter } from './rate-limiter';

export interface HttpGuardOptions {
  access: AccessControl;
  /** null: no rate limit. */
  limiter: RateLimiter | null;
  logger: Logger;
  registry: Registry;
}

export class HttpGuard {
  private readonly refused: Counter<'reason'>;

  constructor(private readonly opts: HttpGuardOptions) {
    this.refused = new Counter({
      name: 'ringstore_http_refused_total',
      help: 'HTTP requests and WebSocket upgrades refused before routing, by reason (rate, unauthorized, forbidden)',
      labelNames: ['reason'],
      registers: [opts.registry],
    });
  }

  /** Wrap the router's listener: refused requests are answered here, the rest go on. */
  wrap(inner: http.RequestListener): http.RequestListener {
    return (req, res) => {
      try {
        const url = requestUrl(req);
        this.check(req, url, requiredScope(req.method ?? 'GET', url.pathname), false);
      } catch (err) {
        if (err instanceof RateLimitedError) res.setHeader('Retry-After', String(Math.ceil(err.retryAfterMs / 1000)));
        if (err instanceof UnauthorizedError) res.setHeader('WWW-Authenticate', 'Bearer realm="ringstore"');
        sendError(res, err, this.opts.logger);
        return;
      }
      inner(req, res);
    };
  }

  /**
   * Gate a WebSocket upgrade (other than /peer): true lets it through (its
   * scope is then readable with upgradeScope(req)); false means the socket
   * was answered with the HTTP error and closed. The connection needs read;
   * each request on it is checked against its scope by the API that serves it.
   */
  admitUpgrade(req: http.IncomingMessage, socket: Duplex): boolean {
    try {
      const url = requestUrl(req);
      this.check(req, url, 'read', true);
      return true;
    } catch (err) {
      const e = err instanceof RingstoreError ? err : new RingstoreError('RS_ERR_INTERNAL', 500, 'internal error');
      const body = JSON.stringify(e.toJSON());
      const extra =
        e instanceof RateLimitedError ? `Retry-After: ${Math.ceil(e.retryAfterMs / 1000)}\r\n`
        : e instanceof UnauthorizedError ? 'WWW-Authenticate: Bearer realm="ringstore"\r\n'
        : '';
      socket.end(
        `HTTP/1.1 ${e.status} ${reasonPhrase(e.status)}\r\nConnection: close\r\nContent-Type: application/json\r\n${extra}` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      return false;
    }
  }

  private check(req: http.IncomingMessage, url: URL, needed: ReturnType<typeof requiredScope>, upgrade: boolean): void {
    const remote = req.socket.remoteAddress ?? 'unknown';
    if (this.opts.limiter !== null) {
      const waitMs = this.opts.limiter.take(remote);
      if (waitMs > 0) {
        this.refused.inc({ reason: 'rate' });
        throw new RateLimitedError(waitMs);
      }
    }
    try {
      this.opts.access.authorize(req, url, needed, upgrade);
    } catch (err) {
      const reason = err instanceof UnauthorizedError ? 'unauthorized' : 'forbidden';
      this.refused.inc({ reason });
      // Never the token itself: only who, what and why. A missing or unknown
      // token is logged at debug (anyone can send those by the thousand; the
      // counter shows them); a known token overreaching its scope at info.
      const fields = { remote, method: req.method, path: url.pathname, code: (err as RingstoreError).code };
      if (reason === 'forbidden') this.opts.logger.info(fields, 'HTTP request refused');
      else this.opts.logger.debug(fields, 'HTTP request refused');
      throw err;
    }
  }
}

/**
 * The request target as a URL. Some targets Node's parser lets through are
 * not URLs (`//`, `//:`): the router would throw on them outside any
 * handler, so they are refused here, before it, with a 400.
 */
function requestUrl(req: http.IncomingMessage): URL {
  try {
    return new URL(req.url ?? '/', 'http://localhost');
  } catch {
    throw new BadRequestError('the request target is not a valid path');
  }
}

function reasonPhrase(status: number): string {
  switch (status) {
    case 400: return 'Bad Request';
    case 401: return 'Unauthorized';
    case 403: return 'Forbidden';
    case 429: return 'Too Many Requests';
    default: return 'Error';
  }
}

/** The guard of a node: access control from `tokens` (null: open) and the rate limit from `limits`. */
export function createHttpGuard(o: {
  tokens: TokenTable | null;
  limits: Pick<Limits, 'httpRequestsPerSecondMax' | 'httpRequestsBurstMax'>;
  clock: Clock;
  logger: Logger;
  registry: Registry;
}): HttpGuard {
  const rate = o.limits.httpRequestsPerSecondMax;
  return new HttpGuard({
    access: new AccessControl(o.tokens),
    limiter: rate > 0 ? new RateLimiter({ ratePerSecond: rate, burst: o.limits.httpRequestsBurstMax, nowMs: () => o.clock.nowMs() }) : null,
    logger: o.logger,
    registry: o.registry,
  });
}
