export { formatBytes, formatRate, formatDuration, printable, formatDigest, digestByAlgorithm, type NamedDigest } from "./format.js";
export { throwOnUsageErrors, usageOutcome } from "./usage.js";
export { textPerTurn } from "./turn-text.js";
