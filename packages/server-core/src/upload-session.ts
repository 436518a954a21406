import { createHash } from "node:crypto";
import {
  LIMITS,
  quoteName,
  folderMarker,
  type BatchResult,
  type BatchStoredMessage,
  type ErrorMessage,
  type PutBatchMessage,
  type PutMessage,
  type ResumeInfo,
  type ServerConfig,
  type StoredMessage,
  type WireErrorCode,
  DIGEST_NAMES,
  type DigestAlgorithm,
} from "@ferry/protocol";
import type { AnswerQueue } from "./answer-queue.js";
import type { Identity } from "./auth.js";
import { ServerError, type ServerErrorCode } from "./errors.js";
import type { PeerInfo, ServerEvents } from "./events.js";
import { describe, diskFailureCode, toWireCode, unexpected } from "./failures.js";
import type { IncomingFile } from "./incoming-file.js";
import { forbidden } from "./permissions.js";
import type { QuotaLedger, ResumableUpload, Storage } from "./storage.js";

/** Where one user's files live, and their quota (null: none). */
export interface Space {
  storage: Storage;
  quota: QuotaLedger | null;
}

/** What the uploads of one connection need from it. */
export interface UploadSessionContext {
  config: ServerConfig;
  peer: PeerInfo;
  identity: Identity;
  space: Space;
  /** The connection's transfer digest: every upload is hashed and recorded with it. */
  digest: DigestAlgorithm;
  /** Answers to PUTs, sent in PUT order (shared with the connection's other answers). */
  answers: AnswerQueue;
  emit<K extends keyof ServerEvents>(event: K, ...args: ServerEvents[K]): void;
  /** A bug surfaced in an upload (code INTERNAL): the connection reports it and hangs up. */
  onInternal(error: unknown): void;
}

interface Upload {
  put: PutMessage;
  file: IncomingFile;
  startedAt: number;
  /** Ends the upload's quota reservation: stored or not. Called once, whatever happens. */
  settle: (stored: boolean) => void;
}

/** The upload part of protocol.md §5's state machine; "none" is the connection's IDLE. */
type UploadState =
  | { kind: "none" }
  | { kind: "receiving"; upload: Upload }
  /** A resumable upload got its PUT_OFFER; PUT_FROM must come before any DATA. */
  | { kind: "offering"; upload: Upload & { file: ResumableUpload } }
  /** An upload failed before its PUT_END: drop its DATA until PUT_END or CANCEL with this id. */
  | { kind: "discarding"; id: number }
  /** A PUT_BATCH whose bytes are arriving: each DATA byte belongs to the file at `at`. */
  | { kind: "batch"; batch: Batch }
  /** The connection is over; nothing more is accepted. */
  | { kind: "closed" };

/**
 * One file of a PUT_BATCH: an accepted one is an upload without its own PUT_END; a refused one has
 * only its refusal, and its bytes are read and dropped.
 */
type BatchSlot = { put: PutMessage; received: number } & (
  | { upload: Upload; sha256: string; refused?: undefined }
  | { upload?: undefined; refused: ErrorMessage }
);

interface Batch {
  id: number;
  slots: BatchSlot[];
  /** The slot the next DATA byte belongs to. */
  at: number;
}

const NO_QUOTA: Upload["settle"] = () => undefined;

// Uploads whose fsync/publish may run behind the connection's reading (see end()).
const MAX_COMMITS_IN_FLIGHT = 32;

/**
 * The uploads of one Ferry connection, one at a time: PUT (or a resumable PUT's offer), DATA,
 * PUT_END, and the commit (fsync, publish) that runs behind the connection's reading while its
 * answer keeps its place in PUT order. Every PUT gets exactly one answer. Methods return a promise
 * when the connection's read loop must wait for them; a ServerError they throw is fatal.
 */
export class UploadSession {
  readonly #ctx: UploadSessionContext;
  #state: UploadState = { kind: "none" };
  /** PUTs seen on this connection (for maxFilesPerConnection). */
  #puts = 0;
  stored = 0;
  failed = 0;

