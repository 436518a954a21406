import { createHash } from "node:crypto";
import { closeSync, openSync } from "node:fs";
import { unlink } from "node:fs/promises";
import { fsyncFd, JournalledWriter, type JournalHeader } from "@ferry/node-io";
import { ServerError } from "./errors.js";

/** Prefix of temporary files in the storage dir; swept at start-up. */
export const TEMP_PREFIX = ".ferry-tmp-";

/** An upload being received into a hidden temporary file, hashed (SHA-256) as bytes arrive. */
export interface IncomingFile {
  readonly tempPath: string;
  /** Bytes accepted so far. */
  readonly bytes: number;
  /** The write error, if the disk refused bytes (ENOSPC, EIO…). */
  readonly error: Error | undefined;
  /** Queues bytes; false means wait for drained() before writing more. */
  write(chunk: Buffer): boolean;
  /** Resolves when more may be written; rejects on a write error. */
  drained(): Promise<void>;
  /** SHA-256 of everything written; call once, after the last write. */
  digest(): string;
  /** Makes the temp file complete (and durable with `fsync`); returns the SHA-256. */
  finish(fsync: boolean): Promise<string>;
  /** Drops the upload and its temp file. Safe to call more than once. */
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
export class StreamedFile implements IncomingFile {
  readonly tempPath: string;
  readonly #fd: number;
  readonly #writer: JournalledWriter<JournalHeader>;
  #closed = false;

  private constructor(tempPath: string, fd: number, size: number | null) {
    this.tempPath = tempPath;
    this.#fd = fd;
    this.#writer = new JournalledWriter({ fd, size: size ?? Infinity, offset: 0, hash: createHash("sha256"), journal: null, copy: false });
  }

  /** Creates the temporary file (O_EXCL: never reuses or follows an existing entry). `size`: null when unknown (raw). */
  static create(tempPath: string, size: number | null): StreamedFile {
    try {
      return new StreamedFile(tempPath, openSync(tempPath, "wx", 0o644), size);
    } catch (cause) {
      throw new ServerError("cannot create a temporary file", { code: "STORAGE_ERROR", cause });
    }
  }

  get bytes(): number {
    return this.#writer.bytes;
  }

  /** The write error, if the disk refused bytes (ENOSPC, EIO…). */
  get error(): Error | undefined {
    return this.#writer.error;
  }

  /** Queues bytes; false means wait for drained() before writing more. */
  write(chunk: Buffer): boolean {
    return this.#writer.write(chunk);
  }

  /** Resolves when the write queue is below its limit; rejects on a write error. */
  async drained(): Promise<void> {
    await this.#writer.drained();
    if (this.#writer.error) throw this.#storageError();
  }

  /** SHA-256 of everything written so far; call once, after the last write. */
  digest(): string {
    return this.#writer.digest();
  }

  /** Flushes, optionally fsyncs, closes; returns the SHA-256 of everything written. */
  async finish(fsync: boolean): Promise<string> {
    await this.#writer.settle();
    if (this.#writer.error) {
      this.#close();
      throw this.#storageError();
    }
    try {
      if (fsync) await fsyncFd(this.#fd);
    } catch (cause) {
      this.#close();
      throw new ServerError(`cannot write the file: ${(cause as Error).message}`, { code: "STORAGE_ERROR", cause });
    }
    this.#close();
    return this.digest();
  }

  suspend(): Promise<void> {
    return this.discard();
  }

  async release(): Promise<void> {}

  /** Drops the upload: closes and removes the temporary file. Safe to call more than once. */
  async discard(): Promise<void> {
    await this.#writer.settle();
    this.#close();
    await unlink(this.tempPath).catch(() => undefined);
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      closeSync(this.#fd);
    } catch {
      // nothing left to lose
    }
  }

  #storageError(): ServerError {
    const error = this.#writer.error;
    return new ServerError(`cannot write the file: ${error?.message ?? "unknown error"}`, { code: "STORAGE_ERROR", cause: error });
  }
}
