import prettyBytes from "pretty-bytes";
import prettyMilliseconds from "pretty-ms";

// Sizes and durations come from pretty-bytes and pretty-ms (the last majors that run on Node 20):
// their edge cases (1,024,000 bytes, an hour) are theirs to get right, and users know the output.

/** Human-readable size in binary units (1 KiB = 1,024 bytes): "0 B", "1000 KiB", "1.5 GiB". */
export function formatBytes(bytes: number): string {
  // No fraction-digit options: with them pretty-bytes formats through toLocaleString, ~100× slower,
  // and the server formats a size for every upload it logs (docs/performance.md).
  return prettyBytes(bytes, { binary: true });
}

export function formatRate(bytes: number, ms: number): string {
  if (ms <= 0) return "—";
  return `${formatBytes((bytes * 1000) / ms)}/s`;
}

/** "512ms", "1.2s", "1h 2m": one or two units, never "3600.00 s". */
export function formatDuration(ms: number): string {
  return prettyMilliseconds(Math.max(0, ms), { unitCount: 2, secondsDecimalDigits: 1, millisecondsDecimalDigits: 0 });
}

/** A peer-supplied name made safe to print: control and bidi characters shown as \u escapes. */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex -- escaping control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** A file's digest with its algorithm named (protocol's FileDigest, by shape: no dependency on it here). */
export interface NamedDigest<A extends string = string> {
  algorithm: A;
  hex: string;
}

/** A digest as both CLIs print it: "sha256 <hex>" or "blake3 <hex>", the algorithm first. */
export function formatDigest(digest: NamedDigest): string {
  return `${digest.algorithm} ${digest.hex}`;
}

/** A digest as JSON carries it (`--json`, `--log json`): the hex under its algorithm's key, `{ "sha256": … }` or `{ "blake3": … }`. */
export function digestByAlgorithm<A extends string>(digest: NamedDigest<A>): Partial<Record<A, string>> {
  return { [digest.algorithm]: digest.hex } as Partial<Record<A, string>>;
}
