import { createHash, type Hash } from "node:crypto";
import { closeSync, constants, existsSync, fdatasync, fsync, ftruncateSync, openSync, readFileSync, write } from "node:fs";
import { unlink, writeFile } from "node:fs/promises";
import { promisify } from "node:util";
import path from "node:path";
import { LIMITS } from "@ferry/protocol";
import { ClientError } from "./errors.js";
import { readAt } from "./file-chunks.js";

const fsyncAsync = promisify(fsync);
const fdatasyncAsync = promisify(fdatasync);
const writeAsync = promisify(write);
/** Writes `bytes` at `position`; resolves with how many were written (may be fewer). */
function writeAt(fd: number, bytes: Buffer, position: number): Promise<number> {
  return writeAsync(fd, bytes, 0, bytes.length, position).then((r) => r.bytesWritten);
}

/** Prefix of a download in progress next to its destination; its journal adds ".journal". */
export const LOCAL_PART_PREFIX = ".ferry-part-";
/** Downloads are journalled in chunks of 8 MiB, or larger for files over 4 GiB (at most 512 chunks). */
export const DOWNLOAD_CHUNK = 8 * 1024 * 1024;
const MiB = 1024 * 1024;
const QUEUE_LIMIT = 4 * MiB;
const BATCH_BYTES = MiB;

interface Header {
  name: string;
  chunkSize: number;
}

/**
 * A download being written: `.ferry-part-<key>` beside its destination and a journal with one line
 * per chunk, appended after the chunk was fsynced. On the next attempt the journalled chunks are
 * re-read and their SHA-256s offered to the server, which sends only what differs. Bytes are hashed
 * once while receiving; chunk digests are computed only then, from the disk (hashing each chunk
 * while receiving too doubled the client's hashing, as on the server).
 */
export class LocalPartial {
  readonly path: string;
  readonly #journalPath: string;
  readonly #header: Header;
  /** The data file, opened once; metadata calls on it are synchronous, data calls are not. */
  readonly #fd: number;
  /** Whole-file hash after each verified chunk: states[k] covers the first k chunks. */
  #states: Hash[] = [createHash("sha256")];
  #digests: string[] = [];
  #hash: Hash = createHash("sha256");
  #chunkFill = 0;
  /** Chunks recorded in the journal. */
  #journalled = 0;
  #bytes = 0;
  #queued = 0;
  /** The batch being filled: received bytes are copied in (the socket reuses its read buffer). */
  #batch: Buffer | undefined;
  #batchBytes = 0;
  #batchStart = 0;
  /** Batch buffers whose write finished, ready for reuse: no allocation per received chunk. */
  readonly #spare: Buffer[] = [];
  readonly #inflight = new Set<Promise<void>>();
  /** Resolves once startAt's truncate is done; no write may start before it. */
  #ready: Promise<void> = Promise.resolve();
  #tail: Promise<void> = Promise.resolve();
  #error: Error | undefined;
  #closed = false;
  /**
   * A file of one chunk or less has nothing to resume from before its end, so it gets no journal:
   * no journal write, no per-chunk datasync, no journal to delete. A folder of 4 KiB files paid
   * four extra file-system round trips per file for one.
   */
  #keepsJournal = true;
  /** A journal file may exist (read at open, or written by startAt) and must go with the partial. */
  #journalOnDisk = false;

  private constructor(file: string, header: Header, fd: number) {
    this.path = file;
    this.#journalPath = `${file}.journal`;
    this.#header = header;
    this.#fd = fd;
  }

