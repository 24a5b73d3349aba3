/**
 * The features installed on every node, on top of the replicated core.
 * Each registers its routes, peer handlers and timers through FeatureHost.
 */
import type { FeatureHost } from './feature-host';

export function installFeatures(_host: FeatureHost): void {
  // Features add one line each here.
}
