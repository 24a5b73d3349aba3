/**
 * Prometheus metrics (prom-client), one registry per node so several nodes in
 * one process (tests) do not collide.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface NodeMetrics {
  registry: Registry;
  httpRequests: Counter<'route' | 'status'>;
  httpSeconds: Histogram<'route'>;
}

export interface MetricSources {
  keys: () => number;
  hintsPending: () => number;
  readRepairs: () => number;
  hintsStored: () => number;
  hintsDelivered: () => number;
  forwarded: () => number;
  membersAlive: () => number;
}

export function createMetrics(nodeId: string, src: MetricSources, withDefaults: boolean): NodeMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ node: nodeId });
  if (withDefaults) collectDefaultMetrics({ register: registry });
  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({ name, help, registers: [registry], collect() { this.set(read()); } });
  };
  gauge('ringstore_keys', 'Keys stored on this node', src.keys);
  gauge('ringstore_hints_pending', 'Hints held for unreachable owners', src.hintsPending);
  gauge('ringstore_read_repairs', 'Read repairs sent since start', src.readRepairs);
  gauge('ringstore_hints_stored', 'Hints stored since start', src.hintsStored);
  gauge('ringstore_hints_delivered', 'Hints handed off since start', src.hintsDelivered);
  gauge('ringstore_forwarded', 'Writes forwarded to a replica since start', src.forwarded);
  gauge('ringstore_members_alive', 'Members this node can reach, itself included', src.membersAlive);
  return {
    registry,
    httpRequests: new Counter({
      name: 'ringstore_http_requests_total', help: 'HTTP requests by route and status',
      labelNames: ['route', 'status'], registers: [registry],
    }),
    httpSeconds: new Histogram({
      name: 'ringstore_http_request_seconds', help: 'HTTP request latency',
      labelNames: ['route'], registers: [registry],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5],
    }),
  };
}
