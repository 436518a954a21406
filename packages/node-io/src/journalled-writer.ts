import type { ChunkJournal, JournalHeader } from "./chunk-journal.js";
import type { Hasher } from "./digest.js";
import { fdatasyncFd, writeAllAt } from "./positioned-io.js";

// Bytes queued for the disk before write() asks the caller to wait (the caller pauses its socket).
const QUEUE_LIMIT = 4 * 1024 * 1024;
// While a write is in flight, pieces are gathered into the next positioned write, up to about this
// size: one write per 64 KiB socket read, one after another, halved upload throughput, and holding
// every upload's bytes until 1 MiB had gathered raised the server's peak RSS with 200 uploads at
// once (docs/performance.md, "Resumable uploads").
const BATCH_BYTES = 1024 * 1024;
// Without copying, pieces this large are written from the caller's buffer; smaller ones are copied
// into staging buffers of STAGING_BYTES, so a batch never has more than ~1,000 iovecs.
const REFERENCE_MIN_BYTES = 1024;
const STAGING_BYTES = 16 * 1024;

export interface JournalledWriterOptions<H extends JournalHeader> {
  /** The data file, open for writing; the writer never closes it. */
  fd: number;
  /** Total bytes the file will have: the last chunk ends there. */
  size: number;
  /** Bytes (whole chunks) already in the file and journalled; writing continues there. */
  offset: number;
  /** The whole-file hash (the transfer's digest) over the first `offset` bytes; every byte written is added to it. */
  hash: Hasher;
  /** Chunk size and journal; null keeps no journal (a file of one chunk has nothing to resume from). */
  journal: { chunkSize: number; file: ChunkJournal<H> } | null;
  /**
   * True when the caller reuses the buffers it passes to write() (a socket's read buffer): bytes
   * are then copied into owned batch buffers. False writes pieces of 1 KiB and more straight from
   * the caller's buffers (writev) and copies only smaller ones.
   */
  copy: boolean;
  /** Writes start only once this settles (the caller's truncate and journal rewrite). */
  ready?: Promise<void>;
}

/**
 * Writes a transfer's bytes to its partial file in order: hashed as they pass, gathered into ~1 MiB
 * positioned writes that may be in flight together, and, chunk by chunk, made durable (fdatasync)
 * before the chunk's journal line is appended. Shared by the server's resumable uploads and the
 * client's partial downloads. Write errors are kept in `error` for the caller to report in its
 * own terms.
 */
export class JournalledWriter<H extends JournalHeader> {
  readonly #fd: number;
  readonly #size: number;
  readonly #chunkSize: number;
  readonly #journal: ChunkJournal<H> | null;
  readonly #copy: boolean;
  readonly #ready: Promise<void>;
  readonly #hash: Hasher;
  #bytes: number;
  #chunkFill = 0;
  #chunks: number;
  #queued = 0;
  /** The batch being filled, one positioned writev at #batchStart: caller's buffers and staging pieces. */
  #batch: Buffer[] = [];
  /** Staging buffers in #batch, reusable once its write is done. */
  #batchOwned: Buffer[] = [];
  #batchBytes = 0;
  #batchStart = 0;
  /** The owned buffer bytes are being copied into, and how far it is filled. */
  #staging: Buffer | undefined;
  #stagingFill = 0;
  readonly #stagingBytes: number;
  /** Staging buffers whose write finished, ready for reuse: no allocation per received chunk. */
  readonly #spare: Buffer[] = [];
  readonly #inflight = new Set<Promise<void>>();
  /** Chain of "sync, then journal this chunk" steps, each after the writes it covers. */
  #tail: Promise<void> = Promise.resolve();
  #error: Error | undefined;
  #digest: string | undefined;

