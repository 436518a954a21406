import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { LIMITS } from "@ferry/protocol";
import { ClientError } from "./errors.js";

/** A small file to read for a batch; `size` is what the caller listed, if it listed one. */
export interface BatchSource {
  localPath: string;
  size?: number;
}

/**
 * Reads a batch's small files synchronously (docs/performance.md, "Synchronous metadata calls")
 * into one buffer, back to back, in order: each result is a view of it, or why that file could not
 * be read. A file of the listed size costs open, read and close; reading one byte more than listed
 * is how a file that grew since is noticed, without an fstat per file ("W2, third session"). A
 * grown file, or one listed without a size, is read on its own (fstat first) and keeps its own
 * buffer; `joined` then copies, as it must.
 */
export function readBatchFiles(sources: BatchSource[]): { files: (Buffer | ClientError)[]; joined(parts: Buffer[]): Buffer } {
  // Room for every file read in place (listed, and within the batch limit), plus the one byte that shows growth.
  const capacity = sources.reduce((sum, s) => sum + (s.size !== undefined && s.size <= LIMITS.MAX_BATCH_FILE ? s.size : 0), 0) + 1;
  const slab = Buffer.allocUnsafe(capacity);
  let at = 0;
  const files = sources.map((source): Buffer | ClientError => {
    let fd: number | undefined;
    try {
      fd = openSync(source.localPath, "r");
      if (source.size !== undefined && source.size <= LIMITS.MAX_BATCH_FILE) {
        // The files before this one took at most their listed sizes, so size + 1 bytes are free here.
        const read = readAll(fd, slab, at, source.size + 1);
        if (read <= source.size) {
          at += read;
          return slab.subarray(at - read, at);
        }
      }
      return readWhole(fd, source.localPath);
    } catch (cause) {
      return new ClientError(`cannot read ${source.localPath}: ${(cause as Error).message}`, { code: "LOCAL_FILE_ERROR", cause });
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  });
  return {
    files,
    // The files sent are usually every one read, already back to back in the slab: no copy.
    joined(parts) {
      let end = 0;
      for (const part of parts) {
        if (part.buffer !== slab.buffer || part.byteOffset !== slab.byteOffset + end) return Buffer.concat(parts);
        end += part.length;
      }
      return slab.subarray(0, end);
    },
  };
}

/** Reads up to `length` bytes from the start of `fd` into `into` at `offset`; fewer only at the end of the file. */
function readAll(fd: number, into: Buffer, offset: number, length: number): number {
  let read = 0;
  for (let n = -1; read < length && n !== 0; read += n) n = readSync(fd, into, offset + read, length - read, read);
  return read;
}

/** The whole of an open file, sized by fstat: a regular file of at most MAX_BATCH_FILE bytes. */
function readWhole(fd: number, localPath: string): Buffer | ClientError {
  const stat = fstatSync(fd);
  if (!stat.isFile()) throw new Error("not a regular file");
  if (stat.size > LIMITS.MAX_BATCH_FILE) {
    return new ClientError(`${localPath} grew to ${stat.size} bytes, too large for a batch`, { code: "SOURCE_CHANGED" });
  }
  const bytes = Buffer.allocUnsafe(stat.size);
  return bytes.subarray(0, readAll(fd, bytes, 0, stat.size));
}
