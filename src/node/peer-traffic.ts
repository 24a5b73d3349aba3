/** The `traffic` section of /admin/status (docs/http-api.md). */

/**
 * Peer bytes by the peer's region ('unknown' until its hello), and the total
 * to and from other regions: what a multi-region deployment pays for its
 * cross-region links (WebSocket frames, so TCP and TLS overhead are not
 * included).
 */
export function peerTrafficByRegion(
  peers: Record<string, { region: string | null; bytesSent: number; bytesReceived: number }>,
  selfRegion: string,
): { byRegion: Record<string, { bytesSent: number; bytesReceived: number }>; crossRegion: { bytesSent: number; bytesReceived: number } } {
  const byRegion: Record<string, { bytesSent: number; bytesReceived: number }> = {};
  const crossRegion = { bytesSent: 0, bytesReceived: 0 };
  for (const p of Object.values(peers)) {
    const region = p.region ?? 'unknown';
    const r = (byRegion[region] ??= { bytesSent: 0, bytesReceived: 0 });
    r.bytesSent += p.bytesSent;
    r.bytesReceived += p.bytesReceived;
    // A peer whose region is not known yet (a seed before its hello) is not counted as remote.
    if (p.region !== null && region !== selfRegion) {
      crossRegion.bytesSent += p.bytesSent;
      crossRegion.bytesReceived += p.bytesReceived;
    }
  }
  return { byRegion, crossRegion };
}
