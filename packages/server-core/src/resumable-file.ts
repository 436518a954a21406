import type { Hash } from "node:crypto";
import { closeSync, constants, ftruncateSync, openSync } from "node:fs";
import { unlink } from "node:fs/promises";
import path from "node:path";
import { ChunkJournal, digestPrefix, fsyncFd, JournalledWriter, PARTIAL_PREFIX, type PrefixDigest } from "@ferry/node-io";
import { ServerError } from "./errors.js";
import type { IncomingFile } from "./incoming-file.js";

/** What a partial belongs to; a PUT that differs in any field starts it over. */
export interface PartialHeader {
  name: string;
  size: number;
  chunkSize: number;
}

/**
 * A resumable upload: `.ferry-part-<key>` holds the bytes and its chunk journal records each chunk
 * once its bytes were synced (node-io's ChunkJournal and JournalledWriter), so after a lost
 * connection, a client kill or a server crash the upload continues from the last recorded chunk.
 *
 * While receiving, bytes are hashed once (the whole-file SHA-256 PUT_END is checked against). The
 * per-chunk SHA-256s PUT_OFFER carries are computed only when an upload is resumed, from the bytes
 * on disk, in the same pass that rebuilds the whole-file hash (docs/performance.md, "Hashing once").
 */
export class ResumableFile implements IncomingFile {
  readonly tempPath: string;
  readonly #journal: ChunkJournal<PartialHeader>;
  readonly #header: PartialHeader;
  readonly #fd: number;
  readonly #onClose: () => void;
  /** What the file verifiably held at open: offered in PUT_OFFER. */
  readonly #offered: PrefixDigest;
  #writer: JournalledWriter<PartialHeader>;
  #closed = false;

  private constructor(dataPath: string, header: PartialHeader, fd: number, offered: PrefixDigest, onClose: () => void) {
    this.tempPath = dataPath;
    this.#journal = new ChunkJournal(dataPath);
    this.#header = header;
    this.#fd = fd;
    this.#offered = offered;
    this.#onClose = onClose;
    this.#writer = this.#writerAt(offered.bytes, offered.states.at(-1)!);
  }

  /**
   * Opens (or creates) the partial for `key` and works out what it verifiably holds: each
   * journalled chunk is re-read and its SHA-256 computed, stopping at the first the data file does
   * not wholly hold. Reading the prefix also rebuilds the whole-file hash, so no second pass is
   * needed at the end.
   */
  static async open(dir: string, key: string, header: PartialHeader, onClose: () => void): Promise<{ file: ResumableFile; offset: number }> {
    const dataPath = path.join(dir, `${PARTIAL_PREFIX}${key}`);
    const found = new ChunkJournal<PartialHeader>(dataPath).read();
    const old = found?.header;
    const same = old !== undefined && old.name === header.name && old.size === header.size && old.chunkSize === header.chunkSize;
    let fd: number;
    try {
      fd = openSync(dataPath, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o644);
    } catch (cause) {
      throw new ServerError(`cannot open the partial upload: ${(cause as Error).message}`, { code: "STORAGE_ERROR", cause });
    }
    try {
      const offered = await digestPrefix(fd, { chunkSize: header.chunkSize, end: header.size, maxChunks: same ? found!.chunks : 0 });
      const file = new ResumableFile(dataPath, header, fd, offered, onClose);
      return { file, offset: offered.bytes };
    } catch (cause) {
      closeSync(fd);
      onClose();
      throw new ServerError(`cannot read the partial upload: ${(cause as Error).message}`, { code: "STORAGE_ERROR", cause });
    }
  }

  /** Digests of the chunks the partial verifiably holds (what PUT_OFFER carries). */
  get chunks(): string[] {
    return [...this.#offered.digests];
  }

  /** Continues at `offset`: the offered offset keeps the prefix, 0 starts over. */
  async startAt(offset: number): Promise<void> {
    if (offset !== 0 && offset !== this.#offered.bytes) {
      throw new ServerError(`resume offset ${offset} is neither 0 nor the offered ${this.#offered.bytes}`, { code: "UNEXPECTED_MESSAGE" });
    }
    const chunks = offset === 0 ? 0 : this.#offered.digests.length;
    this.#writer = this.#writerAt(offset, this.#offered.states[chunks]!.copy());
    try {
      ftruncateSync(this.#fd, offset);
      await this.#journal.rewrite(this.#header, chunks);
    } catch (cause) {
      throw new ServerError(`cannot prepare the partial upload: ${(cause as Error).message}`, { code: "STORAGE_ERROR", cause });
    }
  }

  get bytes(): number {
    return this.#writer.bytes;
  }

  get error(): Error | undefined {
    return this.#writer.error;
  }

  write(chunk: Buffer): boolean {
    return this.#writer.write(chunk);
  }

  async drained(): Promise<void> {
    await this.#writer.drained();
    if (this.#writer.error) throw this.#storageError();
  }

  digest(): string {
    return this.#writer.digest();
  }

  async finish(fsync: boolean): Promise<string> {
    await this.#writer.settle();
    if (this.#writer.error) throw this.#storageError();
    try {
      if (fsync) await fsyncFd(this.#fd);
    } catch (cause) {
      throw new ServerError("cannot flush the file to disk", { code: "STORAGE_ERROR", cause });
    }
    this.#close();
    return this.digest();
  }

  /** Keeps the partial for a later resume: flushes what was queued, closes, keeps both files. */
  async suspend(): Promise<void> {
    await this.#writer.settle();
    this.#close();
  }

  async discard(): Promise<void> {
    await this.#writer.settle();
    this.#close();
    await unlink(this.tempPath).catch(() => undefined);
    await this.#journal.remove();
  }

  /** After publishing (which removed the data file's temp name): drop the journal too. */
  async release(): Promise<void> {
    await this.#journal.remove();
  }

  /** A writer continuing at `offset` with the whole-file hash over the bytes before it. */
  #writerAt(offset: number, hash: Hash): JournalledWriter<PartialHeader> {
    return new JournalledWriter({
      fd: this.#fd,
      size: this.#header.size,
      offset,
      hash,
      journal: { chunkSize: this.#header.chunkSize, file: this.#journal },
      copy: false, // the connection hands over buffers it does not reuse
    });
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose();
    try {
      closeSync(this.#fd);
    } catch {
      // nothing left to lose: the bytes were synced (or are being thrown away)
    }
  }

  #storageError(): ServerError {
    const error = this.#writer.error;
    return new ServerError(`cannot write the file: ${error?.message ?? "unknown error"}`, { code: "STORAGE_ERROR", cause: error });
  }
}
