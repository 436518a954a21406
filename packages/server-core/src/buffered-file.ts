import { createHash } from "node:crypto";
import { closeSync, openSync, writeSync, writevSync } from "node:fs";
import { unlink } from "node:fs/promises";
import { ServerError } from "./errors.js";
import type { FsyncBatch } from "./fsync-batch.js";
import type { IncomingFile } from "./incoming-file.js";

/**
 * Small uploads of known size: bytes are held (and hashed) in memory and the temp file is created,
 * written, synced and closed in one go by finish(), which runs off the connection's critical path.
 * With a streamed file every small upload paid an open() round trip before its first byte could
 * be taken; for folders of 4 KiB files that round trip was most of the per-file cost.
 */
export class BufferedFile implements IncomingFile {
  readonly tempPath: string;
  readonly #hash = createHash("sha256");
  #chunks: Buffer[] = [];
  #bytes = 0;
  #digest: string | undefined;
  #created = false;

  readonly #fsync: FsyncBatch;

  constructor(tempPath: string, fsync: FsyncBatch) {
    this.tempPath = tempPath;
    this.#fsync = fsync;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get error(): Error | undefined {
    return undefined; // nothing touches the disk before finish()
  }

  write(chunk: Buffer): boolean {
    this.#hash.update(chunk);
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
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
    // open, write and close are synchronous (docs/performance.md, "Synchronous metadata calls"); the fsync,
    // which waits for the disk, stays asynchronous and joins the batch.
    try {
      const fd = openSync(this.tempPath, "wx", 0o644);
      this.#created = true;
      try {
        const written = writevSync(fd, this.#chunks);
        // writev may stop short (a signal, a full disk); finish the rest from where it stopped.
        if (written < this.#bytes) {
          const rest = Buffer.concat(this.#chunks).subarray(written);
          for (let at = 0; at < rest.length; ) at += writeSync(fd, rest, at);
        }
        // The bytes are in the page cache now: let them go before waiting for the disk, so a
        // connection's commits in flight (up to 32, each a batch of up to 8 MiB) hold no memory.
        this.#chunks = [];
        if (fsync) await this.#fsync.sync(fd);
      } finally {
        closeSync(fd);
      }
    } catch (cause) {
      throw new ServerError(`cannot write the file: ${(cause as Error).message}`, { code: "STORAGE_ERROR", cause });
    } finally {
      this.#chunks = [];
    }
    return this.digest();
  }

  suspend(): Promise<void> {
    return this.discard();
  }

  async release(): Promise<void> {}

  async discard(): Promise<void> {
    this.#chunks = [];
    if (this.#created) await unlink(this.tempPath).catch(() => undefined);
  }
}
