import type { Socket } from "node:net";
import { FrameWriter } from "@ferry/node-io";
import {
  FrameDecoder,
  PREAMBLE_BYTES,
  ProtocolError,
  PROTOCOL_VERSION,
  assertNever,
  encodeControl,
  matchPreamble,
  type DeleteMessage,
  type ErrorMessage,
  type Frame,
  type GetMessage,
  type ListMessage,
  type Message,
  type ServerMessage,
  type ServerConfig,
  type ShareListMessage,
  type ShareMessage,
  type ShareRevokeMessage,
  type UserConfig,
  type DigestAlgorithm,
} from "@ferry/protocol";
import { ServerError } from "./errors.js";
import type { PeerInfo, ServerEvents } from "./events.js";
import { serveDelete, serveGet, serveList, type RequestContext } from "./requests.js";
import { AnswerQueue } from "./answer-queue.js";
import { LINGER_MS, describe, lingerThenClose, toWireCode, unexpected } from "./failures.js";
import { serveRawUpload } from "./raw-upload.js";
import { serveShare, serveShareList, serveShareRevoke } from "./share-requests.js";
import type { ShareStore } from "./share-store.js";
import type { Storage } from "./storage.js";
import type { Authenticator, Identity } from "./auth.js";
import { forbidden } from "./permissions.js";
import { RateWatch } from "./rate-watch.js";
import { UploadSession, type Space } from "./upload-session.js";

export type { Space } from "./upload-session.js";

/** The requests served one at a time while the connection's reading waits. */
type Request = GetMessage | ListMessage | DeleteMessage | ShareMessage | ShareListMessage | ShareRevokeMessage;

/** What a connection needs from its server. */
export interface ConnectionContext {
  config: ServerConfig;
  /** The server's storage itself: raw uploads land here. */
  storage: Storage;
  /** The peer's IP address (failed authentications are counted per address). */
  ip: string;
  /** Raw (lab-format) uploads are served. */
  rawAllowed: boolean;
  auth: Authenticator;
  spaceFor(identity: Identity): Space;
  agent: string;
  capabilities: string[];
  /** Share links, or null when they are off (the server's HTTP listener is not running). */
  shares: ShareStore | null;
  /** The base of link URLs for a connection that reached the server at `localAddress`. */
  shareBaseUrl(localAddress: string): string;
  emit<K extends keyof ServerEvents>(event: K, ...args: ServerEvents[K]): void;
}

/**
 * The connection's part of protocol.md §5's state machine; uploads keep their own (UploadSession),
 * and the connection is IDLE when it is ready and no upload is between PUT and PUT_END.
 */
type State =
  | { kind: "handshake" }
  /** Authenticated: requests are served, uploads run in the connection's UploadSession. */
  | { kind: "ready"; space: Space; identity: Identity }
  /** A raw upload (the lab's format) is streaming to a file until the peer's FIN. */
  | { kind: "raw" }
  | { kind: "closed" };

/**
 * How readily a connection gives its slot to a new one when the server is full (protocol.md §7):
 * "unproven" (no handshake yet, or on an open server no request yet) before "idle" (authenticated,
 * between requests); `since`: when it became so (performance.now()).
 */
export interface SlotClaim {
  kind: "unproven" | "idle";
  since: number;
}

/** Serves one accepted socket: sniffs raw vs Ferry, then runs the matching protocol. */
export class Connection {
  /** Who is at the other end; gains `user` once authenticated, so every later event names them. */
  peer: PeerInfo;
  readonly #socket: Socket;
  readonly #frames: FrameWriter;
  #internalReported = false;
  readonly #ctx: ConnectionContext;
  readonly #reader: AsyncIterator<Buffer>;
  #state: State = { kind: "handshake" };
  /** Known after the first bytes; only a Ferry peer is sent ERROR frames. */
  #mode: "unknown" | "raw" | "ferry" = "unknown";
  /** Set by shutdown() or retire(): why the connection closes once it is idle. */
  #stopping: ServerError | undefined;
  /** Answers, which must leave in request order. */
  readonly #answers = new AnswerQueue((message) => this.#send(message));
  /** Set by HELLO: the uploads of this connection (null before, and for raw peers). */
  #uploads: UploadSession | null = null;
  /** Raw uploads: stored or failed (Ferry uploads are counted by the session). */
  #rawOutcome: "stored" | "failed" | null = null;
  #decoder: FrameDecoder | undefined;
  /** A GET, LIST or DELETE is being answered (a download may be streaming). */
  #serving = false;
  /** A frame's handling is awaited by the read loop (the state may still say idle). */
  #handling = false;
  #rateWatch: RateWatch | undefined;
  /** Why we hung up, when we did (timeouts, minimum rate, shutdown). */
  #hangUpReason: ServerError | undefined;
  readonly #acceptedAt = performance.now();
  /** When a byte last arrived or the server last finished its own work for this connection. */
  #lastActive = this.#acceptedAt;
  /** A request (PUT, PUT_BATCH, GET, LIST, DELETE) has been received. */
  #requested = false;
  /** The transfer digest WELCOME named (SHA-256 unless HELLO asked for another the storage can receive). */
  #digest: DigestAlgorithm = "sha256";

