import net, { type Socket } from "node:net";
import tls from "node:tls";
import {
  CAPABILITIES,
  pathProblem,
  formatFingerprint,
  parseFingerprint,
  FrameDecoder,
  PROTOCOL_VERSION,
  encodeControl,
  encodePreamble,
  type ClientConfig,
  type Frame,
  type ClientMessage,
  type Message,
  type WelcomeMessage,
} from "@ferry/protocol";
import { FrameWriter } from "@ferry/node-io";
import { abortError, throwIfAborted } from "./abort.js";
import { ClientError, TlsTrustError, type ClientErrorCode } from "./errors.js";
import { SendLock } from "./send-lock.js";

/** What the server announced in WELCOME. */
export type ServerInfo = Omit<WelcomeMessage, "type">;

/** One request waiting for the server, keyed by its id. */
export interface Pending {
  /** A message for this id other than ERROR; returns true when the request is over. */
  onMessage(message: Message): boolean;
  /** DATA bytes, for a request that announced a download with GET_BEGIN. */
  onData?(payload: Buffer): void;
  /** The server refused the request, or the connection is gone. */
  onError(error: ClientError): void;
}

/** Stands in for a request we gave up on: drops its DATA, ends with its GET_END or ERROR. */
const SINK: Pending = { onMessage: (m) => m.type !== "get_begin", onData: () => undefined, onError: () => undefined };

// 4 MiB lets several DATA frames queue before we wait for 'drain', so reading and hashing the
// next chunk overlaps with the kernel sending the last one.
const SOCKET_HIGH_WATER = 4 * 1024 * 1024;
// Bytes one read may deliver on a plain TCP connection (libuv's own default is 64 KiB).
const READ_BUFFER = 256 * 1024;

/**
 * The connection under a FerryClient: handshake, framing, request ids, and routing of every
 * answer (and downloaded DATA) to the request that asked for it. Internal to client-core.
 */
export class Wire {
  readonly config: ClientConfig;
  readonly server: ServerInfo;
  /** Uploads and downloads take turns sending, so frames of two requests never interleave. */
  readonly lock = new SendLock();
  readonly #socket: Socket;
  readonly #frames: FrameWriter;
  readonly #pending = new Map<number, Pending>();
  /** Id of the download whose DATA is arriving now (the server sends one at a time). */
  #receiving: number | undefined;
  #nextId = 1;
  #fatal: ClientError | undefined;
  #closing = false;

  private constructor(config: ClientConfig, socket: Socket, server: ServerInfo) {
    this.config = config;
    this.#socket = socket;
    this.#frames = new FrameWriter(socket);
    this.server = server;
  }

