import { createHash } from "node:crypto";
import { open } from "node:fs/promises";
import net, { type Socket } from "node:net";
import path from "node:path";
import {
  FrameDecoder,
  PROTOCOL_VERSION,
  checkClientConfig,
  encodeControl,
  encodeData,
  encodePreamble,
  fileNameProblem,
  type ClientConfig,
  type ClientConfigInput,
  type Message,
  type StoredMessage,
  type WelcomeMessage,
} from "@ferry/protocol";
import { ClientError, type ClientErrorCode } from "./errors.js";
import { SendLock } from "./send-lock.js";

const SOCKET_HIGH_WATER = 4 * 1024 * 1024;
/** Files up to this size are read in one call rather than streamed. */
const SMALL_FILE_BYTES = 64 * 1024;

/** What the server announced in WELCOME. */
export type ServerInfo = Omit<WelcomeMessage, "type">;

export interface UploadProgress {
  /** Bytes handed to the socket so far. */
  bytes: number;
  /** Bytes in the whole file. */
  total: number;
}

export interface UploadOptions {
  /** Name to store under; defaults to the file's base name. */
  name?: string;
  signal?: AbortSignal;
  /** Called after each chunk is handed to the socket. */
  onProgress?: (progress: UploadProgress) => void;
}

export interface StreamUploadOptions extends UploadOptions {
  name: string;
  /** Exact byte count the stream will yield; a mismatch fails with SOURCE_CHANGED. */
  size: number;
}

export interface UploadResult {
  /** Name the server stored the file under (may be "name (1).ext" when taken). */
  name: string;
  requestedName: string;
  size: number;
  /** SHA-256, computed here while sending and confirmed by the server. */
  sha256: string;
  durationMs: number;
}

interface Pending {
  resolve: (message: StoredMessage) => void;
  reject: (error: ClientError) => void;
  settled: boolean;
  /** The server's reason, when it refused this upload. */
  error?: ClientError;
}

/**
 * One connection to a Ferry server. Uploads may be started concurrently; they take turns on the
 * wire but do not wait for each other's confirmation (the next PUT follows the last DATA frame).
 *
 * @example
 *   const client = await FerryClient.connect({ host: "127.0.0.1", port: 8080 });
 *   const stored = await client.upload("photo.jpg", { onProgress: (p) => draw(p) });
 *   await client.close();
 */
export class FerryClient {
  readonly config: ClientConfig;
  readonly server: ServerInfo;
  readonly #socket: Socket;
  readonly #pending = new Map<number, Pending>();
  readonly #lock = new SendLock();
  #nextId = 1;
  #fatal: ClientError | undefined;
  #closing = false;
  #corked = false;

  private constructor(config: ClientConfig, socket: Socket, server: ServerInfo) {
    this.config = config;
    this.#socket = socket;
    this.server = server;
  }

  /** Connects, handshakes and resolves once the server's WELCOME has arrived. */
  static async connect(input: ClientConfigInput = {}, options: { signal?: AbortSignal } = {}): Promise<FerryClient> {
    const checked = checkClientConfig(input);
    if (!checked.ok) throw new ClientError(`invalid client config:\n${checked.message}`, { code: "INVALID_CONFIG" });
    const config = checked.config;
    throwIfAborted(options.signal);
    // A 1 MiB writable high-water mark lets several DATA frames queue before we wait for 'drain',
    // so reading and hashing the next chunk overlaps with the kernel sending the last one.
    // (Node accepts highWaterMark here; @types/node 20 does not list it, hence the variable.)
    const connectOptions: net.TcpNetConnectOpts & { highWaterMark: number } = {
      host: config.host,
      port: config.port,
      noDelay: true,
      highWaterMark: SOCKET_HIGH_WATER,
    };
    const socket = net.connect(connectOptions);
    const decoder = new FrameDecoder();
    let client: FerryClient | undefined;
    const welcome = new Promise<ServerInfo>((resolve, reject) => {
      const fail = (error: ClientError): void => {
        socket.destroy();
        reject(error);
      };
      const timer = setTimeout(
        () => fail(new ClientError(`no answer from ${config.host}:${config.port} within ${config.connectTimeoutMs} ms`, { code: "TIMEOUT" })),
        config.connectTimeoutMs,
      );
      const onAbort = (): void => fail(abortError());
      options.signal?.addEventListener("abort", onAbort, { once: true });
      const done = (): void => {
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
      };
      socket.once("connect", () => {
        const [header, payload] = encodeControl({ type: "hello", version: PROTOCOL_VERSION, agent: config.agent });
        socket.cork();
        socket.write(encodePreamble());
        socket.write(header);
        socket.write(payload);
        socket.uncork();
      });
      socket.on("error", (cause: NodeJS.ErrnoException) => {
        if (client) return; // the connected client's close handler reports it
        done();
        const code: ClientErrorCode = socket.connecting || cause.code === "ECONNREFUSED" ? "CONNECT_FAILED" : "CONNECTION_CLOSED";
        reject(new ClientError(`cannot connect to ${config.host}:${config.port}: ${cause.message}`, { code, cause }));
      });
      socket.on("close", () => {
        if (client) return client.#onClose();
        done();
        reject(new ClientError(`${config.host}:${config.port} closed the connection during the handshake`, { code: "CONNECTION_CLOSED" }));
      });
      socket.on("data", (chunk: Buffer) => {
        let messages: Message[];
        try {
          messages = decoder.push(chunk).map((frame) => {
            if (frame.kind === "data") throw new Error("server sent a DATA frame");
            return frame.message;
          });
        } catch (cause) {
          const error = new ClientError(`server broke the protocol: ${(cause as Error).message}`, { code: "PROTOCOL_ERROR", cause });
          if (client) return client.#die(error);
          done();
          return fail(error);
        }
        for (const message of messages) {
          if (client) {
            client.#onMessage(message);
            continue;
          }
          done();
          if (message.type === "welcome") {
            const { type: _type, ...info } = message;
            client = new FerryClient(config, socket, info);
            resolve(info);
          } else if (message.type === "error") {
            fail(new ClientError(message.message, { code: message.code }));
          } else {
            fail(new ClientError(`server sent ${message.type} before WELCOME`, { code: "PROTOCOL_ERROR" }));
          }
        }
      });
    });
    await welcome;
    return client!;
  }

