export { ServerMetrics } from "./metrics.js";
export { startAdmin, type AdminOptions, type AdminServer, type AdminTarget } from "./admin-server.js";
export { shareMetricsWithPrimary, workersMetrics, type MetricsSource } from "./cluster-metrics.js";