  /** Connects and handshakes; resolves once WELCOME has arrived. */
  static open(config: ClientConfig, signal: AbortSignal | undefined): Promise<Wire> {
    throwIfAborted(signal);
    // (Node accepts highWaterMark here; @types/node 20 does not list it, hence the variable.)
    const connectOptions: net.TcpNetConnectOpts & { highWaterMark: number } = {
      host: config.host,
      port: config.port,
      noDelay: true,
      highWaterMark: SOCKET_HIGH_WATER,
    };
    const secure = config.tls;
    // Plain TCP reads into one reused buffer (onread) instead of a fresh 64 KiB buffer per read:
    // for a 1 GiB download those 16,000 allocations cost 0.5 s of garbage collection and ~40 MiB
    // of RSS waiting for it. Whatever is kept past a read is copied (decoder, download batches).
    // TLS sockets cannot take a read buffer; they keep the 'data' events.
    let onChunk: (chunk: Buffer) => void = () => undefined;
    const readBuffer = secure ? undefined : Buffer.allocUnsafeSlow(READ_BUFFER);
    const socket = secure
      ? tls.connect({
          ...connectOptions,
          ca: secure.ca,
          servername: secure.servername ?? (net.isIP(config.host) ? undefined : config.host),
          // Trust is decided below, before a byte of ours (the token!) is sent: pinning replaces the
          // chain check, and an untrusted server yields its fingerprint for the caller to show.
          rejectUnauthorized: false,
          minVersion: "TLSv1.2",
        })
      : net.connect({
          ...connectOptions,
          onread: {
            buffer: readBuffer!,
            callback: (bytes: number, buffer: Uint8Array) => {
              onChunk(Buffer.from(buffer.buffer, buffer.byteOffset, bytes));
              return true;
            },
          },
        });
    const decoder = new FrameDecoder({ streamData: true, reusesInput: !secure });
    let wire: Wire | undefined;
    return new Promise<Wire>((resolve, reject) => {
      const where = `${config.host}:${config.port}`;
      const fail = (error: ClientError): void => {
        done();
        socket.destroy();
        reject(error);
      };
      const timer = setTimeout(
        () => fail(new ClientError(`no answer from ${where} within ${config.connectTimeoutMs} ms`, { code: "TIMEOUT" })),
        config.connectTimeoutMs,
      );
      const onAbort = (): void => fail(abortError());
      signal?.addEventListener("abort", onAbort, { once: true });
      function done(): void {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      }
      socket.once(secure ? "secureConnect" : "connect", () => {
        if (socket instanceof tls.TLSSocket) {
          const refusal = trustProblem(socket, where, secure?.fingerprint);
          if (refusal) return fail(refusal);
        }
        const token = config.token === undefined ? {} : { token: config.token };
        const [header, payload] = encodeControl({ type: "hello", version: PROTOCOL_VERSION, agent: config.agent, ...token });
        socket.cork();
        socket.write(encodePreamble());
        socket.write(header);
        socket.write(payload);
        socket.uncork();
      });
      socket.on("error", (cause: NodeJS.ErrnoException) => {
        if (wire) return; // reported by the close handler
        const code: ClientErrorCode = socket.connecting || cause.code === "ECONNREFUSED" ? "CONNECT_FAILED" : "CONNECTION_CLOSED";
        fail(new ClientError(`cannot connect to ${where}: ${cause.message}`, { code, cause }));
      });
      socket.on("close", () => {
        if (wire) return wire.#onClose();
        fail(new ClientError(`${where} closed the connection during the handshake`, { code: "CONNECTION_CLOSED" }));
      });
      onChunk = (chunk: Buffer) => {
        let frames: Frame[];
        try {
          frames = decoder.push(chunk);
        } catch (cause) {
          const error = new ClientError(`server broke the protocol: ${(cause as Error).message}`, { code: "PROTOCOL_ERROR", cause });
          return wire ? wire.die(error) : fail(error);
        }
        for (const frame of frames) {
          if (wire) {
            wire.#onFrame(frame);
          } else if (frame.kind === "control" && frame.message.type === "welcome") {
            const { type: _type, ...info } = frame.message;
            wire = new Wire(config, socket, info);
            done();
            resolve(wire);
          } else if (frame.kind === "control" && frame.message.type === "error") {
            fail(new ClientError(frame.message.message, { code: frame.message.code }));
          } else {
            fail(new ClientError("server sent something other than WELCOME first", { code: "PROTOCOL_ERROR" }));
          }
        }
      };
      if (secure) socket.on("data", onChunk);
    });
  }

  /** True when the server announced `capability` in WELCOME. */
  supports(capability: string): boolean {
    return this.server.capabilities.includes(capability);
  }

  /** Throws NOT_SUPPORTED unless the server announced `capability`. */
  require(capability: string, what: string): void {
    if (!this.supports(capability)) {
      throw new ClientError(`the server does not support ${what} (no "${capability}" capability)`, { code: "NOT_SUPPORTED" });
    }
  }

  /** Throws BAD_NAME for a name the protocol cannot carry, NOT_SUPPORTED for a folder path the server cannot take. */
  checkName(name: string): void {
    const problem = pathProblem(name);
    if (problem) throw new ClientError(`${JSON.stringify(name)}: ${problem}`, { code: "BAD_NAME" });
    if (name.includes("/")) this.require(CAPABILITIES.FOLDERS, "folders");
  }

  nextId(): number {
    return this.#nextId++;
  }

  /** Largest DATA payload to send. */
  frameSize(): number {
    return Math.min(this.config.chunkSize, this.server.limits.maxDataPayload);
  }

  register(id: number, pending: Pending): void {
    this.#pending.set(id, pending);
  }