  constructor(ctx: UploadSessionContext) {
    this.#ctx = ctx;
  }

  /** No upload is between its PUT and its PUT_END (answers may still be on their way). */
  get idle(): boolean {
    return this.#state.kind === "none";
  }

  /** Bytes are expected from the peer (judged by the minimum data rate). */
  get expectingData(): boolean {
    return this.#state.kind === "receiving" || this.#state.kind === "discarding" || this.#state.kind === "batch";
  }

  /** A PUT: refused at once (the upload's DATA is then dropped), offered a resume, or receiving. */
  async start(put: PutMessage): Promise<void> {
    if (this.#state.kind !== "none") throw unexpected(`PUT while ${this.#state.kind}`);
    const { config, space } = this.#ctx;
    const refuse = (code: WireErrorCode, text: string): void => {
      this.#reject(put, code, text);
      // Without DATA to skip (size 0 still needs PUT_END), wait for the PUT_END of this id.
      this.#state = { kind: "discarding", id: put.id };
    };
    const refusal = this.#refusal(put);
    if (refusal) return refuse(refusal.code, refusal.text);
    let settle: Upload["settle"] = NO_QUOTA;
    try {
      const key = put.resume ? this.#partialKey(put.resume) : undefined;
      if (space.quota) settle = await space.quota.reserve(put.size, key);
      // A resumed upload needs room only for what it has yet to send; resumeFrom() checks that.
      if (put.resume && key) return await this.#offerResume(put, put.resume, key, settle);
      await space.storage.ensureRoom(put.size, config.minFreeBytes);
      const file = await space.storage.createIncoming(put.size, this.#ctx.digest);
      this.#state = { kind: "receiving", upload: { put, file, startedAt: performance.now(), settle } };
      this.#ctx.emit("upload-started", { ...this.#ctx.peer, name: put.name, size: put.size, raw: false });
    } catch (error) {
      settle(false); // QUOTA_EXCEEDED, NO_SPACE, STORAGE_ERROR: the reservation (if any) ends here
      const { code, message } = this.#describe(error);
      refuse(toWireCode(code), message);
    }
  }

  /**
   * PUT_BATCH (protocol.md §4.5): many small files, one request, one answer. Each file is checked
   * as a PUT would be; a refused one keeps its place (its bytes are read and dropped) and its
   * refusal is its result. The batch ends when the sum of the sizes has arrived.
   */
  async startBatch(message: PutBatchMessage): Promise<void> {
    if (this.#state.kind !== "none") throw unexpected(`PUT_BATCH while ${this.#state.kind}`);
    const { config, space } = this.#ctx;
    let noRoom: string | undefined;
    try {
      await space.storage.ensureRoom(message.files.reduce((sum, f) => sum + f.size, 0), config.minFreeBytes);
    } catch (error) {
      noRoom = this.#describe(error).message;
    }
    const slots: BatchSlot[] = [];
    const startedAt = performance.now();
    for (const file of message.files) {
      // Every file is published under the batch's policy, "rename" when it names none.
      const put: PutMessage = {
        type: "put",
        id: message.id,
        name: file.name,
        size: file.size,
        onConflict: message.onConflict ?? "rename",
        ...(message.skipIdentical ? { skipIdentical: true } : {}),
      };
      const refusal = this.#refusal(put) ?? (noRoom === undefined ? undefined : { code: "NO_SPACE" as const, text: noRoom });
      let settle: Upload["settle"] = NO_QUOTA;
      try {
        if (refusal) throw new ServerError(refusal.text, { code: refusal.code });
        if (space.quota) settle = await space.quota.reserve(put.size);
      } catch (error) {
        const { code, message: text } = this.#describe(error);
        slots.push({ put, received: 0, refused: this.#failure(put, toWireCode(code), text) });
        continue;
      }
      const upload = { put, file: space.storage.createSmall(put.size, this.#ctx.digest), startedAt, settle };
      slots.push({ put, received: 0, upload, sha256: file.sha256 });
      this.#ctx.emit("upload-started", { ...this.#ctx.peer, name: put.name, size: put.size, raw: false });
    }
    const batch: Batch = { id: message.id, slots, at: 0 };
    this.#state = { kind: "batch", batch };
    return this.#advanceBatch(batch); // a batch of empty files is already complete
  }

  /** BAD_NAME, FORBIDDEN, TOO_MANY_FILES or FILE_TOO_LARGE for a PUT (or a batch's file); counts it. */
  #refusal(put: PutMessage): { code: WireErrorCode; text: string } | undefined {
    const { config, space } = this.#ctx;
    // "dir/" (capability empty-folders) is a folder entry: its path follows the same rules.
    const folder = folderMarker(put.name);
    try {
      // The name rules of protocol.md §6, and the OS path limit once under this storage root.
      space.storage.checkName(folder ?? put.name);
    } catch (error) {
      return { code: "BAD_NAME", text: `${quoteName(put.name)}: ${this.#describe(error).message}` };
    }
    if (folder !== null && put.size !== 0) return { code: "BAD_NAME", text: `${quoteName(put.name)}: a folder entry has size 0` };
    const refusal = forbidden(this.#ctx.identity, put);
    if (refusal) return { code: "FORBIDDEN", text: refusal };
    if (++this.#puts > config.maxFilesPerConnection) {
      return { code: "TOO_MANY_FILES", text: `this connection has started ${config.maxFilesPerConnection} uploads; reconnect to send more` };
    }
    if (put.size > config.maxFileSize) {
      return { code: "FILE_TOO_LARGE", text: `${put.size} bytes exceeds the server's limit of ${config.maxFileSize}` };
    }
    // A PUT_OFFER names at most 512 chunks; a larger chunkSize fits the file (protocol.md §4.2).
    if (put.resume && Math.ceil(put.size / put.resume.chunkSize) > LIMITS.MAX_RESUME_CHUNKS) {
      const smallest = Math.ceil(put.size / LIMITS.MAX_RESUME_CHUNKS);
      return {
        code: "TOO_MANY_CHUNKS",
        text: `${put.size} bytes in chunks of ${put.resume.chunkSize} is more than ${LIMITS.MAX_RESUME_CHUNKS} chunks; use a chunkSize of at least ${smallest}`,
      };
    }
    return undefined;
  }

  /** Hands a batch's DATA to its files in order; a byte past the declared total is fatal. */
  #batchData(batch: Batch, payload: Buffer): Promise<void> | undefined {
    for (let at = 0; at < payload.length; ) {
      const slot = this.#nextUnfilled(batch);
      if (!slot) throw unexpected(`DATA beyond the bytes PUT_BATCH ${batch.id} declared`);
      const take = Math.min(slot.put.size - slot.received, payload.length - at);
      slot.upload?.file.write(payload.subarray(at, at + take));
      slot.received += take;
      at += take;
    }
    return this.#advanceBatch(batch);
  }

  /** The first file of the batch still missing bytes (empty files never are), if any. */
  #nextUnfilled(batch: Batch): BatchSlot | undefined {
    while (batch.at < batch.slots.length && batch.slots[batch.at]!.received === batch.slots[batch.at]!.put.size) batch.at++;
    return batch.slots[batch.at];
  }

  /** Once every file of the batch is in (at once, if all are empty), commits it. */
  #advanceBatch(batch: Batch): Promise<void> | undefined {
    if (this.#nextUnfilled(batch)) return undefined;
    this.#state = { kind: "none" };
    this.#ctx.answers.push(this.#commitBatch(batch));
    return this.#ctx.answers.room(MAX_COMMITS_IN_FLIGHT);
  }

  /**
   * Verifies every file against its declared SHA-256 and commits the good ones together: their
   * fsyncs leave as one batch and their answers as one BATCH_STORED. Never rejects.
   */
  async #commitBatch(batch: Batch): Promise<BatchStoredMessage> {
    // Every file is made durable at once (their fsyncs leave together), then published in the
    // order of `files`: a later file of the same name meets the earlier one as a later PUT would
    // (protocol.md §4.5).
    const finished = await Promise.all(
      batch.slots.map(async (slot): Promise<string | ErrorMessage> => {
        if (!slot.upload) return slot.refused;
        const sha256 = slot.upload.file.digest();
        if (sha256 !== slot.sha256) {
          return this.#dropUpload(slot.upload, "CHECKSUM_MISMATCH", `${DIGEST_NAMES[this.#ctx.digest]} of the received bytes is ${sha256}, not ${slot.sha256}`);
        }
        return this.#finish(slot.upload).then((failure) => failure ?? sha256);
      }),
    );
    const answers = await Promise.all(
      batch.slots.map((slot, at) => {
        const state = finished[at]!;
        return typeof state === "string" ? this.#publish(slot.upload!, state) : state;
      }),
    );
    const results = answers.map((answer): BatchResult =>
      answer.type === "stored" ? { name: answer.name, outcome: answer.outcome ?? "created" } : { code: answer.code, message: answer.message.slice(0, 128) },
    );
    return { type: "batch_stored", id: batch.id, results };
  }

  /** DATA: appended to the upload being received, dropped while discarding. */
  data(payload: Buffer): Promise<void> | undefined {
    const state = this.#state;
    if (state.kind === "discarding") return undefined;
    if (state.kind === "batch") return this.#batchData(state.batch, payload);
    if (state.kind !== "receiving") throw unexpected("DATA outside an upload");
    const { upload } = state;
    if (upload.file.bytes + payload.length > upload.put.size) {
      return this.#failUpload(upload, "SIZE_MISMATCH", `more bytes than the declared ${upload.put.size}`, true);
    }
    if (upload.file.error) return this.#failUpload(upload, diskFailureCode(upload.file.error), upload.file.error.message, true);
    if (!upload.file.write(payload)) {
      return upload.file.drained().catch((error: unknown) => {
        const { code, message } = this.#describe(error);
        return this.#failUpload(upload, code, message, true);
      });
    }
    return undefined;
  }

  /**
   * PUT_END. The checksum is known at once (hashed while receiving); the slow part — fsync,
   * publish, directory sync — runs in the background so the next upload's frames keep flowing,
   * while answers still go out in PUT order. This is what makes many small files fast.
   */
  async end(id: number, declaredSha: string): Promise<void> {
    const state = this.#state;
    if (state.kind === "discarding" && state.id === id) {
      this.#state = { kind: "none" };
      return;
    }
    if (state.kind !== "receiving" || state.upload.put.id !== id) throw unexpected(`PUT_END for upload ${id} while ${state.kind}`);
    const { upload } = state;
    const { put, file } = upload;
    this.#state = { kind: "none" };
    if (file.bytes !== put.size) {
      return this.#failUpload(upload, "SIZE_MISMATCH", `received ${file.bytes} of ${put.size} declared bytes`, false);
    }
    const sha256 = file.digest();
    if (sha256 !== declaredSha) {
      return this.#failUpload(upload, "CHECKSUM_MISMATCH", `${DIGEST_NAMES[this.#ctx.digest]} of the received bytes is ${sha256}, not ${declaredSha}`, false);
    }
    this.#ctx.answers.push(this.#commit(upload, sha256));
    // Bound the work in flight: past this many, wait rather than queue more open files.
    await this.#ctx.answers.room(MAX_COMMITS_IN_FLIGHT);
  }

  /** CANCEL: drops the upload (CANCELLED); after a refusal it only ends the discarding. */
  cancel(id: number): Promise<void> | undefined {
    const state = this.#state;
    if ((state.kind === "receiving" || state.kind === "offering") && state.upload.put.id === id) {
      return this.#failUpload(state.upload, "CANCELLED", "cancelled by the client", false);
    }
    if (state.kind === "discarding" && state.id === id) {
      this.#state = { kind: "none" };
      return undefined;
    }
    if (state.kind === "batch" && state.batch.id === id) return this.#dropBatch(state.batch, "CANCELLED", "cancelled by the client", true);
    throw unexpected(`CANCEL for upload ${id} while ${state.kind}`);
  }

  /** PUT_FROM: the client's choice of offset (the offer's, or 0 to start over). */
  async resumeFrom(id: number, offset: number): Promise<void> {
    const state = this.#state;
    if (state.kind !== "offering" || state.upload.put.id !== id) throw unexpected(`PUT_FROM for upload ${id} while ${state.kind}`);
    const { upload } = state;
    try {
      await upload.file.startAt(offset);
      await this.#ctx.space.storage.ensureRoom(upload.put.size - offset, this.#ctx.config.minFreeBytes);
    } catch (error) {
      if (error instanceof ServerError && error.code === "UNEXPECTED_MESSAGE") throw error;
      const { code, message } = this.#describe(error);
      return this.#failUpload(upload, code, message, true);
    }
    this.#state = { kind: "receiving", upload };
    this.#ctx.emit("upload-started", { ...this.#ctx.peer, name: upload.put.name, size: upload.put.size, raw: false, resumedFrom: offset });
  }

  /**
   * The connection is over with an upload half done: it fails (nothing is published), a resumable
   * one keeps what reached the disk. Nothing is accepted afterwards.
   */
  async abort(code: ServerErrorCode, message: string): Promise<void> {
    const state = this.#state;
    this.#state = { kind: "closed" };
    if (state.kind === "batch") return this.#dropBatch(state.batch, code, message, false);
    if (state.kind !== "receiving" && state.kind !== "offering") return;
    const { upload } = state;
    this.failed++;
    upload.settle(false);
    await upload.file.suspend();
    const kept = upload.put.resume ? ` (${upload.file.bytes} bytes kept for resume)` : "";
    this.#ctx.emit("upload-failed", { ...this.#ctx.peer, name: upload.put.name, code, message: `${message}${kept}`, raw: false });
  }

  /** Ends a batch before its last byte: every file not already refused fails; `answer`: ERROR{id}. */
  async #dropBatch(batch: Batch, code: ServerErrorCode, message: string, answer: boolean): Promise<void> {
    if (this.#state.kind === "batch") this.#state = { kind: "none" };
    for (const slot of batch.slots) if (slot.upload) await this.#dropUpload(slot.upload, toWireCode(code), message);
    if (answer) this.#ctx.answers.push(Promise.resolve({ type: "error", id: batch.id, code: toWireCode(code), message }));
  }

  /** Resumable PUT: open the partial, tell the client what it verifiably holds, wait for PUT_FROM. */
  /**
   * The partial's name on disk. Keys are chosen by clients; scoping them by user means nobody can
   * resume (or probe) another user's partial upload by guessing its key.
   */
  #partialKey(resume: ResumeInfo): string {
    const user = this.#ctx.identity.user;
    return user ? createHash("sha256").update(`${user.name}\0${resume.key}`).digest("hex") : resume.key;
  }

  async #offerResume(put: PutMessage, resume: ResumeInfo, key: string, settle: Upload["settle"]): Promise<void> {
    let opened: { file: ResumableUpload; offset: number };
    try {
      opened = await this.#ctx.space.storage.openResumable(key, { name: put.name, size: put.size, chunkSize: resume.chunkSize }, this.#ctx.digest);
    } catch (error) {
      settle(false);
      const { code, message } = this.#describe(error);
      this.#reject(put, toWireCode(code), message);
      this.#state = { kind: "discarding", id: put.id };
      return;
    }
    this.#state = { kind: "offering", upload: { put, file: opened.file, startedAt: performance.now(), settle } };
    // In the answer queue like every message about a PUT, so a client sees them in PUT order.
    this.#ctx.answers.push(Promise.resolve({ type: "put_offer", id: put.id, offset: opened.offset, chunks: opened.file.chunks }));
  }

  /** fsync + publish; resolves with the answer to send (never rejects). */
  async #commit(upload: Upload, sha256: string): Promise<StoredMessage | ErrorMessage> {
    return (await this.#finish(upload)) ?? this.#publish(upload, sha256);
  }

  /** Makes the temp file complete and durable; on failure, the upload's ERROR answer (never rejects). */
  async #finish(upload: Upload): Promise<ErrorMessage | undefined> {
    try {
      await upload.file.finish(this.#ctx.config.fsync);
      return undefined;
    } catch (error) {
      const { code, message } = this.#describe(error);
      return this.#dropUpload(upload, toWireCode(code), message);
    }
  }

  /**
   * Publishes a finished upload; resolves with its answer (never rejects). The name is taken
   * (link(2)) before the first await, so uploads published one call after another take their names
   * in that order.
   */
  async #publish(upload: Upload, sha256: string): Promise<StoredMessage | ErrorMessage> {
    const { put, file } = upload;
    try {
      const facts = { size: file.bytes, digest: { algorithm: this.#ctx.digest, hex: sha256 } };
      const { name, outcome } = await this.#ctx.space.storage.publish(file, put.name, put.onConflict ?? "rename", facts, put.skipIdentical);
      const kept = outcome === "skipped" || outcome === "unchanged"; // nothing new was stored
      upload.settle(!kept);
      await file.release();
      if (!kept) this.stored++;
      this.#ctx.emit("upload-stored", {
        ...this.#ctx.peer,
        name,
        requestedName: put.name,
        ...facts,
        durationMs: performance.now() - upload.startedAt,
        raw: false,
        outcome,
      });
      // STORED.outcome only for clients that asked for a policy or for skipIdentical: v1 clients' schema has no such key.
      return { type: "stored", id: put.id, name, size: facts.size, sha256, ...(put.onConflict || put.skipIdentical ? { outcome } : {}) };
    } catch (error) {
      const { code, message } = this.#describe(error);
      return this.#dropUpload(upload, toWireCode(code), message);
    }
  }

  /** describe(), and a bug (INTERNAL) is also handed to the connection, which reports it and hangs up. */
  #describe(error: unknown): ReturnType<typeof describe> {
    const described = describe(error);
    if (described.code === "INTERNAL") this.#ctx.onInternal(error);
    return described;
  }

