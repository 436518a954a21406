import { constants, ftruncateSync, openSync } from "node:fs";
import { unlink } from "node:fs/promises";
import path from "node:path";
import { ChunkJournal, closeFd, digestPrefix, JournalledWriter, PARTIAL_PREFIX, type Hasher, type PrefixDigest } from "@ferry/node-io";
import type { DigestAlgorithm } from "@ferry/protocol";
import { DiskFile } from "./disk-file.js";
import { ServerError } from "./errors.js";
import type { PartialHeader, ResumableUpload } from "./storage.js";

/** What the storage root hears from a partial: it closed; it was suspended holding `bytes` on disk. */
export interface PartialHooks {
  onClose(): void;
  onSuspend(bytes: number): void;
}


/**
 * A resumable upload: `.ferry-part-<key>` holds the bytes and its chunk journal records each chunk
 * once its bytes were synced (node-io's ChunkJournal and JournalledWriter), so after a lost
 * connection, a client kill or a server crash the upload continues from the last recorded chunk.
 *
 * While receiving, bytes are hashed once (the whole-file digest PUT_END is checked against, in the
 * connection's algorithm: the partial itself has none, so a resume may use another). The
 * per-chunk digests PUT_OFFER carries are computed only when an upload is resumed, from the bytes
 * on disk, in the same pass that rebuilds the whole-file hash (docs/performance.md, "Hashing once").
 */
export class ResumableFile extends DiskFile<PartialHeader> implements ResumableUpload {
  readonly #journal: ChunkJournal<PartialHeader>;
  readonly #header: PartialHeader;
  readonly #hooks: PartialHooks;
  /** What the file verifiably held at open: offered in PUT_OFFER. */
  readonly #offered: PrefixDigest;
  /** The whole-file hash over the offered prefix, until startAt takes it (a BLAKE3 state is handed out once). */
  #prefixHash: Hasher | undefined;

  private constructor(dataPath: string, header: PartialHeader, fd: number, offered: PrefixDigest, prefixHash: Hasher, hooks: PartialHooks) {
    super(dataPath, fd, writerAt(fd, header, new ChunkJournal(dataPath), offered.bytes, prefixHash));
    this.#prefixHash = prefixHash;
    this.#journal = new ChunkJournal(dataPath);
    this.#header = header;
    this.#offered = offered;
    this.#hooks = hooks;
  }

  /**
   * Opens (or creates) the partial for `key` and works out what it verifiably holds: each
   * journalled chunk is re-read and its digest (in `algorithm`) computed, stopping at the first the data file does
   * not wholly hold. Reading the prefix also rebuilds the whole-file hash, so no second pass is
   * needed at the end.
   */
  static async open(dir: string, key: string, header: PartialHeader, algorithm: DigestAlgorithm, hooks: PartialHooks): Promise<{ file: ResumableFile; offset: number }> {
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
      const offered = await digestPrefix(fd, { chunkSize: header.chunkSize, end: header.size, maxChunks: same ? found!.chunks : 0, algorithm });
      const file = new ResumableFile(dataPath, header, fd, offered, await offered.hasherAt(offered.digests.length), hooks);
      return { file, offset: offered.bytes };
    } catch (cause) {
      closeFd(fd);
      hooks.onClose();
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
    let hash: Hasher;
    try {
      // Nothing was written before startAt: the prefix hash the constructor's writer holds is untouched.
      hash = chunks === this.#offered.digests.length && this.#prefixHash ? this.#prefixHash : await this.#offered.hasherAt(chunks);
      this.#prefixHash = undefined;
    } catch (cause) {
      throw new ServerError(`cannot read the partial upload: ${(cause as Error).message}`, { code: "STORAGE_ERROR", cause });
    }
    this.writer = writerAt(this.fd, this.#header, this.#journal, offset, hash);
    try {
      ftruncateSync(this.fd, offset);
      await this.#journal.rewrite(this.#header, chunks);
    } catch (cause) {
      throw new ServerError(`cannot prepare the partial upload: ${(cause as Error).message}`, { code: "STORAGE_ERROR", cause });
    }
  }

  /** Keeps the partial for a later resume: flushes what was queued, closes, keeps both files. */
  async suspend(): Promise<void> {
    await this.writer.settle();
    this.close();
    this.#hooks.onSuspend(this.bytes);
  }

  async discard(): Promise<void> {
    await this.writer.settle();
    this.close();
    await unlink(this.tempPath).catch(() => undefined);
    await this.#journal.remove();
  }

  /** After publishing (which removed the data file's temp name): drop the journal too. */
  async release(): Promise<void> {
    await this.#journal.remove();
  }

  protected override onClose(): void {
    this.#hooks.onClose();
  }
}

/** A writer continuing at `offset` with the whole-file hash over the bytes before it. */
function writerAt(fd: number, header: PartialHeader, journal: ChunkJournal<PartialHeader>, offset: number, hash: Hasher): JournalledWriter<PartialHeader> {
  return new JournalledWriter({
    fd,
    size: header.size,
    offset,
    hash,
    journal: { chunkSize: header.chunkSize, file: journal },
    copy: false, // the connection hands over buffers it does not reuse
  });
}