  /** Opens (or creates) the partial for `key` in `dir` and verifies what it holds. */
  static async open(dir: string, key: string, name: string, fresh: boolean): Promise<LocalPartial> {
    const file = path.join(dir, `${LOCAL_PART_PREFIX}${key}`);
    const header: Header = { name, chunkSize: DOWNLOAD_CHUNK };
    let durableChunks = 0;
    let journalFound = false;
    // Synchronous metadata calls from here to the first byte (a folder download opens one partial
    // per file; each FileHandle call cost the main thread ~40–50 µs, ~5 of them per file). The
    // existence test first: a missing journal, the usual case, would otherwise build an exception.
    if (!fresh && existsSync(`${file}.journal`)) {
      try {
        // Only whole lines count: a torn last append is not a durable chunk.
        const [first, ...rest] = readFileSync(`${file}.journal`, "utf8").split("\n").slice(0, -1);
        journalFound = true;
        const old = JSON.parse(first ?? "null") as Header | null;
        // A huge file was journalled in larger chunks (see startAt): resume in those.
        if (old?.name === name && Number.isInteger(old.chunkSize) && old.chunkSize >= DOWNLOAD_CHUNK && old.chunkSize <= LIMITS.MAX_RESUME_CHUNK) {
          header.chunkSize = old.chunkSize;
          durableChunks = rest.length;
        }
      } catch {
        // no journal (or a torn one): nothing to resume
      }
    }
    let fd: number;
    try {
      fd = openSync(file, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o644);
    } catch (cause) {
      throw new ClientError(`cannot write in ${dir}: ${(cause as Error).message}`, { code: "LOCAL_FILE_ERROR", cause });
    }
    const partial = new LocalPartial(file, header, fd);
    partial.#journalOnDisk = journalFound;
    try {
      await partial.#readPrefix(Math.min(durableChunks, LIMITS.MAX_RESUME_CHUNKS));
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
    this.#hash = this.#states[chunks]!.copy();
    this.#bytes = offset;
    this.#states = [];
    this.#journalled = chunks;
    this.#keepsJournal = size > this.#header.chunkSize;
    if (this.#keepsJournal) this.#journalOnDisk = true;
    const lines = [JSON.stringify(this.#header), ...this.#digests.map((_, chunk) => JSON.stringify({ chunk: chunk + 1 }))];
    this.#ready = (async () => {
      ftruncateSync(this.#fd, offset);
      if (this.#keepsJournal) await writeFile(this.#journalPath, `${lines.join("\n")}\n`);
    })().catch((error: unknown) => {
      this.#error ??= error as Error;
    });
  }

  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Queues bytes at the end; false means wait for drained() (the caller pauses the socket). The
   * bytes are copied before this returns, so `chunk` may be the socket's reused read buffer.
   */
  write(chunk: Buffer, size: number): boolean {
    let at = 0;
    while (at < chunk.length) {
      if (this.#batchBytes === 0) this.#batchStart = this.#bytes;
      // The last batch of a file gets a buffer of the size it needs: a folder of 4 KiB files
      // allocated 1 MiB per file, and the garbage collector spent 15 of 47 s on 10,000 of them.
      const batch = (this.#batch ??= this.#spare.pop() ?? Buffer.allocUnsafeSlow(Math.min(BATCH_BYTES, size - this.#bytes)));
      const take = Math.min(chunk.length - at, this.#header.chunkSize - this.#chunkFill, batch.length - this.#batchBytes);
      const piece = chunk.subarray(at, at + take);
      at += take;
      this.#hash.update(piece);
      this.#chunkFill += take;
      piece.copy(batch, this.#batchBytes);
      this.#batchBytes += take;
      this.#bytes += take;
      this.#queued += take;
      const chunkDone = this.#chunkFill === this.#header.chunkSize || this.#bytes === size;
      if (chunkDone || this.#batchBytes >= batch.length) this.#flushBatch();
      if (chunkDone) this.#closeChunk();
    }
    return this.#queued < QUEUE_LIMIT;
  }

  async drained(): Promise<void> {
    while (this.#queued >= QUEUE_LIMIT && !this.#error && this.#inflight.size > 0) await Promise.race(this.#inflight);
  }

  digest(): string {
    return this.#hash.digest("hex");
  }

  /** Flushes and fsyncs; the file is then ready to be linked to its name. */
  async finish(fsync: boolean): Promise<void> {
    await this.#settle();
    if (this.#error) throw new ClientError(`cannot write: ${this.#error.message}`, { code: "LOCAL_FILE_ERROR", cause: this.#error });
    if (fsync) await fsyncAsync(this.#fd);
    this.#close();
  }

  /** Keeps the partial for the next attempt (a file without a journal has nothing to resume from: removed). */
  async suspend(): Promise<void> {
    if (!this.#keepsJournal) return this.remove();
    await this.#settle();
    this.#close();
  }

  /** After publishing (the data file has its real name): removes the journal, if one was written. */
  async release(): Promise<void> {
    if (this.#journalOnDisk) await unlink(this.#journalPath).catch(() => undefined);
  }

  /** Removes the partial and its journal (when the bytes cannot be trusted, or after a failure). */
  async remove(): Promise<void> {
    await this.#settle();
    this.#close();
    await unlink(this.path).catch(() => undefined);
    if (this.#journalOnDisk) await unlink(this.#journalPath).catch(() => undefined);
  }

  // ~1 MiB batches written at explicit positions, in flight together; a chunk's journal line waits
  // for the writes it covers + fsync. Batches are owned, reused buffers (see write()).
  #flushBatch(): void {
    if (this.#batchBytes === 0 || !this.#batch) return;
    const buffer = this.#batch;
    const total = this.#batchBytes;
    const position = this.#batchStart;
    this.#batch = undefined;
    this.#batchBytes = 0;
    const write = (async () => {
      try {
        await this.#ready;
        if (this.#error) return;
        // write may stop short (a signal, a full disk); go on from where it stopped.
        for (let at = 0; at < total; ) at += await writeAt(this.#fd, buffer.subarray(at, total), position + at);
      } catch (error) {
        this.#error ??= error as Error;
      } finally {
        this.#queued -= total;
        if (buffer.length === BATCH_BYTES) this.#spare.push(buffer);
      }
    })();
    this.#inflight.add(write);
    void write.finally(() => this.#inflight.delete(write));
  }

  #closeChunk(): void {
    this.#chunkFill = 0;
    const chunk = ++this.#journalled;
    if (!this.#keepsJournal) return; // finish() makes the one chunk durable
    const covered = [...this.#inflight];
    this.#tail = this.#tail.then(async () => {
      await Promise.all(covered);
      if (this.#error) return;
      try {
        await fdatasyncAsync(this.#fd);
        await writeFile(this.#journalPath, `${JSON.stringify({ chunk })}\n`, { flag: "a" });
      } catch (error) {
        this.#error ??= error as Error;
      }
    });
  }

  /** Any write or journal error so far (the download fails with LOCAL_FILE_ERROR). */
  get error(): Error | undefined {
    return this.#error;
  }

  async #settle(): Promise<void> {
    await this.#ready;
    this.#flushBatch();
    await Promise.all(this.#inflight);
    await this.#tail;
  }

  /** Reads the journalled chunks back: each one's digest (offered) and the whole-file hash states. */
  async #readPrefix(durableChunks: number): Promise<void> {
    if (durableChunks === 0) return;
    const buffer = Buffer.allocUnsafe(1024 * 1024);
    let offset = 0;
    for (let chunk = 0; chunk < durableChunks; chunk++) {
      const chunkHash = createHash("sha256");
      const whole = this.#states.at(-1)!.copy();
      let read = 0;
      while (read < this.#header.chunkSize) {
        const bytesRead = await readAt(this.#fd, buffer, Math.min(buffer.length, this.#header.chunkSize - read), offset + read);
        if (bytesRead === 0) break;
        chunkHash.update(buffer.subarray(0, bytesRead));
        whole.update(buffer.subarray(0, bytesRead));
        read += bytesRead;
      }
      // A short last chunk is fine (the file's tail); the server compares the digests.
      if (read === 0) break;
      this.#digests.push(chunkHash.digest("hex"));
      this.#states.push(whole);
      offset += read;
      if (read < this.#header.chunkSize) break;
    }
  }

  /** Closes the descriptor once; every write, read and sync on it has been awaited by then. */
  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      closeSync(this.#fd);
    } catch {
      // nothing left to lose: the bytes were synced (or are being thrown away)
    }
  }
}
