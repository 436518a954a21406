import { createHash } from "node:crypto";
import type { Socket } from "node:net";
import {
  FrameDecoder,
  PREAMBLE_BYTES,
  PROTOCOL_VERSION,
  assertNever,
  encodeControl,
  matchPreamble,
  type DeleteMessage,
  type Frame,
  type GetMessage,
  type ListMessage,
  type Message,
  type PutMessage,
  type ResumeInfo,
  type ServerConfig,
  type WireErrorCode,
} from "@ferry/protocol";
import { ServerError, type ServerErrorCode } from "./errors.js";
import type { PeerInfo, ServerEvents } from "./events.js";
import type { IncomingFile } from "./incoming-file.js";
import type { ResumableFile } from "./resumable-file.js";
import { serveDelete, serveGet, serveList, type RequestContext } from "./requests.js";
import { AnswerQueue } from "./answer-queue.js";
import { LINGER_MS, describe, diskFailureCode, lingerThenClose, toWireCode, unexpected } from "./failures.js";
import { serveRawUpload } from "./raw-upload.js";
import type { StorageRoot } from "./storage-root.js";
import type { Authenticator, Identity } from "./auth.js";
import type { Quota } from "./quota.js";
import { forbidden } from "./permissions.js";
import { RateWatch } from "./rate-watch.js";

/** Where one user's files live, and their quota (null: none). */
export interface Space {
  storage: StorageRoot;
  quota: Quota | null;
}

/** What a connection needs from its server. */
export interface ConnectionContext {
  config: ServerConfig;
  /** The storage root itself: raw uploads land here. */
  storage: StorageRoot;
  /** The peer's IP address (failed authentications are counted per address). */
  ip: string;
  /** Raw (lab-format) uploads are served. */
  rawAllowed: boolean;
  auth: Authenticator;
  spaceFor(identity: Identity): Space;
  agent: string;
  capabilities: string[];
  emit<K extends keyof ServerEvents>(event: K, ...args: ServerEvents[K]): void;
}

interface Upload {
  put: PutMessage;
  file: IncomingFile;
  startedAt: number;
  /** Ends the upload's quota reservation: stored or not. Called once, whatever happens. */
  settle: (stored: boolean) => void;
}

type State =
  | { kind: "handshake" }
  | { kind: "idle" }
  | { kind: "receiving"; upload: Upload }
  /** A resumable upload got its PUT_OFFER; PUT_FROM must come before any DATA. */
  | { kind: "offering"; upload: Upload & { file: ResumableFile }; offset: number }
  /** An upload failed before its PUT_END: drop its DATA until PUT_END or CANCEL with this id. */
  | { kind: "discarding"; id: number }
  /** A raw upload (the lab's format) is streaming to a file until the peer's FIN. */
  | { kind: "raw" }
  | { kind: "closed" };

const NO_QUOTA: Upload["settle"] = () => undefined;

// Uploads whose fsync/publish may run behind the connection's reading (see #finishUpload).
const MAX_COMMITS_IN_FLIGHT = 32;


/** Serves one accepted socket: sniffs raw vs Ferry, then runs the matching protocol. */
export class Connection {
  readonly peer: PeerInfo;
  readonly #socket: Socket;
  readonly #ctx: ConnectionContext;
  readonly #reader: AsyncIterator<Buffer>;
  #state: State = { kind: "handshake" };
  /** Known after the first bytes; only a Ferry peer is sent ERROR frames. */
  #mode: "unknown" | "raw" | "ferry" = "unknown";
  #stopping = false;
  #corked = false;
  /** Per-upload answers, which must leave in PUT order. */
  readonly #answers = new AnswerQueue((message) => this.#send(message));
  #stored = 0;
  #failed = 0;
  /** PUTs seen on this connection (for maxFilesPerConnection). */
  #puts = 0;
  /** Set by HELLO: who the peer is and where their files live. */
  #identity: Identity | undefined;
  #space: Space | undefined;
  #decoder: FrameDecoder | undefined;
  /** A GET, LIST or DELETE is being answered (a download may be streaming). */
  #serving = false;
  /** A frame's handling is awaited by the read loop (the state may still say idle). */
  #handling = false;
  #rateWatch: RateWatch | undefined;
  /** Why we hung up, when we did (timeouts, minimum rate, shutdown). */
  #hangUpReason: ServerError | undefined;

