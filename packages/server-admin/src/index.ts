export { ServerMetrics } from "./metrics.js";
export { startAdmin, type AdminOptions, type AdminServer } from "./admin-server.js";
