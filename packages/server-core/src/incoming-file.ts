import { openSync } from "node:fs";
import { unlink } from "node:fs/promises";
import { createHasher, JournalledWriter, type JournalHeader } from "@ferry/node-io";
import type { DigestAlgorithm } from "@ferry/protocol";
import { DiskFile } from "./disk-file.js";
import { ServerError } from "./errors.js";

/** Prefix of temporary files in the storage dir; swept at start-up. */
export const TEMP_PREFIX = ".ferry-tmp-";

/**
 * An upload being received, hashed (the connection's digest, SHA-256 by default) as bytes arrive, invisible until its storage publishes
 * it: a hidden temporary file (local) or an object not yet committed (cluster).
 */
export interface IncomingFile {
  /** Bytes accepted so far. */
  readonly bytes: number;
  /** The write error, if the disk refused bytes (ENOSPC, EIO…). */
  readonly error: Error | undefined;
  /** Queues bytes; false means wait for drained() before writing more. */
  write(chunk: Buffer): boolean;
  /** Resolves when more may be written; rejects on a write error. */
  drained(): Promise<void>;
  /** Digest (hex, in the algorithm the file was created with) of everything written; call once, after the last write. */
  digest(): string;
  /** Makes the upload complete (and durable with `fsync`); returns the digest. */
  finish(fsync: boolean): Promise<string>;
  /**
   * The file's mtime (ms) as finish() left it, for kinds that read it before closing (one fstat):
   * publishing records it in the index instead of an lstat of the published name.
   */
  readonly mtimeMs?: number | undefined;
  /** Drops the upload and what it holds. Safe to call more than once. */
  discard(): Promise<void>;
  /** Keeps what was received for a later resume, if this kind of file can; otherwise discards. */
  suspend(): Promise<void>;
  /** After the file was published: removes any side files (a resume journal). */
  release(): Promise<void>;
}

/**
 * Large or unknown-size uploads: written to the temp file as they arrive, in bounded memory, through
 * node-io's JournalledWriter without a journal (gathered ~1 MiB positioned writes, several in
 * flight, tiny DATA frames copied together rather than written one by one).
 */
export class StreamedFile extends DiskFile<JournalHeader> {
  private constructor(tempPath: string, fd: number, size: number | null, algorithm: DigestAlgorithm) {
    super(tempPath, fd, new JournalledWriter({ fd, size: size ?? Infinity, offset: 0, hash: createHasher(algorithm), journal: null, copy: false }));
  }

  /** Creates the temporary file (O_EXCL: never reuses or follows an existing entry). `size`: null when unknown (raw). */
  static create(tempPath: string, size: number | null, algorithm: DigestAlgorithm = "sha256"): StreamedFile {
    try {
      return new StreamedFile(tempPath, openSync(tempPath, "wx", 0o644), size, algorithm);
    } catch (cause) {
      throw new ServerError("cannot create a temporary file", { code: "STORAGE_ERROR", cause });
    }
  }

  /** Nothing to resume from: the same as discard. */
  suspend(): Promise<void> {
    return this.discard();
  }

  async release(): Promise<void> {}

  /** Drops the upload: closes and removes the temporary file. Safe to call more than once. */
  async discard(): Promise<void> {
    await this.writer.settle();
    this.close();
    await unlink(this.tempPath).catch(() => undefined);
  }
}
