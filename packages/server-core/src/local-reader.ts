import { closeSync, readSync } from "node:fs";
import { readAt } from "@ferry/node-io";
import type { FileDigest } from "@ferry/protocol";
import type { StoredReader } from "./storage.js";

/** Reads up to this size are one synchronous call (docs/performance.md, "Synchronous metadata calls"). */
const SYNC_READ_BYTES = 64 * 1024;

/** A stored file of the local directory, opened once: an overwrite published meanwhile is not seen. */
export class LocalReader implements StoredReader {
  readonly size: number;
  readonly digest: FileDigest | null;
  readonly mtime: number;
  readonly #fd: number;
  #closed = false;

  constructor(fd: number, facts: { size: number; digest: FileDigest | null; mtime: number }) {
    this.#fd = fd;
    this.size = facts.size;
    this.digest = facts.digest;
    this.mtime = facts.mtime;
  }

  async read(buffer: Buffer, length: number, position: number): Promise<number> {
    if (length <= SYNC_READ_BYTES) return readSync(this.#fd, buffer, 0, length, position);
    return readAt(this.#fd, buffer, length, position);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeSync(this.#fd);
  }
}
