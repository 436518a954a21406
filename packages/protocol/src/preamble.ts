import { MAGIC, PREAMBLE_BYTES, PROTOCOL_VERSION, VERSION_BYTES } from "./wire-constants.js";

/** The eight bytes a Ferry client sends first: MAGIC then the version as a big-endian u16. */
export function encodePreamble(version: number = PROTOCOL_VERSION): Buffer {
  const out = Buffer.alloc(PREAMBLE_BYTES);
  out.set(MAGIC, 0);
  out.writeUInt16BE(version, MAGIC.length);
  return out;
}

export type PreambleMatch =
  /** Every byte so far agrees with MAGIC; more are needed to decide. */
  | { status: "incomplete" }
  /** Not a Ferry connection: the server treats it as a raw upload. */
  | { status: "not-ferry" }
  /** A Ferry preamble; `version` may still be one the server does not speak. */
  | { status: "ferry"; version: number };

/** Classifies the first bytes of a connection (pass everything received so far). */
export function matchPreamble(head: Uint8Array): PreambleMatch {
  const n = Math.min(head.length, MAGIC.length);
  for (let i = 0; i < n; i++) {
    if (head[i] !== MAGIC[i]) return { status: "not-ferry" };
  }
  if (head.length < PREAMBLE_BYTES) return { status: "incomplete" };
  const version = (head[MAGIC.length]! << 8) | head[MAGIC.length + VERSION_BYTES - 1]!;
  return { status: "ferry", version };
}
