import { AggregatorRegistry } from "prom-client";
import type { ServerMetrics } from "./metrics.js";

/** What the admin port renders at /metrics. */
export interface MetricsSource {
  render(): Promise<string>;
  readonly contentType: string;
}

/**
 * In a worker of `ferry-server --workers N`: answers the primary's requests for metrics (through
 * node:cluster's IPC, prom-client's AggregatorRegistry) with this worker's.
 */
export function shareMetricsWithPrimary(metrics: ServerMetrics): void {
  AggregatorRegistry.setRegistries([metrics.registry]);
  // prom-client starts answering the primary's requests when an AggregatorRegistry is first made.
  new AggregatorRegistry();
}

/** In the primary: every worker's metrics, each series aggregated as it was declared (sum unless said). */
export function workersMetrics(): MetricsSource {
  const aggregator = new AggregatorRegistry();
  return { render: () => aggregator.clusterMetrics(), contentType: aggregator.contentType };
}
