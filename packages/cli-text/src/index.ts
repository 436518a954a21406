export { formatBytes, formatRate, formatDuration, printable } from "./format.js";
