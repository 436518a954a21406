import { closeSync, fstatSync, openSync, writeSync } from "node:fs";
import { unlink } from "node:fs/promises";
import { createHasher, type Hasher } from "@ferry/node-io";
import type { DigestAlgorithm } from "@ferry/protocol";
import { ServerError } from "./errors.js";
import type { FsyncBatch } from "./fsync-batch.js";
import type { IncomingFile } from "./incoming-file.js";

/**
 * Small uploads of known size (≤ 64 KiB), written with synchronous calls as their bytes arrive
 * (docs/performance.md, "Synchronous metadata calls"): the temp file is created at the first byte and
 * each piece is written at once, so nothing is held in memory, and finish(), off the connection's
 * critical path, only syncs and closes. With an asynchronous streamed file every small upload paid an
 * open() round trip before its first byte could be taken; for folders of 4 KiB files that round trip
 * was most of the per-file cost. Holding the bytes until the commit instead let a batch still arriving
 * keep up to 8 MiB per connection in memory (docs/security.md, "batch flood").
 */
export class SmallFile implements IncomingFile {
  readonly tempPath: string;
  readonly #hash: Hasher;
  #bytes = 0;
  #digest: string | undefined;
  #created = false;
  /** Open from the first byte until finish() or discard() closes it. */
  #fd: number | undefined;
  #error: Error | undefined;
  #mtimeMs: number | undefined;

  readonly #fsync: FsyncBatch;

  constructor(tempPath: string, fsync: FsyncBatch, algorithm: DigestAlgorithm = "sha256") {
    this.tempPath = tempPath;
    this.#hash = createHasher(algorithm);
    this.#fsync = fsync;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get error(): Error | undefined {
    return this.#error;
  }

  get mtimeMs(): number | undefined {
    return this.#mtimeMs;
  }

  write(chunk: Buffer): boolean {
    if (chunk.length === 0) return true; // an empty DATA frame carries nothing
    this.#hash.update(chunk);
    this.#bytes += chunk.length;
    // A failure is kept for finish(), where the upload's answer is decided.
    if (this.#error === undefined) {
      try {
        const fd = this.#open();
        for (let at = 0; at < chunk.length; ) at += writeSync(fd, chunk, at);
      } catch (cause) {
        this.#error = cause as Error;
      }
    }
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
    try {
      if (this.#error) throw this.#error;
      const fd = this.#open(); // an empty file has had no write to create it
      if (fsync) await this.#fsync.sync(fd);
      // Linking and renaming leave mtime alone: this is the published file's (docs/performance.md, "W2, third session").
      this.#mtimeMs = fstatSync(fd).mtimeMs;
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
    this.#close();
    if (this.#created) await unlink(this.tempPath).catch(() => undefined);
  }

  /** The temp file's descriptor, creating the file (O_EXCL) on first use. */
  #open(): number {
    if (this.#fd === undefined) {
      this.#fd = openSync(this.tempPath, "wx", 0o644);
      this.#created = true;
    }
    return this.#fd;
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