  /** Forgets a request; its late answers are then ignored. */
  unregister(id: number): void {
    if (this.#receiving === id) this.#pending.set(id, SINK); // its bytes are still coming
    else this.#pending.delete(id);
  }

  get fatal(): ClientError | undefined {
    return this.#fatal;
  }

  assertOpen(): void {
    if (this.#fatal) throw this.#fatal;
    if (this.#closing) throw new ClientError("client was closed", { code: "BAD_STATE" });
    if (this.#socket.destroyed || this.#socket.writableEnded) {
      throw new ClientError("the connection is closed", { code: "CONNECTION_CLOSED" });
    }
  }

  send(message: ClientMessage): void {
    this.writeFrame(encodeControl(message));
  }

  /** `onWritten`: called once the payload is handed to the kernel (or the write failed), so its buffer may be reused. */
  writeFrame(frame: [Buffer, Uint8Array], onWritten?: () => void): void {
    this.assertOpen();
    this.#frames.write(frame, onWritten);
  }

  /** True when written frames exceed the socket's queue; await drained() before writing more. */
  get needsDrain(): boolean {
    return this.#socket.writableNeedDrain;
  }

  drained(signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      const cleanup = (): void => {
        this.#socket.off("drain", onDrain);
        this.#socket.off("close", onClose);
        signal?.removeEventListener("abort", onAbort);
      };
      const onDrain = (): void => {
        cleanup();
        resolve();
      };
      const onClose = (): void => {
        cleanup();
        reject(this.#fatal ?? new ClientError("connection closed", { code: "CONNECTION_CLOSED" }));
      };
      const onAbort = (): void => {
        cleanup();
        reject(abortError());
      };
      this.#socket.on("drain", onDrain);
      this.#socket.on("close", onClose);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Stops reading while a download's disk lags (backpressure), and starts again. */
  pauseReading(): void {
    this.#socket.pause();
  }

  resumeReading(): void {
    this.#socket.resume();
  }

  /** Ends the connection politely; requests still waiting fail CONNECTION_CLOSED. */
  async close(): Promise<void> {
    this.#closing = true;
    if (this.#socket.destroyed) return;
    await new Promise<void>((resolve) => {
      this.#socket.once("close", () => resolve());
      this.#socket.end();
      setTimeout(() => this.#socket.destroy(), 2_000).unref();
    });
  }

  die(error: ClientError): void {
    this.#fatal ??= error;
    this.#socket.destroy();
  }

  #onFrame(frame: Frame): void {
    if (frame.kind === "data") {
      const pending = this.#receiving === undefined ? undefined : this.#pending.get(this.#receiving);
      if (!pending?.onData) return this.die(new ClientError("server sent DATA outside a download", { code: "PROTOCOL_ERROR" }));
      return pending.onData(frame.payload);
    }
    const message = frame.message;
    if (!("id" in message) || message.id === undefined) {
      if (message.type === "error") return this.die(new ClientError(message.message, { code: message.code }));
      return this.die(new ClientError(`unexpected ${message.type} from the server`, { code: "PROTOCOL_ERROR" }));
    }
    const id = message.id;
    let pending = this.#pending.get(id);
    if (message.type === "get_begin") {
      if (this.#receiving !== undefined) return this.die(new ClientError("server began a download inside another", { code: "PROTOCOL_ERROR" }));
      this.#receiving = id;
      if (!pending) this.#pending.set(id, (pending = SINK)); // given up on: swallow its bytes
    }
    if (!pending) return; // a late answer to a request we gave up on
    const finish = (): void => {
      this.#pending.delete(id);
      if (this.#receiving === id) this.#receiving = undefined;
    };
    if (message.type === "error") {
      finish();
      return pending.onError(new ClientError(message.message, { code: message.code }));
    }
    let done: boolean;
    try {
      done = pending.onMessage(message);
    } catch (error) {
      return this.die(error instanceof ClientError ? error : new ClientError(String(error), { code: "PROTOCOL_ERROR" }));
    }
    if (done) finish();
  }

  #onClose(): void {
    const error = this.#fatal ?? new ClientError("the server closed the connection", { code: "CONNECTION_CLOSED" });
    this.#fatal = error;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    this.#receiving = undefined;
    for (const entry of pending) entry.onError(error);
  }
}

/** Null when the TLS peer is who we expect; otherwise the error saying why not (and its fingerprint). */
function trustProblem(socket: tls.TLSSocket, where: string, pinned: string | undefined): ClientError | null {
  const certificate = socket.getPeerCertificate();
  const fingerprint = certificate.fingerprint256 ? formatFingerprint(certificate.fingerprint256) : "(no certificate)";
  if (pinned !== undefined) {
    if (fingerprint === parseFingerprint(pinned)) return null;
    return new TlsTrustError(
      `the certificate of ${where} has fingerprint ${fingerprint}, not the expected ${parseFingerprint(pinned)}: ` +
        "someone may be intercepting the connection, or the server's certificate was replaced",
      { code: "TLS_FINGERPRINT_MISMATCH", fingerprint, reason: "fingerprint differs" },
    );
  }
  if (socket.authorized) return null;
  const reason = String(socket.authorizationError ?? "unverified");
  return new TlsTrustError(`cannot verify the certificate of ${where} (${reason}); its fingerprint is ${fingerprint}`, {
    code: "TLS_UNTRUSTED",
    fingerprint,
    reason,
  });
}