  /** Fails one upload without closing the connection. `moreData`: DATA may still follow. */
  async #failUpload(upload: Upload, code: ServerErrorCode, message: string, moreData: boolean): Promise<void> {
    this.#state = moreData ? { kind: "discarding", id: upload.put.id } : { kind: "none" };
    const answer = this.#dropUpload(upload, toWireCode(code), message);
    this.#ctx.answers.push(answer);
    await answer;
  }

  /**
   * An upload that will not be stored: its quota reservation ends, its temp file goes, its answer is
   * ERROR. A resumable upload the storage failed (STORAGE_ERROR: a disk or an object store that went
   * away) keeps what is stored, so the same PUT resumes once storage is back (protocol.md §4.2).
   */
  async #dropUpload(upload: Upload, code: WireErrorCode, message: string): Promise<ErrorMessage> {
    upload.settle(false);
    if (code === "STORAGE_ERROR" && upload.put.resume) await upload.file.suspend();
    else await upload.file.discard();
    return this.#failure(upload.put, code, message);
  }

  #reject(put: PutMessage, code: WireErrorCode, message: string): void {
    this.#ctx.answers.push(Promise.resolve(this.#failure(put, code, message)));
  }

  #failure(put: PutMessage, code: WireErrorCode, message: string): ErrorMessage {
    this.failed++;
    this.#ctx.emit("upload-failed", { ...this.#ctx.peer, name: put.name, code, message, raw: false });
    return { type: "error", id: put.id, code, message: message.slice(0, 1024) };
  }
}
