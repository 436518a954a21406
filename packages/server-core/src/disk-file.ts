import { closeFd, fsyncFd, JournalledWriter, type JournalHeader } from "@ferry/node-io";
import { ServerError } from "./errors.js";
import type { IncomingFile } from "./incoming-file.js";

/**
 * An upload written to a file on disk through node-io's JournalledWriter: the part streamed and
 * resumable uploads share (writing, backpressure, digest, finish, close). Subclasses say what
 * suspend, discard and release do with their files.
 */
export abstract class DiskFile<H extends JournalHeader> implements IncomingFile {
  readonly tempPath: string;
  protected readonly fd: number;
  protected writer: JournalledWriter<H>;
  #closed = false;

  protected constructor(tempPath: string, fd: number, writer: JournalledWriter<H>) {
    this.tempPath = tempPath;
    this.fd = fd;
    this.writer = writer;
  }

  get bytes(): number {
    return this.writer.bytes;
  }

  /** The write error, if the disk refused bytes (ENOSPC, EIO…). */
  get error(): Error | undefined {
    return this.writer.error;
  }

  /** Queues bytes; false means wait for drained() before writing more. */
  write(chunk: Buffer): boolean {
    return this.writer.write(chunk);
  }

  /** Resolves when the write queue is below its limit; rejects on a write error. */
  async drained(): Promise<void> {
    await this.writer.drained();
    if (this.writer.error) throw this.#storageError(this.writer.error);
  }

  digest(): string {
    return this.writer.digest();
  }

  /** Flushes, optionally fsyncs, closes; returns the SHA-256 of everything written. */
  async finish(fsync: boolean): Promise<string> {
    await this.writer.settle();
    try {
      if (this.writer.error) throw this.writer.error;
      if (fsync) await fsyncFd(this.fd);
    } catch (cause) {
      this.close();
      throw this.#storageError(cause as Error);
    }
    this.close();
    return this.digest();
  }

  abstract discard(): Promise<void>;
  abstract suspend(): Promise<void>;
  abstract release(): Promise<void>;

  /** Closes the descriptor once (after settle(): no write is in flight). */
  protected close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.onClose();
    closeFd(this.fd);
  }

  /** Runs once, when the descriptor closes. */
  protected onClose(): void {}

  #storageError(cause: Error): ServerError {
    return new ServerError(`cannot write the file: ${cause.message}`, { code: "STORAGE_ERROR", cause });
  }
}
