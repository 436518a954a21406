import { createHash } from "node:crypto";
import { close, fsync, open, write, writev } from "node:fs";
import { unlink } from "node:fs/promises";
import { promisify } from "node:util";
import { ServerError } from "./errors.js";
import type { IncomingFile } from "./incoming-file.js";

const openFile = promisify(open);
const writevAsync = promisify(writev);
const writeAsync = promisify(write);
const writevFile = (fd: number, chunks: Buffer[]): Promise<number> => writevAsync(fd, chunks).then((r) => r.bytesWritten);
const writeFile = (fd: number, bytes: Buffer): Promise<number> => writeAsync(fd, bytes).then((r) => r.bytesWritten);
const fsyncFile = promisify(fsync);
const closeFile = promisify(close);

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

  constructor(tempPath: string) {
    this.tempPath = tempPath;
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
    // Plain descriptors through the callback API, not a FileHandle: for a 4 KiB file the
    // FileHandle's own set-up and close cost more than the writing (about 150 vs 105 µs per file
    // for open, write, fsync, close, link, unlink, lstat, measured on tmpfs).
    try {
      const fd = await openFile(this.tempPath, "wx", 0o644);
      this.#created = true;
      try {
        const written = await writevFile(fd, this.#chunks);
        // writev may stop short (a signal, a full disk); finish the rest from where it stopped.
        if (written < this.#bytes) {
          const rest = Buffer.concat(this.#chunks).subarray(written);
          for (let at = 0; at < rest.length; ) at += await writeFile(fd, rest.subarray(at));
        }
        if (fsync) await fsyncFile(fd);
      } finally {
        await closeFile(fd);
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