  constructor(socket: Socket, peer: PeerInfo, ctx: ConnectionContext) {
    this.#socket = socket;
    this.#frames = new FrameWriter(socket);
    this.peer = peer;
    this.#ctx = ctx;
    // destroyOnReturn false: reaching the peer's FIN must not destroy the socket, whose writable
    // side still carries the answers owed (#endGracefully ends it).
    this.#reader = socket.iterator({ destroyOnReturn: false });
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
      if (first.kind === "tls") {
        // A TLS client on a plain port: never stored as a raw upload. It cannot read plaintext,
        // but a person reading the bytes (or a client that checks for it) sees why.
        this.#socket.write(TLS_ON_PLAIN_PORT_HINT);
        this.#ctx.emit("connection-error", { ...this.peer, code: "TLS_ON_PLAIN_PORT", message: "a TLS client on a plain-TCP port" });
        return;
      }
      this.#mode = first.kind;
      if (first.kind === "raw") {
        // The first raw byte meets the handshake deadline; from here only the idle timeout applies.
        clearTimeout(handshakeTimer);
        this.#state = { kind: "raw" };
        // A peer that connects and hangs up without a byte (a port probe, a health check) sent
        // no file; storing an empty output<N>.txt for it would only litter the directory.
        if (this.#ctx.rawAllowed && first.head.length > 0) {
          const outcome = await serveRawUpload(this.#ctx, this.peer, first.head, () => this.#next(), this.#onInternal);
          this.#rawOutcome = outcome === "stored" ? "stored" : "failed";
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
      await this.#uploads?.abort("CONNECTION_LOST", "connection closed during the upload");
      await this.#answers.idle(); // uploads already verified are still published (and answered if possible)
      this.#state = { kind: "closed" };
      await this.#endGracefully();
      this.#socket.destroy();
      const stored = (this.#uploads?.stored ?? 0) + (this.#rawOutcome === "stored" ? 1 : 0);
      const failed = (this.#uploads?.failed ?? 0) + (this.#rawOutcome === "failed" ? 1 : 0);
      this.#ctx.emit("connection-closed", { ...this.peer, stored, failed });
    }
  }

  /** Graceful stop: close now if idle, otherwise after the upload in progress. */
  shutdown(): void {
    this.#closeWhenIdle(new ServerError("server is shutting down", { code: "SHUTTING_DOWN" }));
  }

  /** The user this connection authenticated as, if any. */
  get user(): UserConfig | null {
    return this.#state.kind === "ready" ? this.#state.identity.user : null;
  }

  /** Its token no longer holds (a reload removed it): closes once the current transfer ends, told AUTH_FAILED. */
  retire(why: string): void {
    this.#closeWhenIdle(new ServerError(why, { code: "AUTH_FAILED" }));
  }

  #closeWhenIdle(reason: ServerError): void {
    this.#stopping ??= reason;
    // A request still being set up (a PUT waiting on the disk-space check) is not idle: the read
    // loop closes the connection once it is done.
    if ((this.#idle() || this.#state.kind === "handshake") && !this.#handling) this.#hangUp(this.#stopping);
  }

  /**
   * Whether this connection may give up its slot to a new one, and since when; undefined while it
   * is doing anything (receiving, answering, streaming a raw upload). protocol.md §7.
   */
  slotClaim(): SlotClaim | undefined {
    const state = this.#state;
    if (this.#hangUpReason || state.kind === "closed" || state.kind === "raw") return undefined;
    if (state.kind === "handshake") return this.#handling ? undefined : { kind: "unproven", since: this.#acceptedAt };
    const resting = this.#idle() && !this.#handling && !this.#serving && this.#answers.pending === 0 && !(this.#decoder?.midFrame ?? false);
    if (!resting) return undefined;
    if (!this.#requested && this.#ctx.auth.open) return { kind: "unproven", since: this.#acceptedAt };
    return { kind: "idle", since: this.#lastActive };
  }

  /** Gives the slot up for a new connection: the peer is told TIMEOUT and why. */
  evict(): void {
    this.#hangUp(new ServerError("closed to make room for a new connection: the server is full and this connection was idle", { code: "TIMEOUT" }));
  }

  /** Hard stop, for when the grace period is over. */
  destroy(): void {
    this.#socket.destroy();
  }

  /**
   * Ends our side after every answer is written: a peer that half-closed after its requests still
   * reads their answers. Bounded by LINGER_MS for a peer that stopped reading.
   */
  #endGracefully(): Promise<void> {
    const socket = this.#socket;
    if (socket.destroyed || socket.writableEnded) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, LINGER_MS);
      socket.end(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** The socket's next chunk (null at EOF). A reset or a socket error is CONNECTION_LOST, never INTERNAL. */
  async #next(): Promise<Buffer | null> {
    let result: IteratorResult<Buffer>;
    try {
      result = await this.#reader.next();
      this.#lastActive = performance.now();
    } catch (error) {
      if (error instanceof ServerError) throw error; // our own hang-up's reason
      throw new ServerError(`connection lost: ${(error as Error).message}`, { code: "CONNECTION_LOST", cause: error });
    }
    return result.done ? null : result.value;
  }

  /** Reads until the first bytes say raw or Ferry. A peer that closes early is raw. */
  async #sniff(): Promise<{ kind: "raw"; head: Buffer } | { kind: "ferry"; version: number; rest: Buffer } | { kind: "tls" }> {
    let head: Buffer = Buffer.alloc(0);
    for (;;) {
      const chunk = await this.#next();
      if (chunk === null) return { kind: "raw", head };
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const tls = tlsRecordStart(head);
      if (tls === "yes") return { kind: "tls" };
      if (tls === "maybe") continue;
      const match = matchPreamble(head);
      if (match.status === "not-ferry") return { kind: "raw", head };
      if (match.status === "ferry") return { kind: "ferry", version: match.version, rest: head.subarray(PREAMBLE_BYTES) };
    }
  }

  // ---- Ferry protocol ------------------------------------------------------------------------

  async #serveFerry(rest: Buffer): Promise<void> {
    const decoder = new FrameDecoder({ maxDataPayload: this.#ctx.config.maxDataPayload, streamData: true });
    this.#decoder = decoder;
    let chunk: Buffer | null = rest;
    while (chunk !== null) {
      let frames: Frame[];
      try {
        frames = decoder.push(chunk);
      } catch (error) {
        // The whole frames before the bad bytes are served first: what happens must not depend on
        // where TCP cut the stream (protocol.md §3).
        if (error instanceof ProtocolError) await this.#handle(error.framesBefore);
        throw error;
      }
      await this.#handle(frames);
      chunk = await this.#next();
    }
    // EOF: the finally block in run() fails any upload left half done.
  }

  async #handle(frames: Frame[]): Promise<void> {
    for (const frame of frames) {
      const pending = this.#onFrame(frame);
      if (pending) {
        this.#handling = true;
        // While we wait on ourselves (the disk behind an upload, a download's socket), reading
        // stops; that silence is ours, not the peer's, so the idle timer rests. A peer that
        // stops reading a download is the minimum data rate's to judge.
        this.#socket.setTimeout(0);
        try {
          await pending;
        } finally {
          this.#handling = false;
          this.#lastActive = performance.now();
          this.#socket.setTimeout(this.#ctx.config.idleTimeoutMs);
        }
      }
      if (this.#stopping && this.#idle()) throw this.#stopping;
    }
  }

  #onFrame(frame: Frame): Promise<void> | undefined {
    if (frame.kind === "data") {
      if (!this.#uploads) throw unexpected("DATA outside an upload");
      return this.#uploads.data(frame.payload);
    }
    return this.#onMessage(frame.message);
  }

  #onMessage(message: Message): Promise<void> | undefined {
    const state = this.#state;
    if (message.type === "error") throw peerError(message);
    if (message.type === "hello") {
      if (state.kind !== "handshake") throw unexpected("HELLO after the handshake");
      if (message.version !== PROTOCOL_VERSION) {
        throw new ServerError(`protocol version ${message.version} is not supported`, { code: "UNSUPPORTED_VERSION" });
      }
      return this.#welcome(message.token, message.digests);
    }
    if (state.kind !== "ready" || !this.#uploads) throw unexpected(`${message.type.toUpperCase()} during the handshake`);
    const uploads = this.#uploads;
    this.#requested = true;
    switch (message.type) {
      case "put":
        return uploads.start(message);
      case "put_end":
        return uploads.end(message.id, message.sha256);
      case "cancel":
        return uploads.cancel(message.id);
      case "put_from":
        return uploads.resumeFrom(message.id, message.offset);
      case "put_batch":
        return uploads.startBatch(message);
      case "get":
      case "list":
      case "delete":
      case "share":
      case "share_list":
      case "share_revoke":
        if (!uploads.idle) throw unexpected(`${message.type.toUpperCase()} during an upload`);
        return this.#serveRequest(message, state);
      case "welcome":
      case "stored":
      case "get_begin":
      case "get_end":
      case "listing":
      case "deleted":
      case "put_offer":
      case "batch_stored":
      case "shared":
      case "shares":
      case "share_revoked":
        throw unexpected(`${message.type.toUpperCase()} is a server message`);
      default:
        return assertNever(message);
    }
  }

  /**
   * Authenticates HELLO's token (a failure is fatal, after the Authenticator's delay), then WELCOME,
   * naming the transfer digest when HELLO offered some: the first of them the storage can receive
   * (SHA-256 when none is; protocol.md §4.7).
   */
  async #welcome(token: string | undefined, offered: readonly DigestAlgorithm[] | undefined): Promise<void> {
    let identity: Identity;
    try {
      identity = await this.#ctx.auth.authenticate(token, this.#ctx.ip);
    } catch (error) {
      if (error instanceof ServerError && (error.code === "AUTH_FAILED" || error.code === "AUTH_REQUIRED")) {
        this.#ctx.emit("auth-failed", { ...this.peer, code: error.code, blocked: await this.#ctx.auth.isBlocked(this.#ctx.ip).catch(() => false) });
      }
      throw error;
    }
    const space = this.#ctx.spaceFor(identity);
    const { config } = this.#ctx;
    const user = identity.user;
    const digest = offered?.find((algorithm) => space.storage.digests.includes(algorithm)) ?? "sha256";
    this.#digest = digest;
    this.#send({
      type: "welcome",
      version: PROTOCOL_VERSION,
      agent: this.#ctx.agent,
      limits: { maxDataPayload: config.maxDataPayload, maxFileSize: config.maxFileSize },
      capabilities: this.#ctx.capabilities,
      ...(offered ? { digest } : {}),
      ...(user ? { user: { name: user.name, permissions: user.permissions } } : {}),
    });
    if (user) {
      this.peer = { ...this.peer, user: user.name };
      this.#ctx.emit("authenticated", { ...this.peer, user: user.name });
    }
    this.#uploads = new UploadSession({ config, peer: this.peer, identity, space, digest, answers: this.#answers, emit: this.#ctx.emit, onInternal: this.#onInternal });
    this.#state = { kind: "ready", space, identity };
  }

  /**
   * GET, LIST, DELETE: served in order after every earlier answer, while the connection's reading
   * waits (a download streams to its end before the next request is read). A refusal (NOT_FOUND,
   * BAD_NAME, a read error) answers that request only; a lost socket ends the connection.
   */
  async #serveRequest(request: Request, { space, identity }: { space: Space; identity: Identity }): Promise<void> {
    await this.#answers.idle();
    const ctx: RequestContext = {
      socket: this.#socket,
      frames: this.#frames,
      storage: space.storage,
      quota: space.quota,
      peer: this.peer,
      digest: this.#digest,
      send: (message) => this.#send(message),
      emit: this.#ctx.emit,
    };
    this.#serving = true;
    try {
      switch (request.type) {
        case "share":
        case "share_list":
        case "share_revoke":
          await this.#serveShare(request, { space, identity });
          break;
        default: {
          const refusal = forbidden(identity, request);
          if (refusal) throw new ServerError(refusal, { code: "FORBIDDEN" });
          if (request.type === "get") await serveGet(ctx, request);
          else if (request.type === "list") await serveList(ctx, request);
          else await serveDelete(ctx, request);
        }
      }
    } catch (error) {
      if (!(error instanceof ServerError) || this.#socket.destroyed) throw error;
      const name = request.type === "get" || request.type === "delete" ? request.name : null;
      this.#ctx.emit("request-failed", { ...this.peer, request: request.type, name, code: error.code, message: error.message });
      this.#send({ type: "error", id: request.id, code: toWireCode(error.code), message: error.message.slice(0, 1024) });
    } finally {
      this.#serving = false;
    }
  }

  /** SHARE, SHARE_LIST, SHARE_REVOKE (protocol.md §4.6): the permission checks are the link kind's. */
  async #serveShare(request: ShareMessage | ShareListMessage | ShareRevokeMessage, { space, identity }: { space: Space; identity: Identity }): Promise<void> {
    const ctx = {
      shares: this.#ctx.shares,
      baseUrl: () => this.#ctx.shareBaseUrl(this.#socket.localAddress ?? "127.0.0.1"),
      identity,
      storage: space.storage,
      peer: this.peer,
      send: (message: ServerMessage) => this.#send(message),
      emit: this.#ctx.emit,
    };
    if (request.type === "share") await serveShare(ctx, request);
    else if (request.type === "share_list") await serveShareList(ctx, request);
    else await serveShareRevoke(ctx, request);
  }

  #send(message: ServerMessage): void {
    if (this.#socket.destroyed || this.#socket.writableEnded) return;
    // Answers produced in the same tick (pipelined small files) leave in one writev.
    this.#frames.write(encodeControl(message));
  }

  /** In the middle of a transfer or a frame (judged by the minimum data rate). A connection
   * waiting for its own PUT_FROM (the client is re-reading its file) is not. */
  #inProgress(): boolean {
    return this.#state.kind === "raw" || (this.#uploads?.expectingData ?? false) || this.#serving || (this.#decoder?.midFrame ?? false);
  }

  /** protocol.md §5's IDLE: authenticated, no upload between PUT and PUT_END, no request served. */
  #idle(): boolean {
    return this.#state.kind === "ready" && (this.#uploads?.idle ?? false);
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

  /**
   * A bug surfaced while serving this connection: the operator gets it with its stack
   * ("internal-error"), and the peer is told INTERNAL_ERROR and disconnected, since the
   * connection's state can no longer be trusted. Called once per connection at most.
   */
  #reportInternal(error: unknown): void {
    if (this.#internalReported) return;
    this.#internalReported = true;
    const cause = error instanceof Error ? error : new Error(String(error));
    this.#ctx.emit("internal-error", { ...this.peer, message: cause.message, stack: cause.stack ?? String(cause) });
  }

  /** An unexpected exception inside a request (an upload's set-up or publish): report it, then hang up. */
  readonly #onInternal = (error: unknown): void => {
    this.#reportInternal(error);
    this.#hangUp(new ServerError("internal server error (logged by the server)", { code: "INTERNAL" }));
  };

  /** Tells the peer what went wrong (when it speaks Ferry and can still hear), then hangs up. */
  async #onFatal(error: unknown): Promise<void> {
    // A hang-up of ours surfaces wherever the code was waiting (a read, a download's drain) as a
    // lost connection; report the reason we hung up instead.
    const { code, message } = describe(this.#hangUpReason ?? error);
    if (code === "INTERNAL") this.#reportInternal(error);
    if (code === "CONNECTION_LOST") return; // nobody left to tell
    await this.#uploads?.abort(code, message);
    // Earlier uploads' answers (and their "upload-stored" events) come before the fatal error, in
    // the log as on the wire.
    await this.#answers.idle();
    this.#ctx.emit("connection-error", { ...this.peer, code, message });
    // A peer that sent ERROR said why it is leaving: it gets the answers already due, no ERROR back.
    if (code === "PEER_ERROR" || this.#socket.destroyed || this.#socket.writableEnded || this.#mode !== "ferry") return;
    this.#send({ type: "error", code: toWireCode(code), message: message.slice(0, 1024) });
    await lingerThenClose(this.#socket, this.#reader);
  }
}

/**
 * A client's ERROR reports a fatal problem of its own (a server message it could not decode); it is
 * closing, in any state. Nothing is answered (protocol.md §8).
 */
function peerError(message: ErrorMessage): ServerError {
  return new ServerError(`the client reported ${message.code}: ${message.message}`, { code: "PEER_ERROR" });
}

/** What a TLS client on a plain-TCP port is told, in plaintext (protocol.md §2). */
const TLS_ON_PLAIN_PORT_HINT = "ferry-server: this port speaks plain TCP, not TLS (connect without --tls)\n";

/**
 * Whether the first bytes are a TLS handshake record (0x16, then version 0x03 0x00–0x04): such a
 * connection is never a raw upload. "maybe": too few bytes yet to tell.
 */
function tlsRecordStart(head: Buffer): "yes" | "no" | "maybe" {
  if (head[0] !== 0x16) return "no";
  if (head.length < 2) return "maybe";
  if (head[1] !== 0x03) return "no";
  if (head.length < 3) return "maybe";
  return head[2]! <= 0x04 ? "yes" : "no";
}
