import { createHash, randomUUID, type Hash } from "node:crypto";
import { createSHA256, type IHasher } from "hash-wasm";
import { ServerError, type ResumableUpload } from "@ferry/server-core";
import type { BlobStore, PartRecord } from "./blob-store.js";
import type { ByteBudget } from "./byte-budget.js";
import type { Catalog, Session } from "./catalog.js";

/** What every upload of one cluster storage shares. */
export interface UploadContext {
  blobs: BlobStore;
  catalog: Catalog;
  budget: ByteBudget;
  /** Bytes per multipart part (S3: ≥ 5 MiB but the last). */
  partSize: number;
}

/** A new object key: random, so a name's bytes are never overwritten in place (docs/scale-out.md). */
export function newObjectKey(): string {
  return `objects/${randomUUID()}`;
}

/** S3 allows this many parts per object. */
const MAX_PARTS = 1_000;

/**
 * An upload on its way into the object store, hashed (SHA-256) as bytes arrive. Up to one part is
 * buffered in memory (taken from the server's ByteBudget) while the previous one is sent; a file
 * that fits one part is one PutObject, a larger one a multipart upload with Content-MD5 on every
 * part. Nothing is visible under any name until the catalog publishes the finished object.
 *
 * Resumable uploads (a Session in the catalog) always go by parts: after each part is stored the
 * session records the offset, the part's ETag, the chunk digests and the SHA-256 state (hash-wasm
 * save()), so any server can continue it without reading a byte back (docs/scale-out.md, "Resume
 * across servers").
 */
export class ObjectUpload implements ResumableUpload {
  readonly key: string;
  readonly #ctx: UploadContext;
  readonly #size: number | null;
  readonly #partSize: number;
  /** Present for resumable uploads. */
  #session: Session | undefined;
  readonly #offered: { offset: number; chunks: string[] };
  #hash: Hash | undefined;
  #wasm: IHasher | undefined;
  #bytes = 0;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** Budget held for the part being filled. */
  #held = 0;
  #uploadId: string | undefined;
  #parts: PartRecord[] = [];
  #committed = 0;
  #inflight: Promise<void> | undefined;
  #error: Error | undefined;
  #digest: string | undefined;
  #completed = false;
  #closed = false;
  /** Resumable: digests of the whole chunks received, and the one being hashed. */
  #chunks: string[] = [];
  #chunkHash: Hash | undefined;
  #chunkBytes = 0;
  /** Parts cut so far (0: the file may still go as one PutObject). */
  #cuts = 0;
  /** The number the next part cut gets (1…). */
  #nextPart = 1;
  #queuedParts = 0;
  #queuedBytes = 0;
  /** Resolves when the part last cut is done (stored or failed). */
  #partDone: Promise<void> | undefined;
  /** Set while the part being filled waits for budget. */
  #waitingForBudget: Promise<void> | undefined;

  private constructor(ctx: UploadContext, key: string, size: number | null, session: Session | undefined, wasm: IHasher | undefined) {
    this.#ctx = ctx;
    this.key = key;
    this.#size = size;
    this.#session = session;
    this.#wasm = wasm;
    if (!wasm) this.#hash = createHash("sha256");
    this.#partSize = session ? partSizeFor(session.size, session.chunkSize, ctx.partSize) : ctx.partSize;
    this.#offered = { offset: session?.offset ?? 0, chunks: [...(session?.chunks ?? [])] };
    if (session) this.#restore(session);
  }

  /** A new upload of `size` bytes (null: unknown). */
  static create(ctx: UploadContext, size: number | null): ObjectUpload {
    const upload = new ObjectUpload(ctx, newObjectKey(), size, undefined, undefined);
    // A file that fits one part holds its size from the start; larger ones take a part at a time.
    if (size !== null && size <= ctx.partSize) upload.#hold(size);
    else upload.#holdNextPart();
    return upload;
  }