  constructor(socket: Socket, peer: PeerInfo, ctx: ConnectionContext) {
    this.#socket = socket;
    this.peer = peer;
    this.#ctx = ctx;
    this.#reader = socket[Symbol.asyncIterator]();
    socket.on("error", () => undefined); // errors surface through the reader
  }

  /** Runs until the connection is over. Never rejects. */
  async run(): Promise<void> {
    const { config } = this.#ctx;
    const handshakeTimer = setTimeout(() => {
      if (this.#state.kind === "handshake") this.#timeout("no handshake in time");
    }, config.handshakeTimeoutMs);
    this.#socket.setTimeout(config.idleTimeoutMs, () => this.#timeout("peer idle for too long"));
    this.#rateWatch = new RateWatch(
      this.#socket,
      { minBytesPerSecond: config.minBytesPerSecond, windowMs: config.rateWindowMs },
      () => this.#inProgress(),
      (error) => this.#hangUp(error),
    );
    try {
      const first = await this.#sniff();
      this.#mode = first.kind;
      if (first.kind === "raw") {
        // The first raw byte meets the handshake deadline; from here only the idle timeout applies.
        clearTimeout(handshakeTimer);
        this.#state = { kind: "raw" };
        // A peer that connects and hangs up without a byte (a port probe, a health check) sent
        // no file; storing an empty output<N>.txt for it would only litter the directory.
        if (this.#ctx.rawAllowed && first.head.length > 0) {
          const outcome = await serveRawUpload(this.#ctx, this.peer, first.head, () => this.#next());
          if (outcome === "stored") this.#stored++;
          else this.#failed++;
        }
        return;
      }
      if (first.version !== PROTOCOL_VERSION) {
        throw new ServerError(`protocol version ${first.version} is not supported (this server speaks ${PROTOCOL_VERSION})`, {
          code: "UNSUPPORTED_VERSION",
        });
      }
      await this.#serveFerry(first.rest);
    } catch (error) {
      await this.#onFatal(error);
    } finally {
      clearTimeout(handshakeTimer);
      this.#rateWatch?.stop();
      await this.#abortUpload("CONNECTION_LOST", "connection closed during the upload");
      await this.#answers.idle(); // uploads already verified are still published (and answered if possible)
      this.#state = { kind: "closed" };
      this.#socket.destroy();
      this.#ctx.emit("connection-closed", { ...this.peer, stored: this.#stored, failed: this.#failed });
    }
  }

  /** Graceful stop: close now if idle, otherwise after the upload in progress. */
  shutdown(): void {
    this.#stopping = true;
    // A request still being set up (a PUT waiting on the disk-space check) is not idle: the read
    // loop closes the connection once it is done.
    if ((this.#state.kind === "idle" || this.#state.kind === "handshake") && !this.#handling) {
      this.#hangUp(new ServerError("server is shutting down", { code: "SHUTTING_DOWN" }));
    }
  }

  /** Hard stop, for when the grace period is over. */
  destroy(): void {
    this.#socket.destroy();
  }

  async #next(): Promise<Buffer | null> {
    const result = await this.#reader.next();
    return result.done ? null : result.value;
  }

  /** Reads until the first bytes say raw or Ferry. A peer that closes early is raw. */
  async #sniff(): Promise<{ kind: "raw"; head: Buffer } | { kind: "ferry"; version: number; rest: Buffer }> {
    let head: Buffer = Buffer.alloc(0);
    for (;;) {
      const chunk = await this.#next();
      if (chunk === null) return { kind: "raw", head };
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const match = matchPreamble(head);
      if (match.status === "not-ferry") return { kind: "raw", head };
      if (match.status === "ferry") return { kind: "ferry", version: match.version, rest: head.subarray(PREAMBLE_BYTES) };
    }
  }

  // ---- Ferry protocol ------------------------------------------------------------------------

