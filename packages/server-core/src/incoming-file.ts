import { createHash, type Hash } from "node:crypto";
import { open, unlink, type FileHandle } from "node:fs/promises";
import type { WriteStream } from "node:fs";
import { ServerError } from "./errors.js";

/** Prefix of temporary files in the storage dir; swept at start-up. */
export const TEMP_PREFIX = ".ferry-tmp-";

// 4 MiB lets the socket keep being read while earlier frames are still being written (a single
// 1 MiB upload measured ~300 MiB/s with a 1 MiB queue, ~390 MiB/s with 4 MiB).
const WRITE_HIGH_WATER = 4 * 1024 * 1024;

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

/** Large or unknown-size uploads: streamed to the temp file as they arrive, in bounded memory. */
export class StreamedFile implements IncomingFile {
  readonly tempPath: string;
  #handle: FileHandle;
  #stream: WriteStream;
  #hash: Hash = createHash("sha256");
  #bytes = 0;
  #error: Error | undefined;
  #closed: Promise<void> | undefined;
  #digest: string | undefined;

  private constructor(tempPath: string, handle: FileHandle) {
    this.tempPath = tempPath;
    this.#handle = handle;
    // The stream owns the handle and closes it (a FileHandle cannot be closed while a stream holds it).
    this.#stream = handle.createWriteStream({ highWaterMark: WRITE_HIGH_WATER });
    this.#stream.on("error", (error) => {
      this.#error ??= error;
    });
  }

  /** Creates the temporary file (O_EXCL: never reuses or follows an existing entry). */
  static async create(tempPath: string): Promise<StreamedFile> {
    try {
      return new StreamedFile(tempPath, await open(tempPath, "wx", 0o644));
    } catch (cause) {
      throw new ServerError("cannot create a temporary file", { code: "STORAGE_ERROR", cause });
    }
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** The write error, if the disk refused bytes (ENOSPC, EIO…). */
  get error(): Error | undefined {
    return this.#error;
  }

  /** Queues bytes; false means wait for drained() before writing more. */
  write(chunk: Buffer): boolean {
    this.#hash.update(chunk);
    this.#bytes += chunk.length;
    return this.#stream.write(chunk);
  }

  /** Resolves when the write queue is below its high-water mark; rejects on a write error. */
  drained(): Promise<void> {
    if (this.#error) return Promise.reject(this.#storageError());
    if (!this.#stream.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onDrain = (): void => {
        this.#stream.off("error", onError);
        resolve();
      };
      const onError = (): void => {
        this.#stream.off("drain", onDrain);
        reject(this.#storageError());
      };
      this.#stream.once("drain", onDrain);
      this.#stream.once("error", onError);
    });
  }

  /** SHA-256 of everything written so far; call once, after the last write. */
  digest(): string {
    this.#digest ??= this.#hash.digest("hex");
    return this.#digest;
  }

  /** Flushes, optionally fsyncs, closes; returns the SHA-256 of everything written. */
  async finish(fsync: boolean): Promise<string> {
    try {
      // Writes complete in order, so an empty write's callback means every byte is in the file.
      await new Promise<void>((resolve, reject) =>
        this.#stream.write(Buffer.alloc(0), (error) => (error ? reject(error) : resolve())),
      );
      if (fsync) await this.#handle.sync();
      await this.#close();
    } catch (cause) {
      this.#error ??= cause as Error;
    }
    if (this.#error) throw this.#storageError();
    return this.digest();
  }

  suspend(): Promise<void> {
    return this.discard();
  }

  async release(): Promise<void> {}

  /** Drops the upload: closes and removes the temporary file. Safe to call more than once. */
  async discard(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      if (this.#stream.closed) return resolve();
      this.#stream.once("close", () => resolve());
      this.#stream.destroy(); // drop queued bytes rather than write them
    });
    await this.#closed.catch(() => undefined);
    await unlink(this.tempPath).catch(() => undefined);
  }

  #close(): Promise<void> {
    if (this.#closed) return this.#closed;
    this.#closed = new Promise<void>((resolve, reject) => {
      if (this.#stream.closed) return resolve();
      this.#stream.once("close", () => (this.#error && !this.#stream.writableFinished ? reject(this.#error) : resolve()));
      this.#stream.end();
    });
    return this.#closed;
  }

  #storageError(): ServerError {
    return new ServerError(`cannot write the file: ${this.#error?.message ?? "unknown error"}`, {
      code: "STORAGE_ERROR",
      cause: this.#error,
    });
  }
}
