import { createHash } from "node:crypto";
import { closeSync, openSync, writeSync, writevSync } from "node:fs";
import { unlink } from "node:fs/promises";
import { ServerError } from "./errors.js";
import type { FsyncBatch } from "./fsync-batch.js";
import type { IncomingFile } from "./incoming-file.js";

/**
 * Small uploads of known size (≤ 64 KiB): bytes are hashed as they arrive and held only until the
 * file's last byte is in; then the temp file is created and written in one go (synchronous calls,
 * docs/performance.md "Synchronous metadata calls"), and finish(), off the connection's critical
 * path, only syncs and closes it. With a streamed file every small upload paid an open() round trip
 * before its first byte could be taken; for folders of 4 KiB files that round trip was most of the
 * per-file cost. Writing each file as soon as it is complete, rather than at the commit, keeps a
 * batch that is still arriving from holding its earlier files in memory (docs/security.md, "batch
 * flood"): at most the one incomplete file is held, copied out of the socket's buffers.
 */
export class BufferedFile implements IncomingFile {
  readonly tempPath: string;
  readonly #size: number;
  readonly #hash = createHash("sha256");
  #chunks: Buffer[] = [];
  #bytes = 0;
  #digest: string | undefined;
  #created = false;
  /** Open once the bytes are written, until finish() or discard() closes it. */
  #fd: number | undefined;
  #error: Error | undefined;

  readonly #fsync: FsyncBatch;

  constructor(tempPath: string, size: number, fsync: FsyncBatch) {
    this.tempPath = tempPath;
    this.#size = size;
    this.#fsync = fsync;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get error(): Error | undefined {
    return this.#error;
  }

  write(chunk: Buffer): boolean {
    if (chunk.length === 0) return true; // an empty DATA frame: nothing to hold, nothing completed
    this.#hash.update(chunk);
    this.#bytes += chunk.length;
    if (this.#bytes < this.#size) {
      // Held across reads: a copy, so the socket's whole read buffer is not kept alive by a view.
      this.#chunks.push(Buffer.from(chunk));
      return true;
    }
    this.#chunks.push(chunk);
    // Complete (or over-long: the session refuses those before writing). A failure is kept for
    // finish(), where the upload's answer is decided.
    if (this.#bytes === this.#size) this.#writeOut();
    return true;
  }

  drained(): Promise<void> {
    return Promise.resolve();
  }

  digest(): string {
    this.#digest ??= this.#hash.digest("hex");
    return this.#digest;
  }

  async finish(fsync: boolean): Promise<string> {
    if (this.#fd === undefined && this.#error === undefined) this.#writeOut(); // an empty file
    try {
      if (this.#error) throw this.#error;
      if (fsync) await this.#fsync.sync(this.#fd!);
    } catch (cause) {
      throw new ServerError(`cannot write the file: ${(cause as Error).message}`, { code: "STORAGE_ERROR", cause });
    } finally {
      this.#close();
    }
    return this.digest();
  }

  suspend(): Promise<void> {
    return this.discard();
  }

  async release(): Promise<void> {}

  async discard(): Promise<void> {
    this.#chunks = [];
    this.#close();
    if (this.#created) await unlink(this.tempPath).catch(() => undefined);
  }

  /** Creates the temp file and writes every held byte; the descriptor stays open for the fsync. */
  #writeOut(): void {
    const chunks = this.#chunks;
    this.#chunks = [];
    try {
      const fd = openSync(this.tempPath, "wx", 0o644);
      this.#created = true;
      this.#fd = fd;
      const written = writevSync(fd, chunks);
      // writev may stop short (a signal, a full disk); finish the rest from where it stopped.
      if (written < this.#bytes) {
        const rest = Buffer.concat(chunks).subarray(written);
        for (let at = 0; at < rest.length; ) at += writeSync(fd, rest, at);
      }
    } catch (cause) {
      this.#error = cause as Error;
    }
  }

  #close(): void {
    if (this.#fd === undefined) return;
    const fd = this.#fd;
    this.#fd = undefined;
    try {
      closeSync(fd);
    } catch {
      // already unusable; nothing is lost by not closing it twice
    }
  }
}
