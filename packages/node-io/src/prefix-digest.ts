import type { DigestAlgorithm } from "@ferry/protocol";
import { canCopy, copyHasher, createHasher, type Hasher } from "./digest.js";
import { readAt } from "./positioned-io.js";

/** Reads of a prefix go through one buffer of at most this size. */
const READ_BYTES = 1024 * 1024;

/** Reads up to `length` bytes at `position` into `buffer`; 0 at the end. */
export type ReadAt = (buffer: Buffer, length: number, position: number) => Promise<number>;

export interface PrefixDigest {
  /** Digest (hex) of each whole chunk read, in order, in the prefix's algorithm. */
  digests: string[];
  /** Bytes covered by `digests`. */
  bytes: number;
  /**
   * A whole-file hasher that has hashed the first `chunks` chunks, to continue the transfer from
   * there. SHA-256 states are kept for every boundary; BLAKE3's native hasher cannot be copied, so
   * it is handed out at 0 and at the end of the prefix, and any other boundary (or a second ask)
   * reads those chunks again.
   */
  hasherAt(chunks: number): Promise<Hasher>;
  /** hasherAt without reading: the state when it is at hand, null where the chunks must be read again. */
  hasherAtNow(chunks: number): Hasher | null;
}

/**
 * Hashes the leading chunks of an open file (a descriptor, or any positioned reader) in one pass: each chunk's own digest (what a resume
 * offer carries, or checks) and the whole-file hash after every chunk (so a transfer continuing at
 * any of those boundaries needs no second pass). A chunk runs to `end` at most; a chunk the file
 * does not wholly hold ends the prefix. With `expected`, the prefix also ends at the first chunk
 * whose digest differs, and at most `expected.length` chunks are read.
 *
 * The one reading of prefixes for both cores: a server's resumable upload and a client's partial
 * download (re-reading what they journalled), a server answering GET with resume, and a client
 * checking a server's PUT_OFFER against its file. `algorithm` is the connection's (default SHA-256).
 */
export async function digestPrefix(
  source: number | ReadAt,
  options: { chunkSize: number; end: number; maxChunks?: number; expected?: readonly string[]; algorithm?: DigestAlgorithm },
): Promise<PrefixDigest> {
  const { chunkSize, end, expected } = options;
  const algorithm = options.algorithm ?? "sha256";
  const read: ReadAt = typeof source === "number" ? (buffer, length, position) => readAt(source, buffer, length, position) : source;
  const maxChunks = Math.min(options.maxChunks ?? Infinity, expected?.length ?? Infinity);
  const digests: string[] = [];
  let bytes = 0;
  // SHA-256: states[k] has hashed the first k chunks. BLAKE3: only the running hasher, whose
  // state may be one chunk ahead of `bytes` when that chunk turned out not to match.
  const copies = canCopy(algorithm);
  const states: Hasher[] = copies ? [createHasher(algorithm)] : [];
  let running: Hasher | null = copies ? null : createHasher(algorithm);
  let runningChunks = 0;
  if (maxChunks > 0 && end > 0) {
    const buffer = Buffer.allocUnsafe(Math.min(chunkSize, READ_BYTES));
    while (digests.length < maxChunks) {
      const start = bytes;
      const stop = Math.min(start + chunkSize, end);
      if (stop <= start) break;
      const chunkHash = createHasher(algorithm);
      const whole = copies ? copyHasher(states.at(-1)!) : running!;
      let at = start;
      while (at < stop) {
        const bytesRead = await read(buffer, Math.min(buffer.length, stop - at), at);
        if (bytesRead === 0) break;
        chunkHash.update(buffer.subarray(0, bytesRead));
        whole.update(buffer.subarray(0, bytesRead));
        at += bytesRead;
      }
      if (!copies) runningChunks = at < stop ? -1 : runningChunks + 1;
      if (at < stop) break; // the file ends inside this chunk
      const digest = chunkHash.digest("hex");
      if (expected && expected[digests.length] !== digest) {
        if (!copies) runningChunks = -1;
        break;
      }
      digests.push(digest);
      if (copies) states.push(whole);
      bytes = stop;
    }
  }
  const rehash = async (chunks: number): Promise<Hasher> => {
    const hasher = createHasher(algorithm);
    const stop = Math.min(chunks * chunkSize, bytes);
    const buffer = Buffer.allocUnsafe(Math.max(1, Math.min(chunkSize, READ_BYTES, stop)));
    for (let at = 0; at < stop; ) {
      const bytesRead = await read(buffer, Math.min(buffer.length, stop - at), at);
      if (bytesRead === 0) throw new Error(`the prefix shrank while being read (at ${at} of ${stop} bytes)`);
      hasher.update(buffer.subarray(0, bytesRead));
      at += bytesRead;
    }
    return hasher;
  };
  const hasherAtNow = (chunks: number): Hasher | null => {
    if (chunks < 0 || chunks > digests.length) throw new RangeError(`no hash state after ${chunks} chunks (the prefix has ${digests.length})`);
    if (copies) return copyHasher(states[chunks]!);
    if (chunks === 0) return createHasher(algorithm);
    if (running && runningChunks === chunks) {
      const handed = running;
      running = null;
      return handed;
    }
    return null;
  };
  return {
    digests,
    bytes,
    hasherAtNow,
    hasherAt: async (chunks) => hasherAtNow(chunks) ?? rehash(chunks),
  };
}