  constructor(options: JournalledWriterOptions<H>) {
    this.#fd = options.fd;
    this.#size = options.size;
    this.#chunkSize = options.journal?.chunkSize ?? Math.max(1, options.size);
    this.#journal = options.journal?.file ?? null;
    this.#copy = options.copy;
    this.#stagingBytes = options.copy ? BATCH_BYTES : STAGING_BYTES;
    this.#hash = options.hash;
    this.#bytes = options.offset;
    this.#chunks = Math.floor(options.offset / this.#chunkSize);
    this.#ready = (options.ready ?? Promise.resolve()).catch((error: unknown) => {
      this.#error ??= error as Error;
    });
  }

  /** Bytes accepted so far (the offset included). */
  get bytes(): number {
    return this.#bytes;
  }

  /** The first write, sync or journal error, if any. */
  get error(): Error | undefined {
    return this.#error;
  }

  /** Queues bytes at the end; false means wait for drained() before writing more. */
  write(chunk: Buffer): boolean {
    let at = 0;
    while (at < chunk.length) {
      if (this.#batchBytes === 0) this.#batchStart = this.#bytes;
      let take = Math.min(chunk.length - at, this.#chunkSize - this.#chunkFill);
      if (!this.#copy && take >= REFERENCE_MIN_BYTES) {
        this.#sealStaging();
        this.#batch.push(chunk.subarray(at, at + take));
      } else {
        // Copied: the caller reuses its buffer, or the piece is too small to be worth an iovec (a
        // peer sending 1-byte DATA frames would otherwise queue a million of them).
        const staging = (this.#staging ??= this.#spare.pop() ?? Buffer.allocUnsafeSlow(Math.min(this.#stagingBytes, this.#size - this.#bytes)));
        take = Math.min(take, staging.length - this.#stagingFill);
        chunk.copy(staging, this.#stagingFill, at, at + take);
        this.#stagingFill += take;
        if (this.#stagingFill === staging.length) this.#sealStaging();
      }
      this.#hash.update(chunk.subarray(at, at + take));
      at += take;
      this.#chunkFill += take;
      this.#batchBytes += take;
      this.#bytes += take;
      this.#queued += take;
      const chunkDone = this.#chunkFill === this.#chunkSize || this.#bytes === this.#size;
      // Written at once while the disk is idle; gathered while a write is in flight (see BATCH_BYTES).
      if (chunkDone || this.#batchBytes >= BATCH_BYTES || this.#inflight.size === 0) this.#flushBatch();
      if (chunkDone) this.#closeChunk();
    }
    return this.#queued < QUEUE_LIMIT;
  }

  /** Resolves once the queue is below its limit, or a write failed (see `error`). */
  async drained(): Promise<void> {
    while (this.#queued >= QUEUE_LIMIT && !this.#error && this.#inflight.size > 0) await Promise.race(this.#inflight);
  }

  /** SHA-256 (hex) of the whole file; call after the last write. */
  digest(): string {
    this.#digest ??= this.#hash.digest("hex");
    return this.#digest;
  }

  /** Every queued byte written and every journal step done (errors land in `error`). */
  async settle(): Promise<void> {
    await this.#ready;
    this.#flushBatch();
    await Promise.all(this.#inflight);
    await this.#tail;
  }

  /** Ends the staging buffer being filled: its bytes so far join the batch as one piece. */
  #sealStaging(): void {
    const staging = this.#staging;
    if (!staging) return;
    this.#batch.push(staging.subarray(0, this.#stagingFill));
    this.#batchOwned.push(staging);
    this.#staging = undefined;
    this.#stagingFill = 0;
  }

  #flushBatch(): void {
    this.#sealStaging();
    if (this.#batchBytes === 0) return;
    const total = this.#batchBytes;
    const position = this.#batchStart;
    const pieces = this.#batch;
    const owned = this.#batchOwned;
    this.#batch = [];
    this.#batchOwned = [];
    this.#batchBytes = 0;
    const write = (async () => {
      try {
        await this.#ready;
        if (!this.#error) await writeAllAt(this.#fd, pieces, position);
      } catch (error) {
        this.#error ??= error as Error;
      } finally {
        this.#queued -= total;
        for (const buffer of owned) if (buffer.length === this.#stagingBytes) this.#spare.push(buffer);
      }
    })();
    this.#inflight.add(write);
    void write.finally(() => {
      this.#inflight.delete(write);
      // What gathered meanwhile goes next, so bytes wait in memory only while the disk is busy.
      if (this.#inflight.size === 0 && (this.#batchBytes > 0 || this.#staging)) this.#flushBatch();
    });
  }

  #closeChunk(): void {
    this.#chunkFill = 0;
    const chunk = ++this.#chunks;
    const journal = this.#journal;
    if (!journal) return; // the owner's final fsync makes the one chunk durable
    // Durable first, recorded second: a journal line never describes bytes a crash could lose.
    const covered = [...this.#inflight];
    this.#tail = this.#tail.then(async () => {
      await Promise.all(covered);
      if (this.#error) return;
      try {
        await fdatasyncFd(this.#fd);
        await journal.append(chunk);
      } catch (error) {
        this.#error ??= error as Error;
      }
    });
  }
}
