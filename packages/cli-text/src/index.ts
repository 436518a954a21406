export { formatBytes, formatRate, formatDuration, printable } from "./format.js";
export { throwOnUsageErrors, usageOutcome } from "./usage.js";