  async #serveFerry(rest: Buffer): Promise<void> {
    const { maxDataPayload, maxControlPayload } = this.#ctx.config;
    const decoder = new FrameDecoder({ maxDataPayload, maxControlPayload, streamData: true });
    this.#decoder = decoder;
    let chunk: Buffer | null = rest;
    while (chunk !== null) {
      for (const frame of decoder.push(chunk)) {
        const pending = this.#onFrame(frame);
        if (pending) {
          this.#handling = true;
          try {
            await pending;
          } finally {
            this.#handling = false;
          }
        }
        if (this.#stopping && this.#state.kind === "idle") {
          throw new ServerError("server is shutting down", { code: "SHUTTING_DOWN" });
        }
      }
      chunk = await this.#next();
    }
    // EOF: the finally block in run() fails any upload left half done.
  }

  #onFrame(frame: Frame): Promise<void> | undefined {
    const state = this.#state;
    if (frame.kind === "data") {
      if (state.kind === "receiving") return this.#onData(state.upload, frame.payload);
      if (state.kind === "discarding") return undefined;
      throw unexpected("DATA outside an upload");
    }
    return this.#onMessage(frame.message);
  }

  #onData(upload: Upload, payload: Buffer): Promise<void> | undefined {
    if (upload.file.bytes + payload.length > upload.put.size) {
      return this.#failUpload(upload, "SIZE_MISMATCH", `more bytes than the declared ${upload.put.size}`, true);
    }
    if (upload.file.error) return this.#failUpload(upload, diskFailureCode(upload.file.error), upload.file.error.message, true);
    if (!upload.file.write(payload)) {
      return upload.file.drained().catch((error: unknown) => {
        const { code, message } = describe(error);
        return this.#failUpload(upload, code, message, true);
      });
    }
    return undefined;
  }

  #onMessage(message: Message): Promise<void> | undefined {
    const state = this.#state;
    switch (message.type) {
      case "hello":
        if (state.kind !== "handshake") throw unexpected("HELLO after the handshake");
        if (message.version !== PROTOCOL_VERSION) {
          throw new ServerError(`protocol version ${message.version} is not supported`, { code: "UNSUPPORTED_VERSION" });
        }
        return this.#welcome(message.token);
      case "put":
        if (state.kind !== "idle") throw unexpected(`PUT while ${state.kind}`);
        return this.#startUpload(message);
      case "put_end":
        if (state.kind === "receiving" && state.upload.put.id === message.id) {
          return this.#finishUpload(state.upload, message.sha256);
        }
        if (state.kind === "discarding" && state.id === message.id) {
          this.#state = { kind: "idle" };
          return undefined;
        }
        throw unexpected(`PUT_END for upload ${message.id} while ${state.kind}`);
      case "cancel":
        if ((state.kind === "receiving" || state.kind === "offering") && state.upload.put.id === message.id) {
          return this.#failUpload(state.upload, "CANCELLED", "cancelled by the client", false);
        }
        if (state.kind === "discarding" && state.id === message.id) {
          this.#state = { kind: "idle" };
          return undefined;
        }
        throw unexpected(`CANCEL for upload ${message.id} while ${state.kind}`);
      case "put_from":
        if (state.kind === "offering" && state.upload.put.id === message.id) return this.#resumeFrom(state.upload, message.offset);
        throw unexpected(`PUT_FROM for upload ${message.id} while ${state.kind}`);
      case "get":
      case "list":
      case "delete":
        if (state.kind !== "idle") throw unexpected(`${message.type.toUpperCase()} while ${state.kind}`);
        return this.#serveRequest(message);
      case "welcome":
      case "stored":
      case "error":
      case "get_begin":
      case "get_end":
      case "listing":
      case "deleted":
      case "put_offer":
        throw unexpected(`${message.type.toUpperCase()} is a server message`);
      default:
        return assertNever(message);
    }
  }

  /** Authenticates HELLO's token (a failure is fatal, after the Authenticator's delay), then WELCOME. */
  async #welcome(token: string | undefined): Promise<void> {
    const identity = await this.#ctx.auth.authenticate(token, this.#ctx.ip);
    this.#identity = identity;
    this.#space = this.#ctx.spaceFor(identity);
    const user = identity.user;
    this.#send({
      type: "welcome",
      version: PROTOCOL_VERSION,
      agent: this.#ctx.agent,
      limits: { maxDataPayload: this.#ctx.config.maxDataPayload, maxFileSize: this.#ctx.config.maxFileSize },
      capabilities: this.#ctx.capabilities,
      ...(user ? { user: { name: user.name, permissions: user.permissions } } : {}),
    });
    if (user) this.#ctx.emit("authenticated", { ...this.peer, user: user.name });
    this.#state = { kind: "idle" };
  }

  async #startUpload(put: PutMessage): Promise<void> {
    const { config } = this.#ctx;
    const { storage, quota } = this.#space!;
    const refuse = (code: WireErrorCode, text: string): void => {
      this.#reject(put, code, text);
      // Without DATA to skip (size 0 still needs PUT_END), wait for the PUT_END of this id.
      this.#state = { kind: "discarding", id: put.id };
    };
    try {
      // The name rules of protocol.md §6, and the OS path limit once under this storage root.
      storage.checkName(put.name);
    } catch (error) {
      return refuse("BAD_NAME", `${JSON.stringify(put.name)}: ${describe(error).message}`);
    }
    const refusal = forbidden(this.#identity!, put);
    if (refusal) return refuse("FORBIDDEN", refusal);
    if (++this.#puts > config.maxFilesPerConnection) {
      return refuse("TOO_MANY_FILES", `this connection has started ${config.maxFilesPerConnection} uploads; reconnect to send more`);
    }
    if (put.size > config.maxFileSize) {
      return refuse("FILE_TOO_LARGE", `${put.size} bytes exceeds the server's limit of ${config.maxFileSize}`);
    }
    let settle: Upload["settle"] = NO_QUOTA;
    try {
      if (quota) settle = quota.reserve(put.size);
      // A resumed upload needs room only for what it has yet to send; #resumeFrom checks that.
      if (put.resume) return await this.#offerResume(put, put.resume, settle);
      await storage.ensureRoom(put.size, config.minFreeBytes);
      const file = await storage.createIncoming(put.size);
      this.#state = { kind: "receiving", upload: { put, file, startedAt: performance.now(), settle } };
      this.#ctx.emit("upload-started", { ...this.peer, name: put.name, size: put.size, raw: false });
    } catch (error) {
      settle(false); // QUOTA_EXCEEDED, NO_SPACE, STORAGE_ERROR: the reservation (if any) ends here
      const { code, message } = describe(error);
      refuse(toWireCode(code), message);
    }
  }


  /** Resumable PUT: open the partial, tell the client what it verifiably holds, wait for PUT_FROM. */
  async #offerResume(put: PutMessage, resume: ResumeInfo, settle: Upload["settle"]): Promise<void> {
    let opened: { file: ResumableFile; offset: number };
    // Keys are chosen by clients; scoping them by user means nobody can resume (or probe) another
    // user's partial upload by guessing its key.
    const user = this.#identity?.user;
    const key = user ? createHash("sha256").update(`${user.name}\0${resume.key}`).digest("hex") : resume.key;
    try {
      opened = await this.#space!.storage.openResumable(key, { name: put.name, size: put.size, chunkSize: resume.chunkSize });
    } catch (error) {
      settle(false);
      const { code, message } = describe(error);
      this.#reject(put, toWireCode(code), message);
      this.#state = { kind: "discarding", id: put.id };
      return;
    }
    const upload = { put, file: opened.file, startedAt: performance.now(), settle };
    this.#state = { kind: "offering", upload, offset: opened.offset };
    this.#send({ type: "put_offer", id: put.id, offset: opened.offset, chunks: opened.file.chunks });
  }

  async #resumeFrom(upload: Upload & { file: ResumableFile }, offset: number): Promise<void> {
    try {
      await upload.file.startAt(offset);
      await this.#space!.storage.ensureRoom(upload.put.size - offset, this.#ctx.config.minFreeBytes);
    } catch (error) {
      if (error instanceof ServerError && error.code === "UNEXPECTED_MESSAGE") throw error;
      const { code, message } = describe(error);
      return this.#failUpload(upload, code, message, true);
    }
    this.#state = { kind: "receiving", upload };
    this.#ctx.emit("upload-started", { ...this.peer, name: upload.put.name, size: upload.put.size, raw: false, resumedFrom: offset });
  }

  /**
   * Ends an upload's receiving phase. The checksum is known at once (hashed while receiving); the
   * slow part — fsync, publish, directory sync — runs in the background so the next upload's frames
   * keep flowing, while answers still go out in PUT order. This is what makes many small files fast.
   */
  async #finishUpload(upload: Upload, declaredSha: string): Promise<void> {
    const { put, file } = upload;
    this.#state = { kind: "idle" };
    if (file.bytes !== put.size) {
      return this.#failUpload(upload, "SIZE_MISMATCH", `received ${file.bytes} of ${put.size} declared bytes`, false);
    }
    const sha256 = file.digest();
    if (sha256 !== declaredSha) {
      return this.#failUpload(upload, "CHECKSUM_MISMATCH", `SHA-256 of the received bytes is ${sha256}, not ${declaredSha}`, false);
    }
    this.#answers.push(this.#commit(upload, sha256));
    // Bound the work in flight: past this many, wait rather than queue more open files.
    await this.#answers.room(MAX_COMMITS_IN_FLIGHT);
  }

  /**
   * GET, LIST, DELETE: served in order after every earlier answer, while the connection's reading
   * waits (a download streams to its end before the next request is read). A refusal (NOT_FOUND,
   * BAD_NAME, a read error) answers that request only; a lost socket ends the connection.
   */
  async #serveRequest(request: GetMessage | ListMessage | DeleteMessage): Promise<void> {
    await this.#answers.idle();
    const ctx: RequestContext = {
      socket: this.#socket,
      storage: this.#space!.storage,
      quota: this.#space!.quota,
      peer: this.peer,
      send: (message) => this.#send(message),
      emit: this.#ctx.emit,
    };
    this.#serving = true;
    try {
      const refusal = forbidden(this.#identity!, request);
      if (refusal) throw new ServerError(refusal, { code: "FORBIDDEN" });
      if (request.type === "get") await serveGet(ctx, request);
      else if (request.type === "list") await serveList(ctx, request);
      else await serveDelete(ctx, request);
    } catch (error) {
      if (!(error instanceof ServerError) || this.#socket.destroyed) throw error;
      const name = request.type === "list" ? null : request.name;
      this.#ctx.emit("request-failed", { ...this.peer, request: request.type, name, code: error.code, message: error.message });
      this.#send({ type: "error", id: request.id, code: toWireCode(error.code), message: error.message.slice(0, 1024) });
    } finally {
      this.#serving = false;
    }
  }

  /** fsync + publish; resolves with the answer to send (never rejects). */
  async #commit(upload: Upload, sha256: string): Promise<Message> {
    const { put, file } = upload;
    try {
      await file.finish(this.#ctx.config.fsync);
      const facts = { size: file.bytes, sha256 };
      const { name, outcome } = await this.#space!.storage.publish(file.tempPath, put.name, put.onConflict ?? "rename", facts);
      upload.settle(outcome !== "skipped");
      await file.release();
      if (outcome !== "skipped") this.#stored++;
      this.#ctx.emit("upload-stored", {
        ...this.peer,
        name,
        requestedName: put.name,
        ...facts,
        durationMs: performance.now() - upload.startedAt,
        raw: false,
        outcome,
      });
      // STORED.outcome only for clients that asked for a policy: v1 clients' schema has no such key.
      return { type: "stored", id: put.id, name, ...facts, ...(put.onConflict ? { outcome } : {}) };
    } catch (error) {
      upload.settle(false);
      await file.discard();
      const { code, message } = describe(error);
      return this.#failure(put, toWireCode(code), message);
    }
  }

  /** Fails one upload without closing the connection. `moreData`: DATA may still follow. */
  async #failUpload(upload: Upload, code: ServerErrorCode, message: string, moreData: boolean): Promise<void> {
    this.#state = moreData ? { kind: "discarding", id: upload.put.id } : { kind: "idle" };
    upload.settle(false);
    await upload.file.discard();
    this.#reject(upload.put, toWireCode(code), message);
  }

  #reject(put: PutMessage, code: WireErrorCode, message: string): void {
    this.#answers.push(Promise.resolve(this.#failure(put, code, message)));
  }

  #failure(put: PutMessage, code: WireErrorCode, message: string): Message {
    this.#failed++;
    this.#ctx.emit("upload-failed", { ...this.peer, name: put.name, code, message, raw: false });
    return { type: "error", id: put.id, code, message: message.slice(0, 1024) };
  }



  async #abortUpload(code: ServerErrorCode, message: string): Promise<void> {
    if (this.#state.kind !== "receiving" && this.#state.kind !== "offering") return;
    const { upload } = this.#state;
    this.#state = { kind: "closed" };
    this.#failed++;
    upload.settle(false);
    // A resumable upload keeps what reached the disk; any other is dropped.
    await upload.file.suspend();
    const kept = upload.put.resume ? ` (${upload.file.bytes} bytes kept for resume)` : "";
    this.#ctx.emit("upload-failed", { ...this.peer, name: upload.put.name, code, message: `${message}${kept}`, raw: false });
  }


  #send(message: Message): void {
    if (this.#socket.destroyed || this.#socket.writableEnded) return;
    const [header, payload] = encodeControl(message);
    // Answers produced in the same tick (pipelined small files) leave in one writev.
    if (!this.#corked) {
      this.#corked = true;
      this.#socket.cork();
      process.nextTick(() => {
        this.#corked = false;
        this.#socket.uncork();
      });
    }
    this.#socket.write(header);
    this.#socket.write(payload);
  }

  /** In the middle of a transfer or a frame (judged by the minimum data rate). A connection
   * waiting for its own PUT_FROM (the client is re-reading its file) is not. */
  #inProgress(): boolean {
    const kind = this.#state.kind;
    return kind === "receiving" || kind === "discarding" || kind === "raw" || this.#serving || (this.#decoder?.midFrame ?? false);
  }

  #timeout(message: string): void {
    this.#hangUp(new ServerError(message, { code: "TIMEOUT" }));
  }

  /**
   * Ends the connection from outside the read loop (timers, shutdown): a Ferry peer is told why,
   * then the socket is destroyed with `error`, which the read loop sees as its next chunk.
   */
  #hangUp(error: ServerError): void {
    if (this.#socket.destroyed) return;
    this.#hangUpReason ??= error;
    // Answers already owed go first; the hang-up cannot wait longer than LINGER_MS for them.
    const timer = setTimeout(() => this.#socket.destroy(error), LINGER_MS);
    void this.#answers.idle().then(() => {
      if (this.#socket.destroyed) return;
      if (this.#mode === "ferry") this.#send({ type: "error", code: toWireCode(error.code), message: error.message });
      this.#socket.end(() => {
        clearTimeout(timer);
        this.#socket.destroy(error);
      });
    });
  }

  /** Tells the peer what went wrong (when it speaks Ferry and can still hear), then hangs up. */
  async #onFatal(error: unknown): Promise<void> {
    // A hang-up of ours surfaces wherever the code was waiting (a read, a download's drain) as a
    // lost connection; report the reason we hung up instead.
    const { code, message } = describe(this.#hangUpReason ?? error);
    if (code === "CONNECTION_LOST") return; // nobody left to tell
    await this.#abortUpload(code, message);
    this.#ctx.emit("connection-error", { ...this.peer, code, message });
    await this.#answers.idle(); // earlier uploads' answers go out before the fatal error
    if (this.#socket.destroyed || this.#socket.writableEnded || this.#mode !== "ferry") return;
    this.#send({ type: "error", code: toWireCode(code), message: message.slice(0, 1024) });
    await lingerThenClose(this.#socket, this.#reader);
  }
}
