/**
 * JSON over HTTP to a ringstore node (docs/http-api.md), with a time limit.
 * A node's error body `{"error", "code"}` becomes a NodeHttpError carrying
 * the status and code, so callers can tell a quorum failure (503
 * RS_ERR_QUORUM) from a node that is not there at all.
 */
import { RingstoreError } from '../src/core/errors';

/** A node's error answer, or a node that did not answer (status 503, code RS_ERR_UNREACHABLE). */
export class NodeHttpError extends RingstoreError {
  constructor(message: string, status: number, code: string) {
    super(code, status, message);
    this.name = 'NodeHttpError';
  }
}

export async function fetchJson<T = unknown>(
  url: string,
  opts: { method?: string; body?: unknown; timeoutMs: number },
): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: opts.method ?? 'GET',
      headers: opts.body === undefined ? {} : { 'content-type': 'application/json' },
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new NodeHttpError(`${new URL(url).host} unreachable: ${why}`, 503, 'RS_ERR_UNREACHABLE');
  }
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!res.ok) {
    const b = (body ?? {}) as { error?: string; code?: string };
    throw new NodeHttpError(b.error ?? `HTTP ${res.status}`, res.status, b.code ?? (res.status >= 500 ? 'RS_ERR_INTERNAL' : 'RS_ERR_BAD_REQUEST'));
  }
  return body as T;
}
