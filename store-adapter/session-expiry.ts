/**
 * When a session expires, read from its cookie the way connect-redis and
 * connect-mongo do: cookie.expires (a Date, or the ISO string a JSON store
 * gives back), else cookie.maxAge (ms from now), else the store's default TTL.
 */
export function sessionExpiresAtMs(session: { cookie?: unknown } | null | undefined, nowMs: number, ttlSeconds: number): number {
  const cookie = session?.cookie as { expires?: unknown; maxAge?: unknown } | null | undefined;
  if (cookie && cookie.expires !== undefined && cookie.expires !== null) {
    const ms = new Date(cookie.expires as string | number | Date).getTime();
    if (Number.isFinite(ms)) return ms;
  }
  if (cookie && typeof cookie.maxAge === 'number' && Number.isFinite(cookie.maxAge)) return nowMs + cookie.maxAge;
  return nowMs + ttlSeconds * 1000;
}
