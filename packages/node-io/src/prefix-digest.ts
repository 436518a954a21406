import { createHash, type Hash } from "node:crypto";
import { readAt } from "./positioned-io.js";

/** Reads of a prefix go through one buffer of at most this size. */
const READ_BYTES = 1024 * 1024;

/** Reads up to `length` bytes at `position` into `buffer`; 0 at the end. */
export type ReadAt = (buffer: Buffer, length: number, position: number) => Promise<number>;

export interface PrefixDigest {
  /** SHA-256 (hex) of each whole chunk read, in order. */
  digests: string[];
  /** Whole-file hash states: `states[k]` has hashed the first k chunks (`states[0]` nothing). */
  states: Hash[];
  /** Bytes covered by `digests`. */
  bytes: number;
}

/**
 * Hashes the leading chunks of an open file (a descriptor, or any positioned reader) in one pass: each chunk's own SHA-256 (what a resume
 * offer carries, or checks) and the whole-file hash after every chunk (so a transfer continuing at
 * any of those boundaries needs no second pass). A chunk runs to `end` at most; a chunk the file
 * does not wholly hold ends the prefix. With `expected`, the prefix also ends at the first chunk
 * whose digest differs, and at most `expected.length` chunks are read.
 *
 * The one reading of prefixes for both cores: a server's resumable upload and a client's partial
 * download (re-reading what they journalled), a server answering GET with resume, and a client
 * checking a server's PUT_OFFER against its file.
 */
export async function digestPrefix(
  source: number | ReadAt,
  options: { chunkSize: number; end: number; maxChunks?: number; expected?: readonly string[] },
): Promise<PrefixDigest> {
  const { chunkSize, end, expected } = options;
  const read: ReadAt = typeof source === "number" ? (buffer, length, position) => readAt(source, buffer, length, position) : source;
  const maxChunks = Math.min(options.maxChunks ?? Infinity, expected?.length ?? Infinity);
  const result: PrefixDigest = { digests: [], states: [createHash("sha256")], bytes: 0 };
  if (maxChunks === 0 || end <= 0) return result;
  const buffer = Buffer.allocUnsafe(Math.min(chunkSize, READ_BYTES));
  while (result.digests.length < maxChunks) {
    const start = result.bytes;
    const stop = Math.min(start + chunkSize, end);
    if (stop <= start) break;
    const chunkHash = createHash("sha256");
    const whole = result.states.at(-1)!.copy();
    let at = start;
    while (at < stop) {
      const bytesRead = await read(buffer, Math.min(buffer.length, stop - at), at);
      if (bytesRead === 0) break;
      chunkHash.update(buffer.subarray(0, bytesRead));
      whole.update(buffer.subarray(0, bytesRead));
      at += bytesRead;
    }
    if (at < stop) break; // the file ends inside this chunk
    const digest = chunkHash.digest("hex");
    if (expected && expected[result.digests.length] !== digest) break;
    result.digests.push(digest);
    result.states.push(whole);
    result.bytes = stop;
  }
  return result;
}
