import { constants, fstatSync, ftruncateSync, openSync } from "node:fs";
import { unlink } from "node:fs/promises";
import path from "node:path";
import { ChunkJournal, closeFd, digestPrefix, fsyncFd, hashFileStartSync, JournalledWriter, PARTIAL_PREFIX, type PrefixDigest } from "@ferry/node-io";
import { LIMITS, type DigestAlgorithm } from "@ferry/protocol";
import { ClientError } from "./errors.js";

/** Downloads are journalled in chunks of 8 MiB, or larger for files over 4 GiB (at most 512 chunks). */
export const DOWNLOAD_CHUNK = 8 * 1024 * 1024;
const MiB = 1024 * 1024;

interface Header {
  name: string;
  chunkSize: number;
}

/**
 * A download being written: `.ferry-part-<key>` beside its destination and its chunk journal
 * (node-io's ChunkJournal and JournalledWriter). On the next attempt the journalled chunks are
 * re-read and their SHA-256s offered to the server, which sends only what differs. Bytes are
 * hashed once while receiving; chunk digests are computed only then, from the disk.
 */
export class LocalPartial {
  readonly path: string;
  readonly #journal: ChunkJournal<Header>;
  readonly #header: Header;
  /** The data file, opened once; metadata calls on it are synchronous, data calls are not. */
  readonly #fd: number;
  /** The connection's digest: chunk digests offered and the whole-file hash are in it. */
  readonly #algorithm: DigestAlgorithm;
  /** The verified prefix read at open (its whole-file hash states), until startAt. */
  #prefix: PrefixDigest | undefined;
  #digests: string[] = [];
  #writer: JournalledWriter<Header> | undefined;
  #closed = false;
  /** A journal file may exist (read at open, or written by startAt) and must go with the partial. */
  #journalOnDisk = false;

  private constructor(file: string, header: Header, fd: number, algorithm: DigestAlgorithm) {
    this.path = file;
    this.#algorithm = algorithm;
    this.#journal = new ChunkJournal(file);
    this.#header = header;
    this.#fd = fd;
  }

  /** Opens (or creates) the partial for `key` in `dir` and verifies what it holds. */
  static async open(dir: string, key: string, name: string, fresh: boolean, algorithm: DigestAlgorithm = "sha256"): Promise<LocalPartial> {
    const file = path.join(dir, `${PARTIAL_PREFIX}${key}`);
    const header: Header = { name, chunkSize: DOWNLOAD_CHUNK };
    // Synchronous metadata calls from here to the first byte: a folder download opens one partial
    // per file (docs/performance.md, "Synchronous metadata calls").
    const found = fresh ? null : new ChunkJournal<Header>(file).read();
    let durableChunks = 0;
    // A huge file was journalled in larger chunks (see startAt): resume in those.
    const old = found?.header;
    if (old?.name === name && Number.isInteger(old.chunkSize) && old.chunkSize >= DOWNLOAD_CHUNK && old.chunkSize <= LIMITS.MAX_RESUME_CHUNK) {
      header.chunkSize = old.chunkSize;
      durableChunks = found!.chunks;
    }
    let fd: number;
    try {
      fd = openSync(file, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o644);
    } catch (cause) {
      throw new ClientError(`cannot write in ${dir}: ${(cause as Error).message}`, { code: "LOCAL_FILE_ERROR", cause });
    }
    const partial = new LocalPartial(file, header, fd, algorithm);
    partial.#journalOnDisk = found !== null;
    if (durableChunks === 0) return partial;
    try {
      const prefix = await digestPrefix(fd, {
        chunkSize: header.chunkSize,
        end: fstatSync(fd).size,
        maxChunks: Math.min(durableChunks, LIMITS.MAX_RESUME_CHUNKS),
        algorithm,
      });
      partial.#digests = prefix.digests;
      partial.#prefix = prefix;
    } catch (cause) {
      partial.#close(); // a plain descriptor is not closed for us, unlike a FileHandle
      throw new ClientError(`cannot read the partial download: ${(cause as Error).message}`, { code: "LOCAL_FILE_ERROR", cause });
    }
    return partial;
  }

