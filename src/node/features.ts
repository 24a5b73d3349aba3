/**
 * The features installed on every node, on top of the replicated core.
 * Each registers its routes, peer handlers and timers through FeatureHost.
 */
import type { FeatureHost } from './feature-host';
import { installClientApi } from './client-api';
import { installSessionStatsApi } from './session-stats-api';
import { installTtlSweeper } from './ttl-sweeper';
import { installReplicasApi } from './replicas-api';
import { installAntiEntropy } from './anti-entropy-service';
import { installHandoffService } from './handoff-service';
import { installEventLoopMonitor } from './event-loop-monitor';
import { installTombstoneReaper } from './tombstone-service';

export function installFeatures(_host: FeatureHost): void {
  // Features add one line each here.
  installReplicasApi(_host);
  installClientApi(_host);
  installSessionStatsApi(_host, installTtlSweeper(_host));
  installAntiEntropy(_host);
  installHandoffService(_host);
  installEventLoopMonitor(_host);
  installTombstoneReaper(_host);
}