  /** A resumable upload continuing `session` (offset 0 for a new one). */
  static async resume(ctx: UploadContext, session: Session): Promise<ObjectUpload> {
    const wasm = await createSHA256();
    if (session.offset > 0) wasm.load(session.hashState);
    else wasm.init();
    const upload = new ObjectUpload(ctx, session.object, session.size, session, wasm);
    upload.#holdNextPart();
    return upload;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get error(): Error | undefined {
    return this.#error;
  }

  get chunks(): string[] {
    return [...this.#offered.chunks];
  }

  async startAt(offset: number): Promise<void> {
    const session = this.#session;
    if (!session) throw new ServerError("not a resumable upload", { code: "BAD_STATE" });
    if (offset !== 0 && offset !== this.#offered.offset) {
      throw new ServerError(`resume offset ${offset} is neither 0 nor the offered ${this.#offered.offset}`, { code: "UNEXPECTED_MESSAGE" });
    }
    if (offset === this.#offered.offset) return;
    // Starting over: the stored parts go, the session restarts at 0.
    await this.#ctx.blobs.abort(session.object, session.uploadId).catch(() => undefined);
    const uploadId = await this.#ctx.blobs.begin(session.object);
    this.#session = { ...session, uploadId, offset: 0, parts: [], chunks: [], hashState: new Uint8Array() };
    this.#wasm!.init();
    this.#restore(this.#session);
    await this.#ctx.catalog.saveSession(this.#session);
  }

  write(chunk: Buffer): boolean {
    if (this.#error || chunk.length === 0) return true;
    this.#bytes += chunk.length;
    for (let at = 0; at < chunk.length; ) {
      const take = Math.min(chunk.length - at, this.#partSize - this.#pendingBytes);
      const piece = chunk.subarray(at, at + take);
      at += take;
      this.#hashPiece(piece);
      this.#pending.push(piece);
      this.#pendingBytes += take;
      if (this.#pendingBytes === this.#partSize) this.#cutPart(false);
    }
    return this.#canTakeMore();
  }

  /**
   * One part may be sent while the next fills; past that, or while the part being filled has no
   * budget yet, the connection waits in drained().
   */
  #canTakeMore(): boolean {
    return this.#error !== undefined || (this.#queuedParts < 2 && this.#waitingForBudget === undefined);
  }

  async drained(): Promise<void> {
    while (!this.#canTakeMore()) await Promise.race([this.#waitingForBudget, this.#partDone].filter((p) => p !== undefined));
    if (this.#error) throw storageError(this.#error);
  }

  digest(): string {
    this.#digest ??= this.#wasm ? this.#wasm.digest("hex") : this.#hash!.digest("hex");
    return this.#digest;
  }

  async finish(): Promise<string> {
    const digest = this.digest();
    try {
      if (this.#cuts === 0 && this.#session === undefined) {
        // One part in all: one PutObject.
        await this.#ctx.blobs.put(this.key, Buffer.concat(this.#pending, this.#pendingBytes));
      } else {
        // S3 needs at least one part: an empty resumable file is one empty part.
        if (this.#pendingBytes > 0 || (this.#parts.length === 0 && this.#queuedParts === 0)) this.#cutPart(true);
        await this.#inflight;
        if (this.#error) throw this.#error;
        await this.#ctx.blobs.complete(this.key, this.#uploadId!, this.#parts);
      }
      this.#completed = true;
    } catch (cause) {
      throw storageError(cause as Error);
    } finally {
      this.#dropPending();
    }
    return digest;
  }

  async discard(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#settle();
    this.#dropPending();
    if (this.#completed) await this.#ctx.blobs.delete(this.key).catch(() => undefined);
    else if (this.#uploadId !== undefined) await this.#ctx.blobs.abort(this.key, this.#uploadId).catch(() => undefined);
    if (this.#session) {
      await this.#ctx.catalog.deleteSession(this.#session.key).catch(() => undefined);
      await this.#ctx.catalog.unclaim(this.#session.key).catch(() => undefined);
    }
  }

  /** Resumable: the parts stored so far stay (the session says where); what was buffered is lost. */
  async suspend(): Promise<void> {
    if (!this.#session) return this.discard();
    if (this.#closed) return;
    this.#closed = true;
    await this.#settle();
    this.#dropPending();
    await this.#ctx.catalog.unclaim(this.#session.key).catch(() => undefined);
  }

  /** Published: a resumable upload's session ends. */
  async release(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#session) return;
    await this.#ctx.catalog.deleteSession(this.#session.key).catch(() => undefined);
    await this.#ctx.catalog.unclaim(this.#session.key).catch(() => undefined);
  }

  /** Waits for the part in flight, ignoring its failure (the caller is dropping or keeping what is stored). */
  async #settle(): Promise<void> {
    await this.#inflight?.catch(() => undefined);
  }

  #restore(session: Session): void {
    this.#cuts = session.parts.length;
    this.#nextPart = Math.max(0, ...session.parts.map((part) => part.number)) + 1;
    this.#uploadId = session.uploadId;
    this.#parts = [...session.parts];
    this.#committed = session.offset;
    this.#bytes = session.offset;
    this.#chunks = [...session.chunks];
    this.#chunkHash = undefined;
    this.#chunkBytes = 0;
  }

  #hashPiece(piece: Buffer): void {
    if (!this.#wasm) {
      this.#hash!.update(piece);
      return;
    }
    this.#wasm.update(piece);
    // Resumable: each chunk's own digest too, for the PUT_OFFER of a later resume.
    const chunkSize = this.#session!.chunkSize;
    for (let at = 0; at < piece.length; ) {
      this.#chunkHash ??= createHash("sha256");
      const take = Math.min(piece.length - at, chunkSize - this.#chunkBytes);
      this.#chunkHash.update(piece.subarray(at, at + take));
      this.#chunkBytes += take;
      at += take;
      if (this.#chunkBytes === chunkSize) {
        this.#chunks.push(this.#chunkHash.digest("hex"));
        this.#chunkHash = undefined;
        this.#chunkBytes = 0;
      }
    }
  }

  /** Sends the buffered bytes as the next part (after the one in flight). `last`: the upload's final part. */
  #cutPart(last: boolean): void {
    const body = Buffer.concat(this.#pending, this.#pendingBytes);
    const held = this.#held;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#held = 0;
    this.#cuts++;
    const end = this.#committed + this.#queuedBytes + body.length;
    // The session's state at this part's end: taken now, before later bytes are hashed.
    const snapshot = this.#session && !last ? { hashState: this.#wasm!.save(), chunks: this.#chunks.slice(0, end / this.#session.chunkSize) } : undefined;
    // Numbered when cut, from a counter: counting stored and queued parts instead gave the same
    // number twice when a part was cut while the previous one was still being recorded in the
    // session (S3 then refused the list: InvalidPartOrder).
    const number = this.#nextPart++;
    this.#queuedParts++;
    this.#queuedBytes += body.length;
    let done!: () => void;
    this.#partDone = new Promise((resolve) => (done = resolve));
    this.#inflight = (this.#inflight ?? Promise.resolve())
      .then(async () => {
        if (this.#error) return;
        if (number > MAX_PARTS) throw new ServerError(`more than ${MAX_PARTS} parts`, { code: "FILE_TOO_LARGE" });
        this.#uploadId ??= await this.#ctx.blobs.begin(this.key);
        const etag = await this.#ctx.blobs.putPart(this.key, this.#uploadId, number, body);
        this.#parts.push({ number, etag });
        this.#committed += body.length;
        if (this.#session && snapshot) {
          this.#session = { ...this.#session, offset: this.#committed, parts: [...this.#parts], ...snapshot };
          await this.#ctx.catalog.saveSession(this.#session);
        }
      })
      .catch((error: unknown) => {
        this.#error ??= error as Error;
      })
      .finally(() => {
        this.#queuedParts--;
        this.#queuedBytes -= body.length;
        this.#ctx.budget.give(held);
        done();
      });
    if (!last) this.#holdNextPart();
  }

  /** Takes budget for a file that is one part, at once (small files: bounded by the protocol's batch limits). */
  #hold(bytes: number): void {
    this.#ctx.budget.takeNow(bytes);
    this.#held = bytes;
  }

  /** Takes budget for the next part: now if it fits, else write() answers false until it is granted. */
  #holdNextPart(): void {
    const left = this.#size === null ? this.#partSize : this.#size - this.#committed - this.#queuedBytes;
    const wanted = Math.min(this.#partSize, Math.max(0, left));
    if (wanted === 0) return;
    if (this.#ctx.budget.tryTake(wanted)) {
      this.#held = wanted;
      return;
    }
    this.#waitingForBudget = this.#ctx.budget.take(wanted).then(() => {
      this.#waitingForBudget = undefined;
      if (this.#closed) this.#ctx.budget.give(wanted);
      else this.#held = wanted;
    });
  }

  #dropPending(): void {
    this.#pending = [];
    this.#pendingBytes = 0;
    if (this.#held > 0) this.#ctx.budget.give(this.#held);
    this.#held = 0;
  }
}

/** Parts are whole chunks, so a resume offset (a part boundary) is a chunk boundary; big files get bigger parts (≤ 1,000). */
export function partSizeFor(size: number, chunkSize: number, base: number): number {
  const wanted = Math.max(base, Math.ceil(size / MAX_PARTS));
  return Math.ceil(wanted / chunkSize) * chunkSize;
}

function storageError(cause: Error): ServerError {
  if (cause instanceof ServerError) return cause;
  return new ServerError(`cannot store the file: ${cause.message}`, { code: "STORAGE_ERROR", cause });
}