  /** Uploads a local file, streaming it with SHA-256 computed on the way. */
  async upload(filePath: string, options: UploadOptions = {}): Promise<UploadResult> {
    const name = options.name ?? path.basename(filePath);
    let handle;
    try {
      handle = await open(filePath, "r");
      const stat = await handle.stat();
      if (!stat.isFile()) throw new Error("not a regular file");
      if (stat.size <= SMALL_FILE_BYTES) {
        // One read, no stream: for folders of small files the stream's set-up and its extra
        // end-of-file read were a large share of the client's per-file cost.
        const data = Buffer.allocUnsafe(stat.size);
        const { bytesRead } = await handle.read(data, 0, stat.size, 0);
        await handle.close();
        handle = undefined;
        return await this.uploadStream([data.subarray(0, bytesRead)], { ...options, name, size: stat.size });
      }
      // The read size is the frame size, but never more than the file: a stream allocates a whole
      // high-water-mark buffer per read, and 1 MiB per 4 KiB file made the GC the bottleneck
      // for folders of small files (about a third of the client's time in the W2 profile).
      const readSize = Math.min(this.#frameSize(), Math.max(stat.size, 16 * 1024));
      const source = handle.createReadStream({ highWaterMark: readSize });
      handle = undefined; // the stream owns and closes it now
      try {
        return await this.uploadStream(source, { ...options, name, size: stat.size });
      } finally {
        source.destroy();
      }
    } catch (error) {
      if (error instanceof ClientError) throw error;
      throw new ClientError(`cannot read ${filePath}: ${(error as Error).message}`, { code: "LOCAL_FILE_ERROR", cause: error });
    } finally {
      await handle?.close();
    }
  }

  /** Uploads `size` bytes from any byte stream (a Readable, a generator…). */
  async uploadStream(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options: StreamUploadOptions): Promise<UploadResult> {
    const { name, size, signal, onProgress } = options;
    const problem = fileNameProblem(name);
    if (problem) throw new ClientError(`${JSON.stringify(name)}: ${problem}`, { code: "BAD_NAME" });
    if (size > this.server.limits.maxFileSize) {
      throw new ClientError(`${size} bytes exceeds the server's limit of ${this.server.limits.maxFileSize}`, { code: "FILE_TOO_LARGE" });
    }
    const release = await this.#lock.acquire();
    const startedAt = performance.now();
    const id = this.#nextId++;
    let entry: Pending | undefined;
    let doneSending = false; // PUT_END or CANCEL is on the wire and the send lock released
    try {
      throwIfAborted(signal);
      this.#assertOpen();
      const response = new Promise<StoredMessage>((resolve, reject) => {
        entry = { resolve, reject, settled: false };
        this.#pending.set(id, entry);
      });
      response.catch(() => undefined); // observed below; avoid an unhandled rejection meanwhile
      this.#send({ type: "put", id, name, size });
      const hash = createHash("sha256");
      let localSha = "";
      const maxFrame = this.#frameSize();
      let sent = 0;
      for await (const chunk of source) {
        if (entry!.settled) break; // the server refused early (BAD_NAME, SIZE_MISMATCH…)
        throwIfAborted(signal);
        for (let at = 0; at < chunk.length; at += maxFrame) {
          const piece = chunk.subarray(at, Math.min(chunk.length, at + maxFrame));
          sent += piece.length;
          if (sent > size) throw new ClientError(`source grew beyond the declared ${size} bytes`, { code: "SOURCE_CHANGED" });
          hash.update(piece);
          this.#writeFrame(encodeData(piece));
          if (this.#socket.writableNeedDrain) await this.#drained(signal);
        }
        onProgress?.({ bytes: sent, total: size });
      }
      if (entry!.settled) {
        this.#send({ type: "cancel", id });
      } else {
        if (sent !== size) throw new ClientError(`source yielded ${sent} of the declared ${size} bytes`, { code: "SOURCE_CHANGED" });
        localSha = hash.digest("hex");
        this.#send({ type: "put_end", id, sha256: localSha });
      }
      doneSending = true;
      release();
      const stored = await raceAbort(response, signal);
      if (stored.size !== size || stored.sha256 !== localSha) {
        throw new ClientError("server confirmed a different file than was sent", { code: "CHECKSUM_MISMATCH" });
      }
      return { name: stored.name, requestedName: name, size: stored.size, sha256: stored.sha256, durationMs: performance.now() - startedAt };
    } catch (error) {
      if (!doneSending) {
        // Tell the server to drop the partial upload; its late answer for this id is ignored.
        if (!this.#fatal && !this.#socket.destroyed) this.#send({ type: "cancel", id });
        this.#pending.delete(id);
        release();
      }
      // Prefer the server's reason (BAD_NAME…) over a local consequence of it, unless we aborted.
      if (entry?.error && !(error instanceof ClientError && error.code === "ABORTED")) throw entry.error;
      throw toClientError(error);
    }
  }

  /** Ends the connection politely; uploads still waiting for an answer fail CONNECTION_CLOSED. */
  async close(): Promise<void> {
    this.#closing = true;
    if (this.#socket.destroyed) return;
    await new Promise<void>((resolve) => {
      this.#socket.once("close", () => resolve());
      this.#socket.end();
      setTimeout(() => this.#socket.destroy(), 2_000).unref();
    });
  }

  #frameSize(): number {
    return Math.min(this.config.chunkSize, this.server.limits.maxDataPayload);
  }

  #assertOpen(): void {
    if (this.#fatal) throw this.#fatal;
    if (this.#closing) throw new ClientError("client was closed", { code: "BAD_STATE" });
    if (this.#socket.destroyed || this.#socket.writableEnded) {
      throw new ClientError("the connection is closed", { code: "CONNECTION_CLOSED" });
    }
  }

  #send(message: Message): void {
    this.#writeFrame(encodeControl(message));
  }

  #writeFrame([header, payload]: [Buffer, Uint8Array]): void {
    this.#assertOpen();
    // Frames written in the same tick leave in one writev: a small file's PUT, DATA and PUT_END
    // cost one syscall instead of three.
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

  #drained(signal: AbortSignal | undefined): Promise<void> {
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

  #onMessage(message: Message): void {
    if ((message.type === "stored" || message.type === "error") && message.id !== undefined) {
      const entry = this.#pending.get(message.id);
      if (!entry) return; // late answer to an upload we cancelled
      this.#pending.delete(message.id);
      entry.settled = true;
      if (message.type === "stored") entry.resolve(message);
      else {
        entry.error = new ClientError(message.message, { code: message.code });
        entry.reject(entry.error);
      }
      return;
    }
    if (message.type === "error") {
      this.#die(new ClientError(message.message, { code: message.code }));
      return;
    }
    this.#die(new ClientError(`unexpected ${message.type} from the server`, { code: "PROTOCOL_ERROR" }));
  }

  #die(error: ClientError): void {
    this.#fatal ??= error;
    this.#socket.destroy();
  }

  #onClose(): void {
    const error = this.#fatal ?? new ClientError("the server closed the connection", { code: "CONNECTION_CLOSED" });
    this.#fatal = error;
    for (const entry of this.#pending.values()) {
      entry.settled = true;
      entry.reject(error);
    }
    this.#pending.clear();
  }
}

function abortError(): ClientError {
  return new ClientError("aborted", { code: "ABORTED" });
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError();
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError());
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

function toClientError(error: unknown): ClientError {
  if (error instanceof ClientError) return error;
  return new ClientError((error as Error).message ?? String(error), { code: "LOCAL_FILE_ERROR", cause: error });
}