  /** Digests of the verified leading chunks (what GET.resume offers). */
  get chunks(): string[] {
    return [...this.#digests];
  }

  get chunkSize(): number {
    return this.#header.chunkSize;
  }

  /**
   * Continues at the server's `offset` (a chunk boundary we offered, or 0). Synchronous for the
   * caller: the truncate and journal rewrite run first, and every write waits for them.
   */
  startAt(offset: number, size: number): void {
    const chunks = offset === size && offset > 0 ? this.#digests.length : offset / this.#header.chunkSize;
    if (!Number.isInteger(chunks) || chunks > this.#digests.length) {
      throw new ClientError(`server resumed at ${offset}, which was not offered`, { code: "PROTOCOL_ERROR" });
    }
    // Starting afresh, a file too large for 512 chunks of 8 MiB gets larger chunks, so that a GET
    // offer (at most 512 digests) can still resume it anywhere, not only in its first 4 GiB.
    if (chunks === 0) {
      const wanted = Math.ceil(size / LIMITS.MAX_RESUME_CHUNKS / MiB) * MiB;
      this.#header.chunkSize = Math.min(LIMITS.MAX_RESUME_CHUNK, Math.max(DOWNLOAD_CHUNK, wanted));
    }
    this.#digests = this.#digests.slice(0, chunks);
    // A file of one chunk or less has nothing to resume from before its end, so it gets no
    // journal: a folder of 4 KiB files paid four extra file-system round trips per file for one.
    const keepsJournal = size > this.#header.chunkSize;
    if (keepsJournal) this.#journalOnDisk = true;
    const header = { ...this.#header };
    this.#writer = new JournalledWriter({
      fd: this.#fd,
      size,
      offset,
      hash: this.#hashAfter(chunks),
      journal: keepsJournal ? { chunkSize: header.chunkSize, file: this.#journal } : null,
      copy: true, // the socket reuses its read buffer
      ready: (async () => {
        ftruncateSync(this.#fd, offset);
        if (keepsJournal) await this.#journal.rewrite(header, chunks);
      })(),
    });
    this.#prefix = undefined;
  }

  /**
   * The whole-file hash over the first `chunks` chunks. At hand from the prefix read at open, except
   * for BLAKE3 when the server resumed short of everything offered (its file changed): that prefix
   * is read again here, synchronously, since bytes may follow GET_BEGIN at once.
   */
  #hashAfter(chunks: number) {
    const ready = this.#prefix?.hasherAtNow(chunks);
    if (ready) return ready;
    try {
      return hashFileStartSync(this.#fd, Math.min(chunks * this.#header.chunkSize, this.#prefix?.bytes ?? 0), this.#algorithm);
    } catch (cause) {
      throw new ClientError(`cannot read the partial download: ${(cause as Error).message}`, { code: "LOCAL_FILE_ERROR", cause });
    }
  }

  get bytes(): number {
    return this.#writer?.bytes ?? 0;
  }

  /**
   * Queues bytes at the end; false means wait for drained() (the caller pauses the socket). The
   * bytes are copied before this returns, so `chunk` may be the socket's reused read buffer.
   */
  write(chunk: Buffer): boolean {
    return this.#started().write(chunk);
  }

  drained(): Promise<void> {
    return this.#started().drained();
  }

  digest(): string {
    return this.#started().digest();
  }

  /** Any write or journal error so far (the download fails with LOCAL_FILE_ERROR). */
  get error(): Error | undefined {
    return this.#writer?.error;
  }

  /** Flushes and fsyncs; the file is then ready to be linked to its name. */
  async finish(fsync: boolean): Promise<void> {
    await this.#writer?.settle();
    const error = this.#writer?.error;
    if (error) throw new ClientError(`cannot write: ${error.message}`, { code: "LOCAL_FILE_ERROR", cause: error });
    if (fsync) await fsyncFd(this.#fd);
    this.#close();
  }

  /** Keeps the partial for the next attempt (a file without a journal has nothing to resume from: removed). */
  async suspend(): Promise<void> {
    if (!this.#journalOnDisk) return this.remove();
    await this.#writer?.settle();
    this.#close();
  }

  /** After publishing (the data file has its real name): removes the journal, if one was written. */
  async release(): Promise<void> {
    if (this.#journalOnDisk) await this.#journal.remove();
  }

  /** Removes the partial and its journal (when the bytes cannot be trusted, or after a failure). */
  async remove(): Promise<void> {
    await this.#writer?.settle();
    this.#close();
    await unlink(this.path).catch(() => undefined);
    await this.release();
  }

  #started(): JournalledWriter<Header> {
    if (!this.#writer) throw new ClientError("the download has not begun", { code: "BAD_STATE" });
    return this.#writer;
  }

  /** Closes the descriptor once; every write, read and sync on it has been awaited by then. */
  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeFd(this.#fd);
  }
}
