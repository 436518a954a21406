export { formatBytes, formatRate, formatDuration, printable, formatDigest, digestByAlgorithm, type NamedDigest } from "./format.js";
export { throwOnUsageErrors, usageOutcome } from "./usage.js";
